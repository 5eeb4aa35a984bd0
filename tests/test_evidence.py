"""Evidence store: clips cut from the right audio, sidecars, file modes, caps (count and bytes, oldest first),
reviewed clips untouched, and the pipeline wiring (a tapped replay stream's alert saved as a clip)."""

from __future__ import annotations

import json
import os
import stat
import threading
import time

import numpy as np
import soundfile as sf
from helpers import silence, speech_like

from voxwatch.config import EvidenceSettings
from voxwatch.daemon.evidence import EvidenceStore
from voxwatch.pipeline.decision import Judgement
from voxwatch.pipeline.ringbuffer import RingBuffer
from voxwatch.pipeline.sources import SAMPLE_RATE, write_blocks
from voxwatch.pipeline.types import JudgementEvent, fan_out

SR = SAMPLE_RATE


class ArraySource:
    description = "array"

    def __init__(self, audio):
        self.audio = audio

    def run(self, ring, stop, report):
        write_blocks(self.audio, ring, stop, 320, realtime=False)


def feed(store: EvidenceStore, stream: str, audio: np.ndarray) -> None:
    source = store.wrap(stream, ArraySource(audio))
    source.run(RingBuffer(len(audio) + 1), threading.Event(), lambda *a: None)


def alert(stream: str, start_s: float, end_s: float, utterance: int = 1) -> JudgementEvent:
    j = Judgement("alert", utterance, int(start_s * SR), int(end_s * SR), 0.9, 0.5, "fake", 2, early=True)
    return JudgementEvent(stream, j, "m", "abc", time.monotonic())


def test_clip_is_the_alerted_audio_with_padding_and_a_private_sidecar(tmp_path):
    store = EvidenceStore(EvidenceSettings(dir=str(tmp_path / "ev"), pad_s=0.25), daemon={"id": "d1"})
    store.start()
    ramp = (np.arange(5 * SR) / (5 * SR)).astype(np.float32) * 0.5  # sample value encodes its position
    feed(store, "s1", ramp)
    flac = store.save(alert("s1", 1.0, 3.0), ts=1_800_000_000.0)
    store.close()
    audio, rate = sf.read(flac, dtype="float32")
    assert rate == SR and len(audio) == int(2.5 * SR)
    np.testing.assert_allclose(audio, ramp[int(0.75 * SR):int(3.25 * SR)], atol=1 / 32768 + 1e-6)
    sidecar = json.loads(flac.with_suffix(".json").read_text())
    assert sidecar["type"] == "alert" and sidecar["stream"] == "s1" and sidecar["daemon"] == {"id": "d1"}
    assert sidecar["score"] == 0.9 and sidecar["verdict"] == "fake" and sidecar["label"] is None
    assert sidecar["clip"] == {"file": flac.name, "sample_rate": SR, "start_s": 0.75, "end_s": 3.25}
    for path in (flac, flac.with_suffix(".json")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "ev").stat().st_mode) == 0o700


def test_files_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        store = EvidenceStore(EvidenceSettings(dir=str(tmp_path / "ev")))
        store.start()
        feed(store, "s", speech_like(2.0))
        flac = store.save(alert("s", 0.5, 1.5), ts=time.time())
        store.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(flac.stat().st_mode) == 0o600


def test_count_cap_deletes_the_oldest_first_and_spares_reviewed_clips(tmp_path):
    root = tmp_path / "ev"
    store = EvidenceStore(EvidenceSettings(dir=str(root), max_files=3, pad_s=0.0))
    store.start()
    (root / "fake").mkdir()
    reviewed = root / "fake" / "old-reviewed.flac"
    reviewed.write_bytes(b"x")
    feed(store, "s", speech_like(8.0))
    saved = []
    for i in range(5):
        saved.append(store.save(alert("s", i, i + 1.0, utterance=i + 1), ts=1_800_000_000.0 + i))
        time.sleep(0.01)  # distinct mtimes
    store.close()
    left = sorted(p.name for p in root.glob("*.flac"))
    assert left == sorted(p.name for p in saved[2:])  # the two oldest are gone, with their sidecars
    assert not saved[0].with_suffix(".json").exists() and saved[4].with_suffix(".json").exists()
    assert store.deleted == 2 and reviewed.exists()


def test_byte_cap_keeps_the_total_under_max_mb(tmp_path):
    root = tmp_path / "ev"
    noise = np.random.default_rng(0).standard_normal(6 * SR).astype(np.float32) * 0.3  # FLAC cannot shrink noise
    store = EvidenceStore(EvidenceSettings(dir=str(root), max_mb=0.1, pad_s=0.0))  # ~104 kB
    store.start()
    feed(store, "s", noise)
    for i in range(4):
        store.save(alert("s", i, i + 1.0, utterance=i + 1), ts=1_800_000_000.0 + i)  # ~30 kB each
        time.sleep(0.01)
    store.close()
    total = sum(p.stat().st_size for p in root.iterdir() if p.is_file())
    assert total <= 0.1 * 1024 * 1024
    assert 1 <= len(list(root.glob("*.flac"))) < 4 and store.deleted >= 1
    newest = max(root.glob("*.json"), key=lambda p: json.loads(p.read_text())["utterance"])
    assert json.loads(newest.read_text())["utterance"] == 4  # the newest survives


def test_alerts_from_a_running_pipeline_become_clips(tmp_path, loud_model):
    from voxwatch.config import config_from_dict
    from voxwatch.model_loading import load_classifier
    from voxwatch.pipeline.runner import Pipeline

    config = config_from_dict({"features": {"kind": "logfbank", "nfilt": 40, "normalize": "none"}})
    store = EvidenceStore(EvidenceSettings(dir=str(tmp_path / "ev"), pad_s=0.2))
    store.start()
    events = []
    pipeline = Pipeline(config.pipeline, load_classifier(str(loud_model), config), fan_out(events.append, store))
    pipeline.start()
    audio = np.concatenate([silence(0.5), speech_like(3.0, 0.3), silence(1.0), speech_like(3.0, 0.02),
                            silence(1.0)])
    pipeline.add_stream("s", store.wrap("s", ArraySource(audio)))
    assert pipeline.finish(timeout=30)
    store.close()
    alerts = [e for e in events if isinstance(e, JudgementEvent) and e.judgement.kind == "alert"]
    assert len(alerts) == 1  # the loud utterance only
    clips = list((tmp_path / "ev").glob("*.flac"))
    assert len(clips) == 1 and store.saved == 1
    clip, _ = sf.read(clips[0], dtype="float32")
    assert np.abs(clip).max() > 0.2  # cut from the loud utterance


def test_labelled_evidence_folder_is_a_training_dataset(tmp_path):
    """The README's labelling step (move reviewed clips into real/ or fake/) gives what `voxwatch train` reads."""
    from voxwatch.training.datasets import load_dataset

    root = tmp_path / "ev"
    store = EvidenceStore(EvidenceSettings(dir=str(root), pad_s=0.0))
    store.start()
    feed(store, "s", speech_like(6.0))
    clips = [store.save(alert("s", i, i + 1.5, utterance=i + 1), ts=1_800_000_000.0 + i) for i in range(3)]
    store.close()
    for clip, label in ((clips[0], "real"), (clips[1], "fake")):  # clips[2] stays unreviewed
        (root / label).mkdir(exist_ok=True)
        for path in (clip, clip.with_suffix(".json")):
            path.rename(root / label / path.name)
    loaded = load_dataset(root)
    assert sorted((c.path.name, c.label) for c in loaded) == sorted([(clips[0].name, 0), (clips[1].name, 1)])
