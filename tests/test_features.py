import json

import numpy as np
import pytest
from helpers import speech_like

from voxwatch.errors import ConfigError, ModelError
from voxwatch.models import default_model_path
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.stages.filter.card import ModelCard
from voxwatch.pipeline.stages.filter.features import FeatureSettings, features, frame_features, normalize


def test_shape_counts_only_complete_frames():
    s = FeatureSettings(kind="logfbank", nfilt=40)
    out = features(speech_like(2.0), s)
    assert out.shape == (198, 40)  # 1 + (32000 - 400) // 160
    assert out.dtype == np.float32
    assert features(np.zeros(399, np.float32), s).shape == (0, 40)
    assert s.n_frames(400) == 1


def test_mfcc_shape_and_int16_equals_float():
    s = FeatureSettings(kind="mfcc", numcep=13)
    x = speech_like(1.0)
    pcm = (x * 32768).astype(np.int16)
    assert features(x, s).shape == (98, 13)
    np.testing.assert_allclose(features(pcm, s), features(pcm.astype(np.float64) / 32768, s), atol=1e-5)


def test_cmvn_removes_gain():
    s = FeatureSettings(log_floor=-60.0)  # keep the floor out of the way of the quiet copy
    x = speech_like(2.0, level=0.3)
    np.testing.assert_allclose(features(x, s), features(x * 0.05, s), atol=2e-3)
    out = features(x, s)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-4)
    # without normalisation the level shows
    raw = FeatureSettings(normalize="none")
    assert features(x, raw).mean() - features(x * 0.05, raw).mean() > 5


def test_log_floor_hides_digital_silence():
    s = FeatureSettings(normalize="none", log_floor=-20.0)
    assert frame_features(np.zeros(1600, np.float32), s).min() == pytest.approx(-20.0)


def test_normalize_modes():
    rows = np.random.default_rng(0).normal(3, 2, size=(100, 5)).astype(np.float32)
    assert np.allclose(normalize(rows, FeatureSettings(normalize="cmn")).mean(0), 0, atol=1e-5)
    assert np.allclose(normalize(rows, FeatureSettings(normalize="cmvn")).std(0), 1, atol=1e-3)
    assert np.array_equal(normalize(rows, FeatureSettings(normalize="none")), rows)


def test_digest_is_stable_and_sensitive():
    a, b = FeatureSettings(), FeatureSettings()
    assert a.digest() == b.digest() and hash(a) == hash(b)
    assert FeatureSettings(nfilt=26).digest() != a.digest()
    assert FeatureSettings.from_dict(a.to_dict()) == a


@pytest.mark.parametrize("bad", [{"kind": "spectrogram"}, {"normalize": "l2"}, {"nfft": 256},
                                 {"kind": "mfcc", "nfilt": 40, "numcep": 41}, {"preemph": 1.5}])
def test_invalid_settings_rejected(bad):
    with pytest.raises(ConfigError):
        FeatureSettings(**bad)


@pytest.mark.parametrize("rate", [8000, 22050, 48000])
def test_sample_rate_is_the_one_rate_inside_voxwatch(rate):
    """Every source resamples to SAMPLE_RATE, so features at another rate would describe audio nobody feeds."""
    with pytest.raises(ConfigError, match=f"sample_rate must be {SAMPLE_RATE}"):
        FeatureSettings(sample_rate=rate)
    with pytest.raises(ConfigError, match="sample_rate"):
        FeatureSettings.from_dict({**FeatureSettings().to_dict(), "sample_rate": rate})


def test_the_bundled_model_cards_keep_their_feature_hash():
    """sample_rate stays a recorded field, so cards written before it was pinned keep their hashes."""
    for name in ("default.json", "default-int8.json"):
        data = json.loads(default_model_path().with_name(name).read_text())
        assert data["features"]["sample_rate"] == SAMPLE_RATE
        assert ModelCard.from_dict(data).feature_hash == data["feature_hash"]


def test_a_card_at_another_sample_rate_is_a_model_error_naming_the_card():
    data = json.loads(default_model_path().with_name("default.json").read_text())
    data["features"]["sample_rate"] = 8000
    del data["feature_hash"]
    with pytest.raises(ModelError, match="old.json: features.sample_rate must be 16000"):
        ModelCard.from_dict(data, source="old.json")


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="unknown"):
        FeatureSettings.from_dict({"kind": "mfcc", "bogus": 1})


def _tone(freq_hz: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.3 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


@pytest.mark.parametrize("freq_hz", [500.0, 3000.0, 6000.0, 7500.0])
def test_linear_filterbank_puts_a_tone_in_the_filter_at_its_frequency(freq_hz):
    s = FeatureSettings(kind="linfbank", nfilt=60, normalize="none")
    rows = frame_features(_tone(freq_hz), s)
    assert rows.shape[1] == 60
    centers = np.linspace(0, 8000, 62)[1:-1]  # equally spaced in Hz, unlike Mel centres
    assert abs(centers[int(rows.mean(axis=0).argmax())] - freq_hz) < 8000 / 61 + 1


def test_linear_scale_spends_half_its_filters_above_4khz_where_mel_spends_few():
    def filters_above_4k(kind: str) -> int:
        s = FeatureSettings(kind=kind, nfilt=40, normalize="none")
        responses = [frame_features(_tone(f, 0.1), s).mean(axis=0).argmax() for f in np.arange(4100, 8000, 50)]
        return len(set(responses))

    assert filters_above_4k("linfbank") >= 18
    assert filters_above_4k("logfbank") <= 12


def test_lfcc_shape_and_digest_differs_from_mfcc():
    lfcc, mfcc = FeatureSettings(kind="lfcc", nfilt=60, numcep=20), FeatureSettings(kind="mfcc", nfilt=60, numcep=20)
    assert features(speech_like(1.0), lfcc).shape == (98, 20)
    assert lfcc.digest() != mfcc.digest()
    assert not np.allclose(features(speech_like(1.0), lfcc), features(speech_like(1.0), mfcc))
