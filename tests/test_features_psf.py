"""The vectorised feature path equals python-speech-features' own ``fbank``/``mfcc`` (the reference semantics).

python-speech-features is called with ``winfunc=numpy.hamming`` and the same parameters; it zero-pads a last
partial frame, so only its first ``n`` complete frames are compared. Our log floor is set far below any value
here (``log_floor=-1000``) so that the comparison sees the raw logs, and normalisation is off; a separate test
checks the default settings (floor + per-window mean normalisation) against the same reference.
"""

import numpy as np
import pytest
from helpers import speech_like
from python_speech_features import fbank, mfcc

from voxwatch.pipeline.samplerate import SAMPLE_RATE as SR
from voxwatch.pipeline.stages.filter.features import FeatureSettings, features, frame_features


def _signal(seconds: float = 1.3, seed: int = 3) -> np.ndarray:
    """Speech-like audio with a stretch of exact digital silence (where psf's eps floor matters) and noise."""
    rng = np.random.default_rng(seed)
    x = speech_like(seconds, level=0.4, seed=seed).astype(np.float64)
    x[4000:5200] = 0.0
    x[9000:9400] += rng.standard_normal(400) * 0.1
    return x


def _raw(**kw) -> FeatureSettings:
    return FeatureSettings(log_floor=-1000.0, normalize="none", **kw)


def _psf_logfbank(x: np.ndarray, s: FeatureSettings) -> np.ndarray:
    feat, _energy = fbank(x, samplerate=s.sample_rate, winlen=s.winlen, winstep=s.winstep, nfilt=s.nfilt,
                          nfft=s.nfft, lowfreq=s.lowfreq, highfreq=s.highfreq or None, preemph=s.preemph,
                          winfunc=np.hamming)
    return np.log(feat)[: s.n_frames(len(x))]


def _psf_mfcc(x: np.ndarray, s: FeatureSettings) -> np.ndarray:
    out = mfcc(x, samplerate=s.sample_rate, winlen=s.winlen, winstep=s.winstep, numcep=s.numcep, nfilt=s.nfilt,
               nfft=s.nfft, lowfreq=s.lowfreq, highfreq=s.highfreq or None, preemph=s.preemph,
               ceplifter=s.ceplifter, appendEnergy=True, winfunc=np.hamming)
    return out[: s.n_frames(len(x))]


LOGFBANK_CASES = [
    {},  # the model card's settings (apart from floor/normalisation)
    {"nfilt": 26},
    {"preemph": 0.97},
    {"lowfreq": 100.0, "highfreq": 7000.0},
    {"winlen": 0.032, "winstep": 0.016, "nfft": 1024, "nfilt": 64},
]


@pytest.mark.parametrize("kw", LOGFBANK_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "card")
def test_logfbank_matches_python_speech_features(kw):
    s = _raw(kind="logfbank", **kw)
    x = _signal()
    ours = frame_features(x, s)
    ref = _psf_logfbank(x, s)
    assert ours.shape == ref.shape and ours.shape[0] == s.n_frames(len(x))
    assert np.isclose(ref.min(), np.log(np.finfo(float).eps))  # the silent stretch hits psf's eps floor
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-5)


MFCC_CASES = [
    {"numcep": 13, "nfilt": 26},
    {"numcep": 20, "nfilt": 40},
    {"numcep": 13, "nfilt": 26, "preemph": 0.97, "ceplifter": 0},
]


@pytest.mark.parametrize("kw", MFCC_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_mfcc_matches_python_speech_features(kw):
    s = _raw(kind="mfcc", **kw)
    x = _signal(seed=5)
    ours = frame_features(x, s)
    ref = _psf_mfcc(x, s)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-5)


def test_int16_input_matches_psf_on_the_scaled_signal():
    s = _raw(kind="logfbank")
    pcm = (_signal(seed=7) * 32767).astype(np.int16)
    np.testing.assert_allclose(frame_features(pcm, s), _psf_logfbank(pcm / 32768.0, s), rtol=1e-6, atol=1e-5)


def test_default_settings_are_floored_and_mean_normalised_psf_logs():
    s = FeatureSettings(kind="logfbank", nfilt=40)  # log_floor -20, cmn: the defaults of the Mel feature
    x = _signal(2.0, seed=11)
    ref = np.maximum(_psf_logfbank(x, s), s.log_floor)
    ref = ref - ref.mean(axis=0, keepdims=True)
    np.testing.assert_allclose(features(x, s), ref, rtol=1e-6, atol=3e-5)


def test_a_wrong_reference_is_detected():
    """The comparison is sharp: a Hann window instead of Hamming (a plausible slip) is far outside tolerance."""
    s = _raw()
    x = _signal()
    feat, _ = fbank(x, samplerate=SR, nfilt=s.nfilt, nfft=s.nfft, preemph=0, winfunc=np.hanning)
    wrong = np.log(feat)[: s.n_frames(len(x))]
    assert np.abs(frame_features(x, s) - wrong).max() > 1e-2
