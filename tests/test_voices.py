"""Clone watch from the command line (``voxwatch voices add|list|remove|check``) and its voiceprint store:
enrolment's refusals (too little speech, two people, a voice already enrolled, another encoder), atomic writes,
and the check's JSON lines. espeak-ng speech is synthesised here; the two-people tests use the shared corpus."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
from voice_helpers import SENTENCES, corpus_clips, espeak

from voxwatch.cli import main
from voxwatch.voices.check import CLONE, GENUINE, NONE, check, clone_score, verdict
from voxwatch.voices.voiceprint import (
    SUFFIX,
    EncoderId,
    Thresholds,
    Voiceprint,
    VoiceprintError,
    VoiceStore,
    dumps,
    write_atomically,
)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> list:
    """Four sentences (~5-6 s each) in espeak-ng's en-us voice."""
    d = tmp_path_factory.mktemp("espeak")
    return [espeak(d / f"s{i}.wav", text) for i, text in enumerate(SENTENCES)]


def run(capsys, *argv) -> tuple[int, str, list[str]]:
    code = main(["voices", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err.strip().splitlines()


def test_add_refuses_under_10_s_of_speech_with_one_line(tmp_path, capsys, spoken):
    code, out, err = run(capsys, "add", "bob", spoken[0], "--dir", tmp_path)
    assert code == 2 and out == ""
    assert len(err) == 1 and err[0].startswith("voxwatch: error: bob: ") and "at least 10 s" in err[0], err
    assert "30 s" in err[0] and "3 recordings" in err[0]
    assert list(tmp_path.iterdir()) == []


def test_add_list_check_remove_round_trip(tmp_path, capsys, spoken):
    voices = tmp_path / "voices"
    code, out, err = run(capsys, "add", "bob", *spoken[:3], "--dir", voices)
    assert code == 0 and out.startswith("enrolled bob: ") and "recommended" not in out
    assert any("steadier voiceprint" in line for line in err)  # < 30 s: a warning, not a refusal
    path = voices / f"bob{SUFFIX}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in voices.iterdir()) == [path.name]  # no temporary file left

    code, out, _ = run(capsys, "list", "--dir", voices)
    assert code == 0 and out.startswith("bob\t")
    code, out, _ = run(capsys, "list", "--dir", voices, "--json")
    listed = json.loads(out)
    assert listed["name"] == "bob" and listed["recordings"] == 3 and listed["encoder_matches"] is True

    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all")
    code, out, err = run(capsys, "check", spoken[3], junk, tmp_path / "missing.wav", "--dir", voices, "--json")
    assert code == 1  # some files failed
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["file"] for line in lines] == [str(spoken[3]), str(junk), str(tmp_path / "missing.wav")]
    assert set(lines[0]) == {"file", "voice"}
    assert set(lines[0]["voice"]) == {"name", "similarity", "clone_score", "match"}
    assert lines[0]["voice"]["name"] == "bob" and lines[0]["voice"]["match"] == GENUINE
    assert 0 <= lines[0]["voice"]["clone_score"] < 0.5 and -1 <= lines[0]["voice"]["similarity"] <= 1
    assert set(lines[1]) == {"file", "error"} and "cannot decode" in lines[1]["error"]
    assert set(lines[2]) == {"file", "error"} and "no such file" in lines[2]["error"]

    code, out, err = run(capsys, "add", "bob", *spoken[:3], "--dir", voices)
    assert code == 2 and len(err) == 1 and "already enrolled" in err[0]
    code, out, _ = run(capsys, "remove", "bob", "--dir", voices)
    assert code == 0 and "removed bob" in out and not path.exists()
    code, out, err = run(capsys, "list", "--dir", voices)
    assert code == 0 and out == "" and "no voices enrolled" in err[0]
    code, _, err = run(capsys, "remove", "bob", "--dir", voices)
    assert code == 2 and err == [f"voxwatch: error: no voice named 'bob' in {voices}"]
    code, _, err = run(capsys, "check", spoken[3], "--dir", voices)
    assert code == 2 and len(err) == 1 and "no voices enrolled" in err[0]


def test_a_voiceprint_from_another_encoder_is_refused_with_one_line(tmp_path, capsys, spoken):
    assert run(capsys, "add", "bob", *spoken[:3], "--dir", tmp_path)[0] == 0
    path = tmp_path / f"bob{SUFFIX}"
    data = json.loads(path.read_text())
    data["encoder"].update(model_id="some-other-encoder", sha256="ab" * 32)
    path.write_text(json.dumps(data))
    for argv in (("check", spoken[3]), ("check", spoken[3], "--expect", "bob"), ("add", "eve", *spoken)):
        code, out, err = run(capsys, *argv, "--dir", tmp_path)
        assert code == 2 and out == "" and len(err) == 1, (argv, err)
        assert "some-other-encoder" in err[0] and "enrol it again" in err[0]
    code, out, _ = run(capsys, "list", "--dir", tmp_path)
    assert code == 0 and "OTHER ENCODER" in out
    assert run(capsys, "remove", "bob", "--dir", tmp_path)[0] == 0  # what cannot be used can still be removed


def test_bad_names_and_unknown_voices_are_one_line(tmp_path, capsys, spoken):
    code, _, err = run(capsys, "add", "../evil", *spoken, "--dir", tmp_path)
    assert code == 2 and len(err) == 1 and "voice name" in err[0]
    assert run(capsys, "add", "bob", *spoken[:3], "--dir", tmp_path)[0] == 0
    code, _, err = run(capsys, "check", spoken[3], "--expect", "alice", "--dir", tmp_path)
    assert code == 2 and err == [f"voxwatch: error: no voice named 'alice' in {tmp_path}"]


def test_the_voices_dir_comes_from_dir_then_config_then_xdg(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    _, _, err = run(capsys, "list")
    assert err == [f"no voices enrolled in {tmp_path / 'xdg' / 'voxwatch' / 'voices'}"]
    config = tmp_path / "etc" / "voxwatch.toml"
    config.parent.mkdir()
    config.write_text('[voices]\ndir = "enrolled"\n')  # relative to the config file
    _, _, err = run(capsys, "list", "--config", config)
    assert err == [f"no voices enrolled in {tmp_path / 'etc' / 'enrolled'}"]
    _, _, err = run(capsys, "list", "--config", config, "--dir", tmp_path / "d")
    assert err == [f"no voices enrolled in {tmp_path / 'd'}"]


def test_write_atomically_leaves_the_old_file_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "v.json"
    write_atomically(target, "old\n")
    assert target.read_text() == "old\n" and stat.S_IMODE(target.stat().st_mode) == 0o600

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_atomically(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["v.json"]  # the temporary file is gone too


def _voiceprint(name: str = "bob", genuine: float = 0.9) -> Voiceprint:
    rng = np.random.default_rng(0)
    rows = np.abs(rng.standard_normal((3, 256))).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return Voiceprint(name=name, encoder=EncoderId("enc", "ab" * 32, "f" * 16), embeddings={"clean": rows},
                      thresholds=Thresholds(claim=0.75, genuine=genuine, scale=0.02),
                      stats={"units": 3}, recordings=({"file": "a.wav", "speech_s": 12.0},), created="now")


def test_voiceprint_file_round_trip_and_store(tmp_path):
    vp = _voiceprint()
    store = VoiceStore(tmp_path / "voices")
    store.save(vp)
    back = store.load("bob")
    assert back.name == "bob" and back.encoder == vp.encoder and back.thresholds == vp.thresholds
    assert np.allclose(back.embeddings["clean"], vp.embeddings["clean"], atol=1e-6)
    assert store.names() == ["bob"] and back.speech_s == 12.0
    assert stat.S_IMODE((tmp_path / "voices").stat().st_mode) == 0o700
    assert len(dumps(vp.to_dict()).splitlines()) < 20  # one line per key, not one per number
    (tmp_path / "voices" / f"eve{SUFFIX}").write_text("{not json")
    with pytest.raises(VoiceprintError, match="cannot read voiceprint"):
        store.load("eve")


def test_scoring_rules():
    vp = _voiceprint(genuine=0.9)
    t = vp.thresholds
    assert verdict(0.95, t) == GENUINE and verdict(0.85, t) == CLONE and verdict(0.6, t) == NONE
    assert clone_score(0.9, t) == pytest.approx(0.5)
    scores = [clone_score(s, t) for s in (0.99, 0.93, 0.9, 0.85, 0.8)]
    assert scores == sorted(scores) and scores[0] < 0.02 and scores[-1] > 0.99
    own = vp.centroid()
    result = check(own, [vp, _voiceprint("eve")], expect="eve")
    assert result.name == "eve"
    assert check(own, [vp]).match == GENUINE and check(own, [vp]).similarity == pytest.approx(1.0, abs=1e-5)


def test_recordings_of_two_people_are_refused(tmp_path, capsys):
    lj = corpus_clips("ljspeech", "lj", n=2)
    other = corpus_clips("librispeech", "ls-103", n=1)
    code, out, err = run(capsys, "add", "mix", *lj, *other, "--dir", tmp_path)
    assert code == 2 and out == "" and len(err) == 1, err
    assert f"{other[0].name} sounds like another person" in err[0] and "--force" in err[0]
    code, out, err = run(capsys, "add", "mix", *lj, *other, "--dir", tmp_path, "--force")
    assert code == 0 and any("enrolled anyway" in line for line in err)


def test_a_voice_too_close_to_an_enrolled_one_is_refused_and_checks_tell_people_apart(tmp_path, capsys):
    lj = corpus_clips("ljspeech", "lj", n=9)
    assert run(capsys, "add", "lj", *lj[:4], "--dir", tmp_path)[0] == 0
    code, out, err = run(capsys, "add", "lj-again", *lj[4:8], "--dir", tmp_path)
    assert code == 2 and len(err) == 1 and "sounds like the enrolled voice 'lj'" in err[0], err
    others = corpus_clips("librispeech", n=2)
    code, out, _ = run(capsys, "check", lj[8], *others, "--dir", tmp_path, "--json")
    lines = [json.loads(line)["voice"] for line in out.splitlines()]
    assert code == 0 and [v["match"] for v in lines] == [GENUINE, NONE, NONE]
    assert lines[0]["similarity"] > max(v["similarity"] for v in lines[1:]) + 0.15


def test_replace_enrols_anew_even_over_an_unreadable_voiceprint(tmp_path, capsys, spoken):
    (tmp_path / f"bob{SUFFIX}").write_text("{broken")
    code, _, err = run(capsys, "add", "bob", *spoken[:3], "--dir", tmp_path)
    assert code == 2 and "already enrolled" in err[0]
    code, out, _ = run(capsys, "add", "bob", *spoken[:3], "--dir", tmp_path, "--replace")
    assert code == 0 and VoiceStore(tmp_path).load("bob").stats["units"] == 3
