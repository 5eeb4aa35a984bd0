"""Telephone channels in enrolment: ``voxwatch voices add`` (and the web Voices page) enrol copies of the recordings
through every codec chain this ffmpeg has, so that a genuine call stays near the voiceprint; ``--no-telephone``
enrols clean speech only; without ffmpeg, clean only with one warning line. espeak-ng speech is synthesised here."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import require_tool
from test_voices import run, spoken  # noqa: F401  (spoken: the module's fixture)

from voxwatch.voices import telephone as tel
from voxwatch.voices.check import GENUINE, match
from voxwatch.voices.voiceprint import CLEAN, VoiceStore

# ``spoken``: four espeak-ng sentences (three to enrol, one held out); ``run``: ``voxwatch voices ARGS``


def listed(capsys, voices) -> dict:
    code, out, _ = run(capsys, "list", "--dir", voices, "--json")
    assert code == 0
    return {v["name"]: v for v in map(json.loads, out.splitlines())}


def test_add_enrols_telephone_copies_by_default_and_a_call_scores_closer(tmp_path, capsys, spoken):  # noqa: F811
    require_tool("ffmpeg")
    chains = tel.available_chains()
    assert {"ulaw", "gsm"} <= set(chains)
    voices = tmp_path / "voices"
    code, out, err = run(capsys, "add", "bob", *spoken[:3], "--dir", voices)
    assert code == 0 and f"channels clean+{','.join(chains)}" in out, out
    assert not any("telephone copies" in line and "warning" in line for line in err), err
    code, out, _ = run(capsys, "add", "bob-clean", *spoken[:3], "--dir", voices, "--no-telephone", "--force")
    assert code == 0 and "channels clean only" in out, out
    entries = listed(capsys, voices)
    assert entries["bob"]["channels"] == [CLEAN, *chains]
    assert entries["bob-clean"]["channels"] == [CLEAN]
    code, out, _ = run(capsys, "list", "--dir", voices)
    assert "\tchannels clean only\t" in out and f"\tchannels clean+{','.join(chains)}\t" in out

    from voxwatch.pipeline.sources import load_audio
    from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder

    store = VoiceStore(voices)
    with_tel, clean_only = store.load("bob"), store.load("bob-clean")
    assert set(with_tel.embeddings) == {CLEAN, *chains} and set(clean_only.embeddings) == {CLEAN}
    encoder = OnnxVoiceEncoder(threads=1)
    held_out = load_audio(spoken[3])
    for codec in ("ulaw", "gsm"):  # the held-out sentence as a call: G.711 u-law, GSM 06.10
        call = tel.apply_call(held_out, {"codec": codec, "variant": 0, "loss_rate": 0.0, "loss_mode": "zero"},
                              np.random.default_rng(0))
        vector = encoder.embed(call).vector
        on_tel, on_clean = match(vector, with_tel), match(vector, clean_only)
        assert on_tel.match == GENUINE, (codec, on_tel)
        assert on_tel.similarity >= on_clean.similarity + 0.05, (codec, on_tel, on_clean)
        assert on_tel.clone_score <= on_clean.clone_score + 1e-6


@pytest.mark.parametrize("missing", ["ffmpeg", "chains"])
def test_without_ffmpeg_add_enrols_clean_only_with_one_warning(tmp_path, capsys, spoken, monkeypatch, missing):  # noqa: F811
    if missing == "ffmpeg":
        monkeypatch.setattr(tel.shutil, "which", lambda name: None)
    else:
        monkeypatch.setattr(tel, "available_chains", lambda: ())
    voices = tmp_path / "voices"
    code, out, err = run(capsys, "add", "bob", *spoken[:3], "--dir", voices)
    assert code == 0 and "channels clean only" in out, (out, err)
    warned = [line for line in err if "clean speech only, no telephone copies" in line]
    assert len(warned) == 1 and warned[0].startswith("voxwatch: warning: "), err
    assert ("ffmpeg not found" in warned[0]) == (missing == "ffmpeg")
    assert listed(capsys, voices)["bob"]["channels"] == [CLEAN]
    code, out, err = run(capsys, "add", "bob", *spoken[:3], "--dir", voices, "--replace", "--no-telephone")
    assert code == 0 and not any("telephone" in line for line in err), err  # asked for clean only: no warning


def test_enrolment_channels_are_the_evaluations_chains_at_their_first_variant():
    require_tool("ffmpeg")
    channels = tel.enrolment_channels(lambda line: pytest.fail(line))
    transforms = dict(tel.chain_transforms())
    assert list(channels) == list(transforms) == list(tel.available_chains())
    audio = np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000).astype(np.float32) * 0.3
    np.testing.assert_array_equal(channels["ulaw"](audio), transforms["ulaw"](audio, 0))


def test_the_web_voices_page_enrols_telephone_copies_by_default(tmp_path, spoken, monkeypatch):  # noqa: F811
    require_tool("ffmpeg")
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient
    from web_helpers import make_app

    from voxwatch.web.voices import VoiceDesk

    sent = {"X-Voxwatch-Request": "1"}
    uploads = [("files", (p.name, p.read_bytes(), "audio/wav")) for p in spoken[:3]]
    chains = list(tel.available_chains())
    app = make_app(tmp_path / "evidence", voices=VoiceDesk(tmp_path / "voices", 600.0))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        added = client.post("/api/voices", data={"name": "bob"}, files=uploads, headers=sent)
        assert added.status_code == 200, added.text
        assert added.json()["channels"] == [CLEAN, *chains]
        monkeypatch.setattr(tel, "available_chains", lambda: ())
        again = client.post("/api/voices", data={"name": "bob", "replace": "true"}, files=uploads, headers=sent)
        assert again.status_code == 200 and again.json()["channels"] == [CLEAN]
        assert sum("no telephone copies" in w for w in again.json()["warnings"]) == 1
        assert {v["name"]: v["channels"] for v in client.get("/api/voices").json()["voices"]} == {"bob": [CLEAN]}
        off = client.post("/api/voices", data={"name": "bob", "replace": "true", "telephone": "false"},
                          files=uploads, headers=sent)
        assert off.status_code == 200 and off.json()["channels"] == [CLEAN]
        assert not any("telephone" in w for w in off.json()["warnings"])
