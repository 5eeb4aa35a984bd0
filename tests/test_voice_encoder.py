"""The bundled speaker encoder (voxwatch/models/voice-encoder.onnx): its card and licence, its embeddings, and
that it tells speakers apart on real clips; with the train extra, the export path's torch/onnxruntime parity."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from voxwatch.errors import ModelError
from voxwatch.pipeline.stages.cards import file_sha256
from voxwatch.pipeline.stages.voice.card import VoiceEncoderCard
from voxwatch.pipeline.stages.voice.features import VoiceFeatureSettings, partials, preprocess
from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder, bundled_voice_encoder_path


@pytest.fixture(scope="module")
def encoder() -> OnnxVoiceEncoder:
    return OnnxVoiceEncoder(threads=1)


def test_the_card_names_the_weights_their_licence_and_cost():
    path = bundled_voice_encoder_path()
    card = VoiceEncoderCard.load(path.with_suffix(".json"))
    assert card.onnx_sha256 == file_sha256(path)
    assert card.license == "Apache-2.0" and "Resemble" in card.attribution
    licence = path.parent / card.license_file
    assert "Apache License" in licence.read_text() and "Copyright 2019 Resemble.AI" in licence.read_text()
    assert card.source["wheel"].startswith("Resemblyzer-0.1.4") and len(card.source["weights_sha256"]) == 64
    assert card.features == VoiceFeatureSettings()
    assert 0 < card.metrics["cpu_ms_per_speech_s_total"] <= 10  # the budget (lab.voice_encoder bench)


def test_embeddings_are_unit_length_and_non_negative(encoder):
    from helpers import speech_like

    audio = speech_like(4.0, 0.2, seed=7).astype(np.float32)
    emb = encoder.embed(audio)
    assert emb.vector.shape == (256,) and emb.vector.dtype == np.float32
    assert float(np.linalg.norm(emb.vector)) == pytest.approx(1.0, abs=1e-5)
    assert (emb.vector >= 0).all() and emb.n_partials >= 1 and 0 < emb.speech_s <= 4.0
    batch = partials(preprocess(audio, encoder.card.features), encoder.card.features)
    for n in (1, len(batch)):  # the partials are a dynamic batch
        out = encoder.embed_partials(batch[:n])
        assert out.shape == (n, 256)
        assert np.linalg.norm(out, axis=1) == pytest.approx(np.ones(n), abs=1e-5)


def test_a_card_of_another_file_is_refused(tmp_path):
    path = bundled_voice_encoder_path()
    shutil.copy(path, tmp_path / "enc.onnx")
    card = json.loads(path.with_suffix(".json").read_text())
    card["onnx_sha256"] = "0" * 64
    (tmp_path / "enc.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="differs from its card"):
        OnnxVoiceEncoder(tmp_path / "enc.onnx")
    (tmp_path / "enc.json").unlink()
    with pytest.raises(ModelError, match="card not found"):
        OnnxVoiceEncoder(tmp_path / "enc.onnx")


def test_same_speaker_closer_than_different_speakers(encoder):
    """Two speakers of the shared corpus: LJSpeech's reader and a LibriSpeech reader, two stretches each."""
    import soundfile as sf
    from voice_helpers import corpus_clips

    lj = [sf.read(p, dtype="float32")[0] for p in corpus_clips("ljspeech", "lj", n=2)]
    other = sf.read(corpus_clips("librispeech", "ls-103", n=1)[0], dtype="float32")[0]
    half = len(other) // 2
    a = [encoder.embed(x).vector for x in lj]
    b = [encoder.embed(x).vector for x in (other[:half], other[half:])]
    same = [float(a[0] @ a[1]), float(b[0] @ b[1])]
    different = [float(x @ y) for x in a for y in b]
    assert min(same) > max(different) + 0.1, (same, different)
    assert min(same) > 0.8 and max(different) < 0.75


@pytest.mark.torch
def test_export_path_torch_and_onnxruntime_agree(tmp_path):
    """lab.voice_encoder's network and export (random weights: the real ones come from the Resemblyzer wheel)
    give the same embeddings in onnxruntime as in torch, on partials of synthesised speech."""
    from conftest import require_module

    require_module("torch", "onnx")
    import sys

    import torch
    from voice_helpers import REPO

    if str(REPO) not in sys.path:  # lab/ is a top-level folder of the checkout, not part of the package
        sys.path.insert(0, str(REPO))

    from lab.voice_encoder import build_torch_encoder, export_onnx, synthetic_speech

    torch.manual_seed(0)
    net = build_torch_encoder(None)
    settings = VoiceFeatureSettings()
    batch = np.concatenate([partials(preprocess(synthetic_speech(s, i), settings), settings)
                            for i, s in enumerate((2.0, 5.0))])
    out = tmp_path / "enc.onnx"
    export_onnx(net, out, batch[:2])
    VoiceEncoderCard(model_id="test", onnx_sha256=file_sha256(out)).save(out.with_suffix(".json"))
    got = OnnxVoiceEncoder(out).embed_partials(batch)
    with torch.no_grad():
        expected = net(torch.from_numpy(batch)).numpy()
    assert got.shape == (len(batch), 256)
    assert np.max(np.abs(got - expected)) < 1e-5


def test_the_encoder_its_card_and_its_licence_are_package_data():
    """setup.cfg ships all three in the wheel (tests/test_wheel.py builds one for the other models)."""
    import configparser
    import fnmatch

    from voice_helpers import REPO

    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    patterns = setup["options.package_data"]["voxwatch.models"].replace(",", " ").split()
    path = bundled_voice_encoder_path()
    licence = VoiceEncoderCard.load(path.with_suffix(".json")).license_file
    for name in (path.name, path.with_suffix(".json").name, licence):
        assert (path.parent / name).is_file() and any(fnmatch.fnmatch(name, p) for p in patterns), name
