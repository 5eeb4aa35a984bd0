"""lab.splice_set: spliced clips hold a fake part with no pause around it, long real recordings only real parts,
and the parts alone are written beside them."""

from __future__ import annotations

import csv

import numpy as np
import soundfile as sf

from lab.splice_set import main, trim

SR = 16000


def _tone(seconds: float, f0: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * f0 * t) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def _set(root):
    rows = []
    (root / "audio").mkdir(parents=True)
    for i in range(4):
        for label, seconds, f0 in (("bonafide", 3.0, 150.0), ("spoof", 4.0, 900.0)):
            name = f"audio/{label}{i}.flac"
            audio = np.concatenate([np.zeros(SR // 2, np.float32), _tone(seconds, f0, i), np.zeros(SR, np.float32)])
            sf.write(root / name, audio, SR)
            rows.append({"path": name, "label": label, "source": f"src-{label}", "speaker": f"s{i}", "split": "dev",
                         "duration_s": f"{len(audio) / SR:.3f}", "license": f"lic-{label}"})
    with open(root / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_trim_drops_leading_and_trailing_silence():
    audio = np.concatenate([np.zeros(SR), _tone(1.0, 200.0, 0), np.zeros(SR)])
    assert abs(len(trim(audio)) - SR) <= 320


def test_spliced_clips_and_long_real_recordings_with_their_parts_alone(tmp_path):
    source = _set(tmp_path / "set")
    out = tmp_path / "splice"
    assert main([str(out), "--data", str(source), "--split", "dev", "--count", "3", "--seed", "1"]) == 0
    rows = list(csv.DictReader(open(out / "manifest.csv")))
    spliced = [r for r in rows if r["label"] == "spoof"]
    long_real = [r for r in rows if r["label"] == "bonafide"]
    assert len(spliced) == len(long_real) == 3
    for row in rows:
        audio, rate = sf.read(out / row["path"])
        assert rate == SR and 10.0 <= len(audio) / SR <= 45.0
        frames = np.abs(audio[: len(audio) // 320 * 320]).reshape(-1, 320).max(axis=1)
        assert frames.min() > 0.05  # no pause anywhere: every 20 ms holds speech
    assert all(r["source"] == "splice:src-spoof" and "lic-spoof" in r["license"] for r in spliced)
    assert all(r["source"] == "long:src-bonafide" and r["license"] == "lic-bonafide" for r in long_real)
    alone = list(csv.DictReader(open(out / "alone" / "manifest.csv")))
    assert {r["label"] for r in alone} == {"spoof", "bonafide"} and all((out / "alone" / r["path"]).exists()
                                                                          for r in alone)


def test_a_split_without_fakes_of_two_to_ten_seconds_is_one_error_line(tmp_path, capsys):
    source = _set(tmp_path / "set")
    assert main([str(tmp_path / "out"), "--data", str(source), "--split", "test"]) == 2
    assert capsys.readouterr().err.startswith("splice_set: error:")
