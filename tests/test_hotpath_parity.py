"""Parity of the hot path's faster code with straightforward references (docs/performance.md, 2026-12-05):
each optimised function must give what the plain formula gives, on synthetic audio."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import speech_like
from scipy.fft import dct

from voxwatch.bench.workload import conversation
from voxwatch.pipeline import channel
from voxwatch.pipeline.channel import TELEPHONE_BAND_DB, high_band_db, in_telephone_band
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.stages.filter import features as filter_features
from voxwatch.pipeline.stages.filter.features import (
    CEPSTRAL_KINDS,
    FEATURE_KINDS,
    FeatureSettings,
    _filterbank,
    _lifter,
    frame_features,
)
from voxwatch.pipeline.stages.verifier.features import VerifierFeatureSettings, verifier_audio
from voxwatch.pipeline.utterance_audio import UtteranceAudio
from voxwatch.pipeline.windower import tile_to_length
from voxwatch.voices.check import check, match
from voxwatch.voices.cohort import Cohort
from voxwatch.voices.voiceprint import EncoderId, Thresholds, Voiceprint


def _reference_span(keep: UtteranceAudio, start: int, end: int) -> np.ndarray:
    """The span as an index array of every sample around the circle (the first implementation)."""
    start = max(start, end - keep.keep, keep._end - keep.capacity)
    end = min(end, keep._end)
    if end <= start:
        return np.zeros(0, np.float32)
    return keep._buf[np.arange(start, end) % keep.capacity]


def test_utterance_audio_span_equals_the_index_array_reference():
    rng = np.random.default_rng(7)
    keep = UtteranceAudio(1.0)  # 1 s kept + the margin: a few passes around the circle below
    position = 0
    for _ in range(400):
        position += int(rng.integers(0, 3000)) if rng.random() < 0.1 else 0  # gaps now and then
        block = rng.standard_normal(int(rng.integers(1, 9000))).astype(np.float32)
        keep.append(position, block)
        position += len(block)
        for _ in range(3):
            end = position - int(rng.integers(0, 20000))
            start = end - int(rng.integers(0, 40000))
            got = keep.span(start, end)
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, _reference_span(keep, start, end))
    # the span is a copy: later audio does not change what was handed out
    got = keep.span(position - 1000, position)
    before = got.copy()
    keep.append(position, np.zeros(keep.capacity, np.float32))
    np.testing.assert_array_equal(got, before)


# ---- filter features: frames through the FFT in blocks -----------------------------------------------------------

def _reference_frame_features(audio: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """``frame_features`` with the whole signal's frames through the FFT at once, the dense filterbank and
    python-speech-features' order of operations (the implementation before blocks)."""
    x = np.asarray(audio, np.float64)
    if settings.preemph:
        x = np.append(x[0], x[1:] - settings.preemph * x[:-1])
    n = settings.n_frames(len(x))
    idx = np.arange(settings.frame_len)[None, :] + settings.frame_step * np.arange(n)[:, None]
    frames = x[idx] * np.hamming(settings.frame_len)
    pspec = np.abs(np.fft.rfft(frames, settings.nfft, axis=1)) ** 2 / settings.nfft
    fbank = pspec @ _filterbank(settings)
    eps = np.finfo(float).eps
    if settings.kind not in CEPSTRAL_KINDS:
        return np.maximum(np.log(np.maximum(fbank, max(eps, np.exp(settings.log_floor)))),
                          settings.log_floor).astype(np.float32)
    feat = dct(np.log(np.where(fbank == 0, eps, fbank)), type=2, axis=1, norm="ortho")[:, : settings.numcep]
    feat *= _lifter(settings.numcep, settings.ceplifter)
    energy = pspec.sum(axis=1)
    feat[:, 0] = np.log(np.where(energy == 0, eps, energy))
    return np.maximum(feat, settings.log_floor).astype(np.float32)


@pytest.mark.parametrize("kind", FEATURE_KINDS)
@pytest.mark.parametrize("seconds", [0.05, 0.66, 1.30, 1.31, 2.0, 8.0])  # one block (up to 128 frames) or several
def test_frame_features_in_blocks_equal_the_whole_signal_at_once(kind, seconds):
    for settings in (FeatureSettings(kind=kind), FeatureSettings(kind=kind, nfilt=128, preemph=0.97)):
        audio = speech_like(seconds, seed=3)
        got = frame_features(audio, settings)
        want = _reference_frame_features(audio, settings)
        assert got.shape == want.shape == (settings.n_frames(len(audio)), settings.n_features)
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-5)


