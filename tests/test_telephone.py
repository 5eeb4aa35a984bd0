"""The telephone channel through real codecs (ffmpeg): length, rate, band, reproducibility, packet loss, errors."""

import csv
import shutil

import numpy as np
import pytest
from helpers import SR, speech_like, write_wav

from voxwatch.training import telephone as tel
from voxwatch.training.augment import AugmentSettings, augment

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


def _band_energy(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(np.asarray(x, np.float64))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(spec[(f >= lo) & (f < hi)].sum())


def _tones(seconds: float, freqs: tuple[float, ...], level: float = 0.1) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return sum(level * np.sin(2 * np.pi * f * t) for f in freqs).astype(np.float32)


@needs_ffmpeg
@pytest.mark.parametrize("codec", tel.CHAIN_NAMES)
def test_each_codec_chain_round_trips_speech_at_the_same_length_and_rate(codec):
    if codec not in tel.available_chains():
        pytest.skip(f"this ffmpeg has no {codec} encoder")
    x = speech_like(1.37, seed=3)  # not a whole number of codec frames
    for variant in range(len(tel._chain(codec).variants)):
        y = tel.codec_round_trip(tel.band_filter(x), codec, variant)
        assert y.dtype == np.float32 and y.shape == x.shape
        assert np.sqrt(np.mean(y**2)) > 0.1 * np.sqrt(np.mean(x**2))  # speech came through
        assert not np.allclose(y, x, atol=1e-3)  # and was coded


@needs_ffmpeg
def test_the_call_keeps_the_telephone_band_only():
    """Energy above 3.4 kHz gone, below 300 Hz attenuated, the band itself kept (through G.711, which adds only
    quantisation noise, so the filter is what is measured)."""
    x = _tones(1.0, (100.0, 1000.0, 4500.0, 6000.0))
    y = tel.codec_round_trip(tel.band_filter(x), "ulaw")[SR // 10 :]  # past the filter's onset
    x = x[SR // 10 :]
    assert _band_energy(y, 3400, 8000) < 1e-3 * _band_energy(x, 3400, 8000)
    assert _band_energy(y, 50, 150) < 0.05 * _band_energy(x, 50, 150)
    assert _band_energy(y, 900, 1100) > 0.5 * _band_energy(x, 900, 1100)


@needs_ffmpeg
def test_a_call_is_reproducible_from_its_generator_and_differs_between_seeds():
    x = speech_like(1.2, seed=5)
    a = tel.telephone(x, np.random.default_rng(7))
    b = tel.telephone(x, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    calls = {tuple(tel.draw_call(np.random.default_rng(s)).items()) for s in range(12)}
    assert len(calls) > 1


def test_packet_loss_zeroes_or_repeats_whole_20ms_frames():
    x = np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    size = SR // 50
    y, lost = tel.packet_loss(x, 0.2, np.random.default_rng(1), "zero")
    assert len(lost) > 0 and y.shape == x.shape
    for k in lost:
        assert not y[k * size : (k + 1) * size].any()
    kept = np.setdiff1d(np.arange(len(x) // size), lost)
    np.testing.assert_array_equal(y[kept[0] * size : (kept[0] + 1) * size], x[kept[0] * size : (kept[0] + 1) * size])
    z, lost = tel.packet_loss(x, 0.2, np.random.default_rng(1), "repeat")
    for k in lost[lost > 0]:
        np.testing.assert_array_equal(z[k * size : (k + 1) * size], z[(k - 1) * size : k * size])
    with pytest.raises(tel.TelephoneError):
        tel.packet_loss(x, 0.1, np.random.default_rng(1), "smear")


def test_missing_ffmpeg_is_one_error_line(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(tel.TelephoneError) as info:
        tel.telephone(speech_like(0.5), np.random.default_rng(0))
    assert "ffmpeg not found" in str(info.value) and "\n" not in str(info.value)
    assert tel.main(["codecs"]) == 2


@needs_ffmpeg
def test_augment_uses_the_telephone_only_when_asked_and_stays_reproducible():
    x = speech_like(1.5, seed=2)
    plain = dict(p_bandlimit=0, p_noise=0, p_reverb=0, gain_db=(0.0, 0.0))
    np.testing.assert_allclose(augment(x, np.random.default_rng(0), AugmentSettings(**plain)), x, atol=1e-6)
    phone = AugmentSettings(**plain, p_telephone=1.0)
    a = augment(x, np.random.default_rng(4), phone)
    assert a.shape == x.shape and not np.allclose(a, x, atol=1e-3)
    assert _band_energy(a, 4000, 8000) < 1e-2 * _band_energy(x, 4000, 8000)  # packet-loss edges leak a little
    np.testing.assert_array_equal(a, augment(x, np.random.default_rng(4), phone))


@needs_ffmpeg
def test_copies_of_a_set_keep_labels_speakers_and_splits_with_the_codec_in_the_source(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rows = ["path,label,source,speaker,split,duration_s,license"]
    for i, (label, split) in enumerate((("bonafide", "dev"), ("spoof", "dev"), ("bonafide", "train"))):
        write_wav(src / f"c{i}.wav", speech_like(1.0, seed=i))
        rows.append(f"c{i}.wav,{label},s{i},p{i},{split},1.0,CC0")
    (src / "manifest.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    assert tel.main(["copy", str(src), str(out), "--codec", "ulaw,gsm", "--split", "dev", "--each"]) == 0
    with open(out / "manifest.csv", newline="") as handle:
        got = list(csv.DictReader(handle))
    assert sorted(r["source"] for r in got) == ["s0+gsm", "s0+ulaw", "s1+gsm", "s1+ulaw"]
    assert {r["split"] for r in got} == {"dev"} and {r["label"] for r in got} == {"real", "fake"}
    assert all(r["license"].startswith("CC0; through ") for r in got)
    from voxwatch.pipeline.sources import load_audio

    assert all(len(load_audio(out / r["path"])) == SR for r in got)


def test_the_train_option_reaches_the_augment_settings(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    import voxwatch.training.train as training
    from voxwatch.cli import main

    data = tmp_path / "set"
    data.mkdir()
    write_wav(data / "a.wav", speech_like(1.0))
    (data / "manifest.csv").write_text("path,label,source,speaker,split\na.wav,bonafide,s,p,train\n")
    seen = {}

    def fake_train(clips, out, extract_settings, settings, **kwargs):
        seen["augment"] = extract_settings.augment
        return {"dev": {"eer": 0.0, "auc": 1.0}, "best_epoch": 1, "checkpoint": out / "best.pt"}

    monkeypatch.setattr(training, "train", fake_train)
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/ffmpeg")
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "--telephone", "0.3"]) == 0
    assert seen["augment"].p_telephone == 0.3
