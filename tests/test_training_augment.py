"""Augmentation and clip windowing (numpy only, no torch): the rules training and eval rely on."""

import numpy as np
import pytest
from helpers import SR, silence, speech_like

from voxwatch.pipeline.windower import WindowSettings
from voxwatch.training.augment import (
    AugmentSettings,
    add_noise,
    apply_gain,
    augment,
    band_limit,
    change_speed,
    reverberate,
)
from voxwatch.training.windows import cut_windows, speech_span, trim


def _band_energy(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(spec[(f >= lo) & (f < hi)].sum())


def test_band_limit_removes_everything_above_4khz_and_keeps_the_rest():
    x = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    y = band_limit(x, 8000)
    assert len(y) == len(x) and y.dtype == np.float32
    assert _band_energy(y, 4200, 8000) < 1e-3 * _band_energy(x, 4200, 8000)
    assert _band_energy(y, 300, 3500) == pytest.approx(_band_energy(x, 300, 3500), rel=0.05)


def test_noise_is_added_at_the_requested_snr():
    x = speech_like(2.0)
    for snr in (5.0, 30.0):
        y = add_noise(x, snr, np.random.default_rng(1), "pink")
        noise = y - x
        measured = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(noise.astype(np.float64) ** 2))
        assert measured == pytest.approx(snr, abs=0.1)


def test_reverb_gain_and_speed_keep_shapes_and_ranges():
    x = speech_like(1.0)
    r = reverberate(x, 0.3, np.random.default_rng(2))
    assert len(r) == len(x) and np.abs(r).max() == pytest.approx(np.abs(x).max(), rel=1e-3)
    assert not np.allclose(r, x)
    assert np.abs(apply_gain(x, 40.0)).max() <= 1.0  # clipped, never beyond full scale
    assert len(change_speed(x, 1.1)) == pytest.approx(len(x) / 1.1, rel=0.01)
    assert len(change_speed(x, 1.0)) == len(x)


def test_augment_is_reproducible_from_its_generator():
    x = speech_like(1.5)
    s = AugmentSettings(p_speed=0.5)
    a = augment(x, np.random.default_rng([0, 7, 1]), s)
    b = augment(x, np.random.default_rng([0, 7, 1]), s)
    c = augment(x, np.random.default_rng([0, 7, 2]), s)
    assert np.array_equal(a, b)
    assert not (len(a) == len(c) and np.allclose(a, c))


def test_speech_span_trims_digital_silence_at_both_ends():
    speech = speech_like(2.0)
    clip = np.concatenate([np.zeros(SR, np.float32), speech, np.zeros(SR, np.float32)])
    start, end = speech_span(clip)
    assert abs(start - SR) < 0.15 * SR  # VAD onset within a few frames of the speech
    assert SR + len(speech) <= end <= SR + len(speech) + 0.15 * SR  # the end is where the silence starts
    assert len(trim(silence(0.02))) == int(0.02 * SR)  # too little to trim: kept whole


def test_cut_windows_follows_the_pipeline_windower():
    settings = WindowSettings()
    win = settings.window_samples
    x = np.arange(int(4.5 * SR), dtype=np.float32)
    windows = cut_windows(x, settings)
    # starts 0, 1, 2 s (full windows), then an end-aligned last one (2.5 s of speech after the last would go unscored)
    assert [int(w[0]) for w in windows] == [0, SR, 2 * SR, len(x) - win]
    short = cut_windows(np.arange(SR // 4, dtype=np.float32), settings)  # 0.25 s: tiled, never zero-padded
    assert len(short) == 1 and len(short[0]) == win
    assert short[0][SR // 4] == 0.0 and short[0][-1] == (win - 1) % (SR // 4)


@pytest.mark.parametrize("codec", ["ulaw", "alaw", "gsm"])
def test_telephone_codecs_keep_length_and_cut_everything_above_4khz(codec):
    from voxwatch.training.augment import codec_round_trip

    x = speech_like(1.5)
    y = codec_round_trip(x, codec)
    assert len(y) == len(x) and y.dtype == np.float32
    assert _band_energy(y, 4300, 8000) < 0.02 * _band_energy(x, 4300, 8000)
    assert _band_energy(y, 200, 3400) > 0.3 * _band_energy(x, 200, 3400)


@pytest.mark.parametrize("codec", ["mp3", "vorbis", "opus"])
def test_lossy_codecs_change_the_signal_but_keep_its_speech_band(codec):
    from voxwatch.training.augment import codec_round_trip

    x = speech_like(1.5)
    y = codec_round_trip(x, codec, 1.0)
    assert len(y) == len(x)
    assert not np.allclose(x, y, atol=1e-3)
    assert 0.3 < _band_energy(y, 200, 3400) / _band_energy(x, 200, 3400) < 3.0


def test_random_eq_and_rawboost_are_reproducible_and_keep_length():
    from voxwatch.training.augment import random_eq, rawboost

    x = speech_like(1.0)
    for fn in (random_eq, rawboost):
        a, b = fn(x, np.random.default_rng(3)), fn(x, np.random.default_rng(3))
        assert len(a) == len(x) and np.array_equal(a, b) and np.abs(a).max() <= 1.0
        assert not np.allclose(a, x, atol=1e-3)
    assert np.abs(rawboost(x, np.random.default_rng(4))).max() == pytest.approx(np.abs(x).max(), rel=1e-4)


def test_channel_effects_are_off_by_default_and_used_when_asked():
    x = speech_like(1.5)
    plain = AugmentSettings(p_bandlimit=0, p_noise=0, p_reverb=0, gain_db=(0.0, 0.0))
    np.testing.assert_allclose(augment(x, np.random.default_rng(0), plain), x, atol=1e-6)
    with_codec = AugmentSettings(p_bandlimit=0, p_noise=0, p_reverb=0, gain_db=(0.0, 0.0), p_codec=1.0)
    assert not np.allclose(augment(x, np.random.default_rng(0), with_codec), x, atol=1e-3)


def test_window_weights_balance_classes_and_damp_large_sources():
    from voxwatch.training.balance import window_weights

    labels = np.array([0] * 90 + [0] * 10 + [1] * 20)
    sources = np.array(["words"] * 90 + ["books"] * 10 + ["tts"] * 20)
    plain = window_weights(labels, sources, "class")
    assert plain.mean() == pytest.approx(1.0)
    assert plain[labels == 0].sum() == pytest.approx(plain[labels == 1].sum())
    assert plain[0] == plain[95]  # every real window alike
    by_source = window_weights(labels, sources, "source")
    assert by_source[labels == 0].sum() == pytest.approx(by_source[labels == 1].sum())
    words, books = by_source[:90].sum(), by_source[90:100].sum()
    assert words / books == pytest.approx(np.sqrt(90) / np.sqrt(10))  # 9x the windows, 3x the weight
