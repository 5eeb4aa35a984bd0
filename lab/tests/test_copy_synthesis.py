"""Vocoded twins (lab.supplements.copy_synthesis) on synthetic voiced speech and a tiny generated set.

The vocoders need pyworld and pysptk (the train extra): tests that vocode skip without them, the rest still run."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lab.supplements import copy_synthesis as cs
from lab.tests.helpers import require_module
from voxwatch.bench.workload import speech_like
from voxwatch.training.datasets import load_dataset, load_datasets


@pytest.fixture
def vocoders():
    require_module("pyworld", "pysptk")


def _long_term_spectrum(x: np.ndarray) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(x, 512)[::256] * np.hanning(512)
    return 10 * np.log10(np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0) + 1e-12)


@pytest.mark.parametrize("vocoder", sorted(cs.VOCODERS))
def test_each_vocoder_keeps_the_voice_but_not_the_waveform(vocoder, vocoders):
    x = speech_like(1.5, level=0.3, seed=3, f0=130.0).astype(np.float64)
    y = cs.match_level(cs.VOCODERS[vocoder](x, random.Random(0)), x)
    assert y.shape == x.shape and np.isfinite(y).all()
    assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=0.05)
    # the same spectral envelope below 4 kHz (where the synthetic voice has its energy) ...
    sx, sy = _long_term_spectrum(x)[:128], _long_term_spectrum(y)[:128]
    assert np.corrcoef(sx, sy)[0, 1] > 0.8
    # ... but a different waveform: a twin, not a copy
    assert np.corrcoef(x, y)[0, 1] < 0.9


def test_match_level_pads_trims_and_never_clips():
    x = np.full(100, 0.5)
    assert cs.match_level(np.full(80, 0.1), x).shape == (100,)
    assert cs.match_level(np.full(120, 0.1), x).shape == (100,)
    loud = cs.match_level(np.r_[np.zeros(99), 1.0], x)  # RMS matching would push the peak to 5.0
    assert np.max(np.abs(loud)) <= 0.99


def _tiny_set(root: Path) -> Path:
    rows = []
    for i, (speaker, split, label) in enumerate([("s1", "train", "bonafide"), ("s1", "train", "bonafide"),
                                                  ("s2", "train", "bonafide"), ("s3", "dev", "bonafide"),
                                                  ("v1", "train", "spoof")]):
        path = root / f"{label}/{i}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, speech_like(0.8, seed=i, f0=120.0 + 10 * i), 16000, subtype="PCM_16")
        rows.append([path.relative_to(root), label, "src", speaker, split, "0.8", "test"])
    with open(root / "manifest.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["path", "label", "source", "speaker", "split", "duration_s", "license"],
                                      *rows])
    return root


def test_plan_twins_only_real_train_clips_and_every_speaker(tmp_path):
    data = _tiny_set(tmp_path / "set")
    jobs = cs.plan([data], share=0.0, seed=0)
    assert sorted(j.speaker for j in jobs) == ["s1", "s2"]  # one per train speaker; no dev, no fake
    jobs = cs.plan([data], share=1.0, seed=0)
    assert len(jobs) == 3 and [j.vocoder for j in jobs] == list(cs.DEFAULT_VOCODERS)
    assert "copy-psola" not in cs.DEFAULT_VOCODERS  # the shipped recipe's twins stay as they were
    jobs = cs.plan([data], share=1.0, seed=0, vocoders=("copy-psola",))
    assert [j.vocoder for j in jobs] == ["copy-psola"] * 3 and all(j.name.endswith("-copy-psola") for j in jobs)


def test_main_writes_a_train_only_set_that_loads_beside_the_original(tmp_path, capsys, vocoders):
    data = _tiny_set(tmp_path / "set")
    assert cs.main(["--data", str(data), "--out", str(tmp_path / "out"), "--share", "1", "--workers", "1"]) == 0
    assert "3 twins" in capsys.readouterr().out
    twins = load_dataset(tmp_path / "out")
    assert len(twins) == 3 and {c.split for c in twins} == {"train"} and {c.label for c in twins} == {1}
    assert {c.source for c in twins} == set(cs.DEFAULT_VOCODERS)
    assert {c.license for c in twins} == {f"test; vocoded here ({v})" for v in cs.DEFAULT_VOCODERS}  # inherited
    assert all(sf.info(str(c.path)).samplerate == 16000 for c in twins)
    both = load_datasets([data, tmp_path / "out"])
    assert sum(c.split == "dev" for c in both) == 1  # the supplement brings no dev or test clips


def test_main_makes_only_the_resyntheses_asked_for(tmp_path, vocoders):
    data = _tiny_set(tmp_path / "set")
    assert cs.main(["--data", str(data), "--out", str(tmp_path / "out"), "--share", "1", "--workers", "1",
                    "--vocoder", "copy-psola", "--vocoder", "copy-mlsa"]) == 0
    assert [c.source for c in load_dataset(tmp_path / "out")] == ["copy-psola", "copy-mlsa", "copy-psola"]


def _f0_track(x: np.ndarray) -> np.ndarray:
    import pyworld as pw

    f0, _ = pw.harvest(x.astype(np.float64), 16000, f0_floor=60.0, f0_ceil=400.0, frame_period=5.0)
    return f0


def test_psola_moves_the_pitch_unit_by_unit_and_keeps_the_length(vocoders):
    x = speech_like(2.0, level=0.3, seed=1, f0=130.0).astype(np.float64)
    y = cs.match_level(cs.vocode_psola(x, random.Random(4)), x)
    fx, fy = _f0_track(x), _f0_track(y)
    both = (fx > 0) & (fy > 0)
    assert both.mean() > 0.6  # still voiced where the original was
    ratio = fy[both] / fx[both]
    # each unit gets its own pitch (0.8-1.25 of the original): the ratio spreads and steps, it is not 1
    assert np.std(ratio) > 0.05 and np.percentile(ratio, 90) - np.percentile(ratio, 10) > 0.15
    assert 0.8 < np.median(ratio) < 1.25
    # durations change per unit but the total is kept: speech to the end, no silent tail to give it away
    rms = np.sqrt(np.mean(y**2))
    assert np.sqrt(np.mean(y[-len(y) // 10:] ** 2)) > 0.3 * rms


def test_bad_share_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        cs.main(["--data", str(tmp_path), "--out", str(tmp_path / "o"), "--share", "2"])
    assert exit_info.value.code == 2
