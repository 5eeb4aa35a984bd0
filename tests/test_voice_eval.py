"""``voxwatch eval --voices``: the person-of-interest protocol's arithmetic (targets, folds, trials, EER, clones
caught within a false-alarm budget, other people's false alarms) on tiny hand-made sets, the command end to end on
espeak-ng voices, and its bad input as one line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from voice_helpers import SENTENCES, espeak

from voxwatch.cli import main
from voxwatch.training import voice_eval as ve
from voxwatch.training import voice_figures as vf
from voxwatch.training.datasets import Clip
from voxwatch.voices.check import CLONE, GENUINE, NONE
from voxwatch.voices.voiceprint import EncoderId, Thresholds, Voiceprint


def clip(name: str, label: int, speaker: str, source: str = "real", split: str = "dev") -> Clip:
    return Clip(Path(f"/set/{name}.flac"), label, source, speaker, split, 10.0)


def test_k_sizes_and_folds_hold_every_clip_out_once_per_fold_round():
    assert ve.parse_ks("1, 3,all-2,3") == ("1", "3", "all-2")
    assert [ve.k_for(k, 4) for k in ("1", "3", "all-2")] == [1, 3, 2]
    assert [ve.k_for(k, 3) for k in ("1", "3", "all-2")] == [1, 0, 1]  # k needs k + 1 real clips
    assert ve.k_for("all-2", 2) == 0 and ve.k_for("1", 1) == 0
    for bad in ("0", "x", "", "all-3"):
        with pytest.raises(ve.VoiceEvalError):
            ve.parse_ks(bad)
    folds = ve.folds(4, 2)
    assert len(folds) == 4
    assert all(len(e) == 2 and sorted(e + h) == [0, 1, 2, 3] for e, h in folds)
    assert sorted(i for _, held in folds for i in held) == [0, 0, 1, 1, 2, 2, 3, 3]


def test_plan_targets_clones_and_others():
    clips = [clip("a1", 0, "A"), clip("a2", 0, "A"), clip("a3", 0, "A", split="test"),
             clip("ax", 1, "A", "sys-x"), clip("ay", 1, "A", "sys-y"), clip("az", 1, "A", "sys-z", "test"),
             clip("b1", 0, "B"), clip("b2", 0, "B"),  # real speech, no clones: another person
             clip("c1", 1, "C", "sys-x"),  # clones of nobody real in the set: nothing to enrol
             clip("d1", 0, "D", split="test")]
    plan = ve.plan(clips, "dev")
    assert list(plan.targets) == ["A"]
    assert [c.path.stem for c in plan.targets["A"].reals] == ["a1", "a2"]
    assert [c.path.stem for c in plan.targets["A"].clones] == ["ax", "ay"]
    assert [c.path.stem for c in plan.others] == ["b1", "b2"]
    anywhere = ve.plan(clips, "dev", "any", extra_others=[clip("e1", 0, "E"), clip("a9", 0, "A")])
    assert [c.path.stem for c in anywhere.targets["A"].reals] == ["a1", "a2", "a3"]  # reals from every split
    assert [c.path.stem for c in anywhere.targets["A"].clones] == ["ax", "ay"]  # clones of the split only
    assert [c.path.stem for c in anywhere.others] == ["b1", "b2", "e1"]  # another set's A is still A
    assert list(ve.plan(clips, "all").targets["A"].clones) == [plan.targets["A"].clones[0],
                                                               plan.targets["A"].clones[1], clips[5]]


def trial(kind: str, score: float, match: str, seconds: float = 900.0, voice: str = "A", system: str = "",
          similarity: float = 0.8) -> vf.Trial:
    return vf.Trial(kind, voice, system, vf.CLEAN, seconds, similarity, score, match, 0)


def test_figures_eer_budget_and_the_products_own_verdicts():
    # 1 h of genuine speech in four trials: one of them judged a clone at the voiceprint's own threshold
    genuine = [trial("genuine", s, m) for s, m in ((0.1, GENUINE), (0.2, GENUINE), (0.3, GENUINE), (0.9, CLONE))]
    clones = [trial("clone", s, m, system="x") for s, m in
              ((0.95, CLONE), (0.8, CLONE), (0.35, GENUINE), (0.99, NONE), (0.25, GENUINE))]
    f = vf.figures(genuine, clones, budget_per_hour=1.0)
    assert f["genuine_trials"] == 4 and f["genuine_hours"] == 1.0 and f["clone_trials"] == 5
    # 1 false alarm per hour of 1 h affords one: the threshold goes just above the second-highest genuine (0.3);
    # the clone above it that nobody claimed (match none) raises no alert
    assert f["false_alarms_per_hour_at_budget"] == 1.0
    assert f["caught_at_budget"] == pytest.approx(3 / 5)
    assert f["budget_threshold"] == pytest.approx(0.3)  # just above it, rounded
    assert f["caught"] == pytest.approx(2 / 5) and f["clones_taken_as_genuine"] == pytest.approx(2 / 5)
    assert f["genuine_false_alarms"] == 1 and f["genuine_false_alarms_per_hour"] == 1.0
    assert f["genuine_missed"] == 0.0
    # EER of clone_score: the 0.9 genuine outranks two clones, two clones sit below the genuine 0.3
    assert f["eer"] == pytest.approx(vf.eer([0.1, 0.2, 0.3, 0.9], [0.95, 0.8, 0.35, 0.99, 0.25]))
    assert 0.2 <= f["eer"] <= 0.3
    half = vf.figures(genuine[:2], clones, budget_per_hour=1.0)  # 0.5 h: the budget affords no alarm at all,
    assert half["caught_at_budget"] == pytest.approx(4 / 5)  # so the threshold goes just above the highest (0.2)
    assert half["false_alarms_per_hour_at_budget"] == 0.0
    none = vf.figures(genuine, [], 1.0)
    assert none["eer"] is None and none["caught"] is None and none["caught_at_budget"] is None


def test_others_figures_count_clone_alarms_and_impostors_per_hour():
    others = [trial("other", 0.9, CLONE, 1800), trial("other", 0.1, GENUINE, 1800), trial("other", 1.0, NONE, 3600)]
    f = vf.others_figures(others)
    assert f["hours"] == 2.0 and f["clone_alarms"] == 1 and f["false_alarms_per_hour"] == 0.5
    assert f["taken_as_genuine"] == 1 and f["taken_as_genuine_per_hour"] == 0.5


def _unit(i: int) -> np.ndarray:
    v = np.zeros(8, np.float32)
    v[i] = 1.0
    return v


def test_run_trials_counts_every_fold_and_summarize_splits_systems():
    a = [clip(f"a{i}", 0, "A") for i in range(3)]
    b = [clip(f"b{i}", 0, "B") for i in range(4)]
    clones = [clip("ax", 1, "A", "sys-x"), clip("bx", 1, "B", "sys-x"), clip("by", 1, "B", "sys-y")]
    other = [clip("o1", 0, "O"), clip("o2", 0, "O")]
    plan = ve.plan(a + b + clones + other, "dev")
    direction = {"A": 0, "B": 1, "O": 2}
    embedded = {}
    for i, c in enumerate(a + b + clones + other):
        v = _unit(direction[c.speaker]) + (0.5 * _unit(3) if c.label else 0.05 * _unit(4 + i % 4))
        embedded[c.path] = ve.Embedded(c, 10.0, {vf.CLEAN: v / np.linalg.norm(v)}, np.array([float(i)]))
    lookup = {float(i): embedded[c.path].vectors[vf.CLEAN] for i, c in enumerate(a + b + clones + other)}
    enrolled: list[tuple[str, int]] = []

    def enroller(name, recordings):
        rows = np.stack([lookup[float(r.audio[0])] for r in recordings])
        enrolled.append((name, len(recordings)))
        return Voiceprint(name, EncoderId("e", "0" * 64, "f"), {"clean": rows}, Thresholds(0.75, 0.95, 0.02))

    trials = ve.run_trials(plan, embedded, ("1", "3", "all-2"), enroller)
    one = trials["1"]
    # k = 1: A has 3 folds of 2 held-out clips, B 4 folds of 3; each fold checks every clone of the target;
    # 4 folds in all (the longest target), each checking both other clips against A's and B's voices
    assert sum(t.kind == "genuine" and t.voice == "A" for t in one) == 6
    assert sum(t.kind == "genuine" and t.voice == "B" for t in one) == 12
    assert sum(t.kind == "clone" and t.voice == "A" for t in one) == 3
    assert sum(t.kind == "clone" and t.voice == "B" for t in one) == 8
    assert sum(t.kind == "other" for t in one) == 8
    # k = 3: only B qualifies (4 real clips); A's real clips join the other people
    three = trials["3"]
    assert {t.voice for t in three if t.kind != "other"} == {"B"}
    assert sum(t.kind == "genuine" for t in three) == 4 and sum(t.kind == "other" for t in three) == 4 * 5
    assert ("B", 3) in enrolled and ("A", 3) not in enrolled
    assert all(t.match == GENUINE for t in one if t.kind == "genuine")  # 0.998 >= 0.95
    assert all(t.match == CLONE for t in one if t.kind == "clone")  # 0.89 between claim and genuine
    assert all(t.match == NONE for t in one if t.kind == "other")
    summary = vf.summarize(trials, 1.0)
    assert [(e["k"], e["condition"]) for e in summary] == [("1", "clean"), ("3", "clean"), ("all-2", "clean")]
    first = summary[0]
    assert set(first["systems"]) == {"sys-x", "sys-y"}
    assert first["systems"]["sys-y"]["genuine_trials"] == 12  # only B's, the voice sys-y cloned
    assert first["overall"]["clone_trials"] == 11 and first["overall"]["eer"] == 0.0
    assert first["overall"]["caught_at_budget"] == 1.0 and first["others"]["false_alarms_per_hour"] == 0.0


def test_drop_duplicates_keeps_the_first_copy_of_a_recording():
    a = [clip(f"a{i}", 0, "A") for i in range(3)]
    plan = ve.plan([*a, clip("ax", 1, "A", "x")], "dev")
    same = _unit(0)
    embedded = {a[0].path: ve.Embedded(a[0], 1, {vf.CLEAN: same}), a[1].path: ve.Embedded(a[1], 1, {vf.CLEAN: same}),
                a[2].path: ve.Embedded(a[2], 1, {vf.CLEAN: _unit(1)})}
    deduped, dropped = ve.drop_duplicates(plan, embedded)
    assert dropped == 1 and [c.path.stem for c in deduped.targets["A"].reals] == ["a0", "a2"]


def test_voice_names_are_distinct_valid_names():
    from voxwatch.voices.voiceprint import check_name

    names = ve.voice_names(["yourtts:vctk-p225", "yourtts/vctk-p225", "..", "émile"])
    assert len(set(names.values())) == 4
    for name in names.values():
        check_name(name)


# ---- the command ----------------------------------------------------------------------------------------------------

def write_manifest(root: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    with open(root / "manifest.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "source", "speaker", "split", "duration_s", "license"])
        for path, label, source, speaker, split in rows:
            writer.writerow([path, label, source, speaker, split, "", "test"])


@pytest.fixture(scope="module")
def espeak_set(tmp_path_factory) -> Path:
    """Two espeak-ng "speakers" (en-us, en-gb-x-rp) with 3 sentences each, and "clones" of the first: the same
    sentences from two other espeak voices that claim to be it."""
    root = tmp_path_factory.mktemp("voices-set")
    rows = []
    for speaker, voice in (("us", "en-us"), ("gb", "en-gb-x-rp")):
        for i, text in enumerate(SENTENCES[:3]):
            espeak(root / f"{speaker}{i}.wav", text, voice)
            rows.append((f"{speaker}{i}.wav", "bonafide", "espeak", speaker, "dev"))
    for system, voice in (("variant-m3", "en-us+m3"), ("variant-f2", "en-us+f2")):
        espeak(root / f"{system}.wav", SENTENCES[3], voice)
        rows.append((f"{system}.wav", "spoof", system, "us", "dev"))
    write_manifest(root, rows)
    return root


def run_cli(capsys, *argv) -> tuple[int, str, list[str]]:
    code = main(["eval", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, [line for line in err.splitlines() if line.strip()]


def test_eval_voices_end_to_end_json_and_table(espeak_set, capsys, tmp_path):
    code, out, _ = run_cli(capsys, "--voices", "--data", espeak_set, "--split", "dev", "--k", "1,all-2", "--json",
                           "--cache", tmp_path / "cache")
    assert code == 0
    report = json.loads(out)["sets"][0]
    assert report["targets"] == {"us": {"real": 3, "clones": 2}} and report["scoring"] == "snorm"
    assert "minimum of speech lifted" in report["note"]
    k1, k_all = report["results"]
    assert (k1["k"], k_all["k"]) == ("1", "all-2")
    assert set(k1["systems"]) == {"variant-m3", "variant-f2"}
    # 3 folds x 2 held-out genuine clips, 3 folds x 2 clones, 3 folds x 3 clips of the other speaker
    assert k1["overall"]["genuine_trials"] == 6 and k1["overall"]["clone_trials"] == 6
    assert k1["others"]["trials"] == 9
    assert 0.0 <= k1["overall"]["eer"] <= 1.0
    # clone watch fused with the bundled verifier, beside S-norm alone (--fusion on by default)
    assert report["fusion"]["reported"] and report["fusion"]["in_product"] is False
    assert k1["fused"]["overall"]["clone_trials"] == 6 and set(k1["fused"]["systems"]) == set(k1["systems"])
    assert list((tmp_path / "cache").glob("verifier-scores-*.npz"))
    assert list((tmp_path / "cache").glob("voice-embeddings-*.npz"))  # the cache was written ...
    code, again, _ = run_cli(capsys, "--voices", "--data", espeak_set, "--split", "dev", "--k", "1,all-2", "--json",
                             "--cache", tmp_path / "cache")
    assert code == 0 and json.loads(again)["sets"][0]["results"] == report["results"]  # ... and read back
    code, out, _ = run_cli(capsys, "--voices", "--data", espeak_set, "--split", "dev", "--k", "1",
                           "--scoring", "cosine")
    assert code == 0 and "clone watch: " in out and "cosine scoring" in out and "variant-m3" in out
    assert "no fused figures: the fusion is fitted on S-norm voiceprints" in out
    code, out, _ = run_cli(capsys, "--voices", "--data", espeak_set, "--split", "dev", "--k", "1",
                           "--cache", tmp_path / "cache")
    assert code == 0 and "S-norm / fused" in out and "fused: clone watch's S-norm evidence fused with" in out
    code, out, _ = run_cli(capsys, "--voices", "--data", espeak_set, "--split", "dev", "--k", "1", "--fusion", "off",
                           "--cache", tmp_path / "cache", "--json")
    assert code == 0 and "fused" not in json.loads(out)["sets"][0]["results"][0]


def test_eval_voices_bad_input_is_one_line(tmp_path, capsys, espeak_set):
    no_speakers = tmp_path / "no-speakers"
    no_speakers.mkdir()
    (no_speakers / "manifest.csv").write_text("path,label\na.wav,bonafide\nb.wav,spoof\n")
    no_clones = tmp_path / "no-clones"
    no_clones.mkdir()
    write_manifest(no_clones, [("a.wav", "bonafide", "r", "x", "dev"), ("b.wav", "spoof", "s", "y", "dev")])
    cases = [
        (("--voices", "--data", tmp_path / "missing"), "no manifest.csv"),
        (("--voices", "--data", no_speakers), "no speaker column"),
        (("--voices", "--data", no_clones, "--split", "dev"), "no speaker has both real clips and clones"),
        (("--voices", "--data", espeak_set, "--split", "dev", "--k", "3"), "k needs k + 1"),
        (("--voices", "--data", espeak_set, "--k", "two"), "--k"),
        (("--voices", "--data", espeak_set, "--split", "test"), "no speaker has both"),
        (("--data", espeak_set), "--report DIR is required"),
    ]
    for argv, words in cases:
        code, out, err = run_cli(capsys, *argv)
        assert code == 2 and out == "", (argv, out)
        assert len(err) == 1 and err[0].startswith("voxwatch: error: ") and words in err[0], (argv, err)