def test_frame_features_do_not_depend_on_the_block_size(monkeypatch):
    """Rows are independent: the features of any block size are bit-identical to those of one block."""
    audio = speech_like(3.0, seed=4)
    for settings in (FeatureSettings(), FeatureSettings(kind="mfcc", nfilt=40)):
        blocks = frame_features(audio, settings)
        monkeypatch.setattr(filter_features, "_BLOCK_FRAMES", 10_000)
        whole = frame_features(audio, settings)
        monkeypatch.undo()
        np.testing.assert_array_equal(blocks, whole)


def test_verifier_audio_of_float32_int16_and_float64_audio():
    settings = VerifierFeatureSettings()
    audio = speech_like(9.0, seed=5)
    want = audio[-settings.max_samples :]
    np.testing.assert_array_equal(verifier_audio(audio, settings), want)
    np.testing.assert_array_equal(verifier_audio(audio.astype(np.float64), settings), want)
    pcm = (audio * 32767).astype(np.int16)
    np.testing.assert_array_equal(verifier_audio(pcm, settings),
                                  (pcm.astype(np.float64) / 32768.0).astype(np.float32)[-settings.max_samples :])
    short = speech_like(0.5, seed=6)
    np.testing.assert_array_equal(verifier_audio(short, settings), tile_to_length(short, settings.min_samples))
    with pytest.raises(ValueError):
        verifier_audio(np.zeros((2, 100), np.float32), settings)


# ---- the telephone band measure: scipy's float32 FFT ---------------------------------------------------------------

def _reference_high_band_db(audio: np.ndarray) -> float:
    """``high_band_db`` with numpy's FFT (the first implementation)."""
    frames = len(audio) // channel._FRAME
    if frames == 0:
        return 0.0
    x = audio[: frames * channel._FRAME].reshape(frames, channel._FRAME) * channel._WINDOW
    spectra = np.abs(np.fft.rfft(x, axis=1)) ** 2
    energy = spectra.sum(axis=1)
    power = spectra[energy >= np.median(energy)].sum(axis=0)
    low = float(power[channel._LOW].sum())
    if low <= 0.0:
        return 0.0
    return float(10.0 * np.log10(max(float(power[channel._HIGH].sum()), low * 1e-12) / low))


def _band_limited(audio: np.ndarray, high: float) -> np.ndarray:
    spectrum = np.fft.rfft(audio)
    spectrum[np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE) > high] = 0
    return np.fft.irfft(spectrum, len(audio)).astype(np.float32)


def test_telephone_band_measure_equals_the_numpy_reference():
    rng = np.random.default_rng(8)
    signals = [speech_like(rng.uniform(0.5, 8.0), level=rng.uniform(0.01, 0.5), seed=i, f0=rng.uniform(90, 240))
               for i in range(12)]
    signals += [conversation(6.0, seed=2), (0.1 * rng.standard_normal(40_000)).astype(np.float32)]
    # high bands from far under the threshold to over it: each cut-off leaves a different share above 4 kHz
    signals += [_band_limited((0.1 * rng.standard_normal(40_000)).astype(np.float32), cut)
                for cut in (3400.0, 4100.0, 4200.0, 4400.0, 5000.0)]
    line = _band_limited((0.1 * rng.standard_normal(40_000)).astype(np.float32), 3400.0)
    signals += [line + (level * rng.standard_normal(40_000)).astype(np.float32)  # -40 to -20 dB: around the threshold
                for level in (0.001, 0.0025, 0.0028, 0.003, 0.0035, 0.01)]
    signals += [np.zeros(SAMPLE_RATE, np.float32), np.ones(100, np.float32)]
    for audio in signals:
        for x in (audio, audio.astype(np.float64)):
            got, want = high_band_db(x), _reference_high_band_db(x)
            # within float32 rounding wherever the decision could turn on it; only the float32 noise floor of
            # band-limited audio (-100 dB and under) differs more, far from the -30 dB threshold
            assert abs(got - want) < (1e-4 if want > -60.0 else 0.1), (got, want)
            assert in_telephone_band(x) == (want < TELEPHONE_BAND_DB)


# ---- clone watch: the utterance's S-norm statistics once per check ------------------------------------------------

