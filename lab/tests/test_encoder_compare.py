"""``python -m lab.encoder_compare``: the pooling, the front ends' shapes, the cache and the raw-cosine protocol on
synthetic embeddings (no model, no download, no data set)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lab import encoder_compare as ec
from voxwatch.training.datasets import Clip
from voxwatch.training.voice_eval import plan


def test_pool_and_the_pooled_vectors():
    frames = np.array([[1.0, 0.0], [3.0, 0.0]])
    mean, std = ec.pool(frames)
    assert np.allclose(mean, [2.0, 0.0]) and np.allclose(std, [1.0, 0.0])
    assert np.allclose(ec.clip_vector(mean, std, ""), [1.0, 0.0])
    both = ec.clip_vector(mean, std, "-ms")
    assert both.shape == (4,) and np.allclose(both, np.r_[1, 0, 1, 0] / 2 ** .5)
    with pytest.raises(ValueError):
        ec.pool(np.zeros((0, 3)))


def test_oww_windows_follow_openwakeword():
    mel = np.arange(100 * 32, dtype=np.float32).reshape(100, 32)
    windows = ec.oww_windows(mel)
    assert windows.shape == (4, 76, 32, 1)  # starts 0, 8, 16, 24: the tail under 76 frames is dropped
    assert np.array_equal(windows[1, :, :, 0], mel[8:84])
    assert ec.oww_windows(mel, hop=16).shape == (2, 76, 32, 1)
    assert ec.oww_windows(mel[:50]).shape == (0, 76, 32, 1)


def test_whisper_log_mel_is_whispers_shape_and_range():
    t = np.arange(16000) / 16000
    mel = ec.whisper_log_mel(0.1 * np.sin(2 * np.pi * 440 * t))
    assert mel.shape == (80, 100) and mel.dtype == np.float32  # 100 frames per second, an even count
    assert mel.max() - mel.min() <= 2.0 + 1e-6  # clamped 8 (log10) below the peak, then divided by 4
    assert ec.whisper_log_mel(np.zeros(100)).shape == (80, 2)


def test_the_cache_round_trips_clips_without_a_vector(tmp_path):
    pooled = ec.Pooled({"a": np.ones(3, np.float32)}, {"a": np.zeros(3, np.float32)}, {"a": 4.0, "b": 0.2})
    pooled.save(tmp_path / "x.npz")
    back = ec.Pooled.load(tmp_path / "x.npz")
    assert back.speech_s == {"a": 4.0, "b": pytest.approx(0.2)} and set(back.mean) == {"a"}
    assert np.allclose(back.std["a"], 0.0)
    assert ec.Pooled.load(tmp_path / "missing.npz").speech_s == {}


def _set(rng: np.random.Generator, clone_offset: float) -> tuple[list[Clip], dict[str, np.ndarray]]:
    """Three targets (4 real clips, 2 clones each) and two other speakers; a speaker's clips lie near its centre,
    its clones ``clone_offset`` further off."""
    clips, vectors = [], {}
    for s in range(5):
        centre = rng.standard_normal(16) * 3
        for i in range(4 if s < 3 else 2):
            clips.append(Clip(Path(f"/x/s{s}/r{i}.flac"), 0, "real", f"s{s}", "dev"))
            vectors[f"/x/s{s}/r{i}.flac"] = centre + rng.standard_normal(16) * 0.3
        for i in range(2 if s < 3 else 0):
            clips.append(Clip(Path(f"/x/s{s}/c{i}.flac"), 1, "tts", f"s{s}", "dev"))
            vectors[f"/x/s{s}/c{i}.flac"] = centre + rng.standard_normal(16) * clone_offset
    return clips, vectors


def test_separation_counts_and_orders_the_trials():
    clips, vectors = _set(np.random.default_rng(0), clone_offset=3.0)
    p = plan(clips, "dev", "any")
    checked = set(vectors)
    out = ec.separation(p, vectors, checked, ("1", "3"))
    one, three = out["1"], out["3"]
    assert one["targets"] == three["targets"] == 3
    assert one["genuine"] == 3 * 4 * 3 and three["genuine"] == 3 * 4 * 1  # per fold: the held-out clips
    assert one["clones"] == three["clones"] == 3 * 4 * 2  # every fold checks every clone
    assert one["others"] == 4 * 4  # two other speakers' 4 clips, against the nearest voice, per fold
    assert one["clone_eer"] == 0.0 and one["other_eer"] == 0.0
    same = ec.separation(p, {**vectors, **{f"/x/s{s}/c{i}.flac": vectors[f"/x/s{s}/r{i}.flac"]
                                           for s in range(3) for i in range(2)}}, checked, ("1",))["1"]
    assert same["clone_eer"] is not None and same["clone_eer"] > 20.0  # clones that are copies: no separation
    short = ec.separation(p, vectors, checked - {"/x/s0/c0.flac"}, ("1",))["1"]
    assert short["clones"] == one["clones"] - 4  # a clip with too little speech is not checked


def test_bad_input_is_one_error_line(tmp_path, capsys):
    (tmp_path / "m" / "oww").mkdir(parents=True)
    (tmp_path / "m" / "oww" / "embedding_model.onnx").write_bytes(b"not a model")
    for argv, words in ((["separation", "--data", str(tmp_path / "none"), "--models", str(tmp_path), "--cache",
                          str(tmp_path)], "no manifest.csv"),
                        (["separation", "--data", str(tmp_path), "--models", str(tmp_path), "--cache", str(tmp_path),
                          "--k", "two"], "--k 'two'"),
                        (["assemble", "--wheels", str(tmp_path), "--out", str(tmp_path / "m")], "no openwakeword"),
                        (["bench", "--models", str(tmp_path / "m"), "--encoder", "oww"], "no melspectrogram.onnx")):
        assert ec.main(argv) == 2
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        assert out == "" and len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], (argv, err)


def test_centring_draws_train_speakers_no_clone_imitates_and_removes_their_mean():
    clips = [Clip(Path(f"/x/t{i}.flac"), 0, "real", "free" if i % 2 else "target", "train") for i in range(6)]
    clips += [Clip(Path("/x/c.flac"), 1, "tts", "target", "dev"), Clip(Path("/x/d.flac"), 0, "real", "free", "dev")]
    drawn = ec.centre_clips(clips, 10)
    assert drawn == [Path("/x/t1.flac"), Path("/x/t3.flac"), Path("/x/t5.flac")] and ec.centre_clips(clips, 0) == []
    assert len(ec.centre_clips(clips, 2)) == 2
    pooled = ec.Pooled({"a": np.array([1.0, 1.0]), "b": np.array([1.0, 0.9]), "q": np.array([1.0, 2.0])},
                       {}, {"a": 4.0, "b": 4.0, "q": 4.0})
    centred = pooled.vectors("", ["a", "b"])
    assert all(np.isclose(np.linalg.norm(v), 1.0) for v in centred.values())
    assert float(centred["a"] @ centred["b"]) < float(pooled.vectors("")["a"] @ pooled.vectors("")["b"])
    with pytest.raises(ec.LabError):
        ec.centre_clips(clips[6:], 5)


def test_a_corrupt_model_is_one_error_line(tmp_path, capsys):
    for name in ec.OWW_FILES:
        (tmp_path / "oww").mkdir(exist_ok=True)
        (tmp_path / "oww" / name).write_bytes(b"not a model")
    assert ec.main(["bench", "--models", str(tmp_path), "--encoder", "oww", "--runs", "1", "--seconds", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "onnxruntime cannot load it" in err[0]
