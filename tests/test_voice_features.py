"""The speaker encoder's numpy front end (voxwatch.pipeline.stages.voice.features) against formulas that do not
share its code: the Slaney mel scale, the filters' areas, the power a white noise must have, the reference's
partial slicing, volume normalisation and silence trimming. The comparison with librosa on real clips is in
lab/notes/voice-encoder.md (``python -m lab.voice_encoder compare``)."""

from __future__ import annotations

import numpy as np
import pytest

from voxwatch.pipeline.stages.voice.features import (
    VoiceFeatureSettings,
    _hz_to_mel,
    _mel_to_hz,
    mel_filters,
    mel_spectrogram,
    normalize_volume,
    partial_slices,
    partials,
    preprocess,
)

S = VoiceFeatureSettings()


def test_slaney_mel_scale_known_points():
    assert _hz_to_mel(np.array([0.0, 500.0, 1000.0, 6400.0])) == pytest.approx([0.0, 7.5, 15.0, 42.0])
    hz = np.linspace(0, 8000, 50)
    assert _mel_to_hz(_hz_to_mel(hz)) == pytest.approx(hz, abs=1e-6)


def test_mel_filters_are_ordered_unit_area_triangles():
    w = mel_filters(16000, 400, 40).astype(np.float64)
    assert w.shape == (40, 201) and (w >= 0).all()
    peaks = w.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all() and peaks[-1] > 150
    df = 16000 / 400
    areas = w.sum(axis=1) * df  # Slaney normalisation: each triangle has unit area in Hz
    assert areas[10:] == pytest.approx(1.0, rel=0.05)


def test_mel_spectrogram_frames_and_white_noise_power():
    rng = np.random.default_rng(0)
    sigma = 0.1
    noise = (sigma * rng.standard_normal(16000 * 20)).astype(np.float32)
    mel = mel_spectrogram(noise, S)
    assert mel.shape == (1 + len(noise) // 160, 40) and mel.dtype == np.float32
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
    expected = mel_filters(16000, 400, 40).astype(np.float64).sum(axis=1) * sigma**2 * np.sum(window**2)
    measured = mel[5:-5].mean(axis=0)  # away from the zero-padded ends
    assert measured == pytest.approx(expected, rel=0.1)


def test_a_tone_lights_the_channel_around_its_frequency():
    t = np.arange(16000) / 16000
    mel = mel_spectrogram((0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), S)
    centres = _mel_to_hz(np.linspace(0, _hz_to_mel(8000.0), 42))[1:-1]
    assert abs(centres[mel[50].argmax()] - 1000) < 150


@pytest.mark.parametrize(("seconds", "starts"), [(1.0, [0]), (3.0, [0, 77, 154]), (0.2, [0])])
def test_partial_slices_follow_the_reference(seconds, starts):
    slices = partial_slices(int(seconds * 16000), S)
    assert [s.start for s in slices] == starts
    assert all(s.stop - s.start == 160 for s in slices)


def test_partials_shape():
    audio = (0.1 * np.random.default_rng(1).standard_normal(16000 * 3)).astype(np.float32)
    assert partials(audio, S).shape == (3, 160, 40)


def test_volume_is_raised_to_minus_30_dbfs_never_lowered():
    quiet = (0.001 * np.random.default_rng(2).standard_normal(16000)).astype(np.float32)
    raised = normalize_volume(quiet, -30.0)
    dbfs = 20 * np.log10(np.sqrt(np.mean((raised * 32767.0) ** 2)) / 32767)
    assert dbfs == pytest.approx(-30.0, abs=0.01)
    loud = (0.3 * np.random.default_rng(3).standard_normal(16000)).astype(np.float32)
    assert np.array_equal(normalize_volume(loud, -30.0), loud)


def test_long_silences_are_trimmed():
    from helpers import silence, speech_like

    audio = np.concatenate([speech_like(2.0, 0.2, seed=5), silence(3.0, level=0.0), speech_like(2.0, 0.2, seed=6)])
    speech = preprocess(audio.astype(np.float32), S)
    assert 3.9 * 16000 < len(speech) < 5.5 * 16000  # the speech stays, most of the 3 s pause goes
    assert len(preprocess(np.zeros(100, np.float32), S)) == 100  # shorter than one VAD window: kept whole