def _unit_rows(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_check_against_many_voices_equals_each_voice_matched_on_its_own():
    rng = np.random.default_rng(9)
    cohort = Cohort(_unit_rows(rng, 60), top_k=10, encoder_sha256="ab" * 32)
    encoder = EncoderId("enc", "ab" * 32, "f" * 16)
    voiceprints = [Voiceprint(f"v{i}", encoder, {"clean": _unit_rows(rng, 3), "gsm": _unit_rows(rng, 2)},
                              Thresholds(claim=-1.0, genuine=float(rng.uniform(0.0, 2.0)), scale=0.5),
                              scoring={"method": "snorm", "top_k": top_k, "cohort_sha256": "x"})
                   for i, top_k in enumerate((5, 5, 8, 3, 5, 8))]
    voiceprints.append(Voiceprint("plain", encoder, {"clean": _unit_rows(rng, 3)},
                                  Thresholds(claim=0.2, genuine=0.7, scale=0.1)))  # cosine scoring beside them
    for probe in _unit_rows(rng, 20):
        each = [match(probe, v, cohort) for v in voiceprints]  # every voice's own statistics of the utterance
        assert check(probe, voiceprints, cohort=cohort) == max(each, key=lambda m: m.similarity)
        for v, alone in zip(voiceprints, each, strict=True):
            assert check(probe, voiceprints, expect=v.name, cohort=cohort) == alone


# ---- end to end: the shipped verifier's answers --------------------------------------------------------------------

def test_the_shipped_verifiers_answers_equal_those_of_the_reference_functions(monkeypatch):
    """``OnnxVerifier.judge`` (features in blocks, float32 audio as it is, scipy's FFT for the band) against the
    same verifier with the reference feature and band functions above: same scores and same channel."""
    from voxwatch.models import DEFAULT_VERIFIER
    from voxwatch.pipeline.stages.verifier import features as verifier_features
    from voxwatch.pipeline.stages.verifier import session as verifier_session
    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier

    verifier = OnnxVerifier(DEFAULT_VERIFIER)
    rng = np.random.default_rng(10)
    clips = [speech_like(seconds, level=rng.uniform(0.02, 0.5), seed=i, f0=rng.uniform(90, 240))
             for i, seconds in enumerate((0.7, 1.9, 2.0, 3.3, 5.1, 8.0, 9.4))]
    clips.append(conversation(7.0, seed=3))
    clips.append(_band_limited(speech_like(4.0, seed=11), 3400.0))  # the telephone band
    answers = [verifier.judge(clip) for clip in clips]

    def reference_features(audio: np.ndarray, settings: FeatureSettings) -> np.ndarray:
        return filter_features.normalize(_reference_frame_features(audio, settings), settings)

    monkeypatch.setattr(verifier_features, "features", reference_features)
    monkeypatch.setattr(verifier_session, "in_telephone_band",
                        lambda audio: _reference_high_band_db(audio) < TELEPHONE_BAND_DB)
    for clip, (score, telephone) in zip(clips, answers, strict=True):
        want_score, want_telephone = verifier.judge(clip)
        assert score == pytest.approx(want_score, abs=1e-6) and telephone == want_telephone
    assert any(t for _, t in answers) and not all(t for _, t in answers)


def test_the_voiceprints_side_kept_across_checks_gives_the_same_matches():
    """``VoiceChecker`` keeps each voiceprint channel's centroid and cohort statistics across checks (``enrolled``);
    a check with them equals one without, on the first check and on later ones, and an entry left by another
    voiceprint object (an id reused once the first is gone) is never taken for this one."""
    rng = np.random.default_rng(10)
    cohort = Cohort(_unit_rows(rng, 60), top_k=10, encoder_sha256="ab" * 32, sha256="c" * 64)
    encoder = EncoderId("enc", "ab" * 32, "f" * 16)
    voiceprints = [Voiceprint(f"v{i}", encoder, {"clean": _unit_rows(rng, 3), "ulaw": _unit_rows(rng, 2)},
                              Thresholds(claim=-1.0, genuine=float(rng.uniform(0.0, 2.0)), scale=0.5),
                              scoring={"method": "snorm", "top_k": top_k, "cohort_sha256": "x"})
                   for i, top_k in enumerate((5, 8, 3))]
    enrolled: dict = {}
    for probe in _unit_rows(rng, 10):
        assert check(probe, voiceprints, cohort=cohort, enrolled=enrolled) == check(probe, voiceprints, cohort=cohort)
        for v in voiceprints:
            assert check(probe, voiceprints, v.name, cohort, enrolled) == check(probe, voiceprints, v.name, cohort)
    assert len(enrolled) == 2 * len(voiceprints)  # one entry per voiceprint channel, filled once
    gone = Voiceprint("gone", encoder, {"clean": _unit_rows(rng, 2)}, Thresholds(claim=-1.0, genuine=1.0, scale=0.5))
    stale = {key: (gone, np.zeros(16, np.float32), (0.0, 1.0)) for key in enrolled}  # same ids, another object
    probe = _unit_rows(rng, 1)[0]
    assert check(probe, voiceprints, cohort=cohort, enrolled=stale) == check(probe, voiceprints, cohort=cohort)
