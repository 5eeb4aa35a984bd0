"""The one feature function of voxwatch, shared by the daemon and by training.

``features(audio, settings)`` returns a (frames, coefficients) float32 matrix with python-speech-features semantics
(log Mel filterbank or MFCC, or their linear-frequency twins ``linfbank`` / ``lfcc``; Hamming window,
``nfft``-point power spectrum scaled by 1/nfft), with three documented
differences, all chosen so that a window's features do not depend on audio outside it:

* only *complete* frames are returned (python-speech-features zero-pads a last partial frame);
* log values are floored at ``log_floor`` so that exact digital silence (common in TTS output, rare in recordings)
  cannot become a -36 "fingerprint";
* each window is normalised per coefficient (``cmvn``: mean and variance, ``cmn``: mean only), which removes gain
  and a fixed channel response, two shortcuts a detector should not learn.

The computation is split in two so that streams can compute each frame once and slice overlapping windows out of
the cached frame rows (``StreamFeatureBuffer``): ``frame_features`` (per frame, no context) and ``normalize``
(per window). ``features`` is simply both. ``tests/test_features.py`` checks the result against
python-speech-features itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from python_speech_features import get_filterbanks
from scipy import sparse
from scipy.fft import dct

from voxwatch.errors import ConfigError
from voxwatch.pipeline.samplerate import SAMPLE_RATE

FEATURE_KINDS = ("logfbank", "mfcc", "linfbank", "lfcc")
LINEAR_KINDS = ("linfbank", "lfcc")  # triangular filters equally spaced in Hz: as much detail above 4 kHz as below
CEPSTRAL_KINDS = ("mfcc", "lfcc")
NORMALIZATIONS = ("cmvn", "cmn", "none")


def check_fields(cls: type, data: dict[str, Any], what: str) -> None:
    """Refuse keys that are no field of the dataclass ``cls`` (settings from a newer voxwatch, a typo)."""
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ConfigError(f"unknown {what}: {', '.join(sorted(unknown))}")


def settings_digest(settings: dict[str, Any]) -> str:
    """A stable hash of settings as a dict (sha256 of canonical JSON, 16 hex digits): what a model card records
    as its ``feature_hash``."""
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FeatureSettings:
    """Everything that determines the feature matrix. A model records these; the daemon refuses a mismatch."""

    kind: str = "linfbank"  # chosen on dev over 40 Mel bands (lab/notes/experiments.md)
    # always SAMPLE_RATE: every source resamples to it; kept as a field so the model cards' hashes stay valid
    sample_rate: int = SAMPLE_RATE
    winlen: float = 0.025
    winstep: float = 0.010
    nfilt: int = 60
    numcep: int = 20
    nfft: int = 512
    lowfreq: float = 0.0
    highfreq: float = 0.0  # 0 means sample_rate / 2
    preemph: float = 0.0
    ceplifter: int = 22
    log_floor: float = -20.0
    normalize: str = "cmn"  # chosen on dev EER over "cmvn" (lab/notes/experiments.md)

    def __post_init__(self) -> None:
        if self.sample_rate != SAMPLE_RATE:
            raise ConfigError(f"features.sample_rate must be {SAMPLE_RATE}, the one rate inside voxwatch "
                              f"(audio at other rates is resampled to it), not {self.sample_rate}")
        if self.kind not in FEATURE_KINDS:
            raise ConfigError(f"features.kind must be one of {FEATURE_KINDS}, not {self.kind!r}")
        if self.normalize not in NORMALIZATIONS:
            raise ConfigError(f"features.normalize must be one of {NORMALIZATIONS}, not {self.normalize!r}")
        if self.frame_len > self.nfft:
            raise ConfigError(f"features.nfft ({self.nfft}) is shorter than a frame ({self.frame_len} samples)")
        if self.kind in CEPSTRAL_KINDS and not 0 < self.numcep <= self.nfilt:
            raise ConfigError("features.numcep must be between 1 and features.nfilt")
        if not 0.0 <= self.preemph < 1.0:
            raise ConfigError("features.preemph must be in [0, 1)")

    @property
    def frame_len(self) -> int:
        return int(round(self.winlen * self.sample_rate))

    @property
    def frame_step(self) -> int:
        return int(round(self.winstep * self.sample_rate))

    @property
    def n_features(self) -> int:
        return self.numcep if self.kind in CEPSTRAL_KINDS else self.nfilt

    def n_frames(self, n_samples: int) -> int:
        """Number of complete frames in ``n_samples`` samples (0 if shorter than one frame)."""
        if n_samples < self.frame_len:
            return 0
        return 1 + (n_samples - self.frame_len) // self.frame_step

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSettings:
        check_fields(cls, data, "feature settings")
        return cls(**data)

    def digest(self) -> str:
        """A stable hash of the settings, recorded in model cards (:func:`settings_digest`)."""
        return settings_digest(self.to_dict())


def linear_filterbanks(nfilt: int, nfft: int, samplerate: int, lowfreq: float, highfreq: float) -> np.ndarray:
    """Triangular filters with edges equally spaced in Hz, built like python-speech-features' Mel filters
    (same bin rounding, same triangle shape): (nfilt, nfft/2+1). Vocoder and TTS artefacts sit largely above
    4 kHz, where the Mel scale spends few filters; a linear scale spends as many there as anywhere else."""
    points = np.linspace(lowfreq, highfreq, nfilt + 2)
    bins = np.floor((nfft + 1) * points / samplerate).astype(int)
    fbank = np.zeros((nfilt, nfft // 2 + 1))
    for j in range(nfilt):
        lo, mid, hi = bins[j], bins[j + 1], bins[j + 2]
        if mid > lo:
            fbank[j, lo:mid] = (np.arange(lo, mid) - lo) / (mid - lo)
        if hi > mid:
            fbank[j, mid:hi] = (hi - np.arange(mid, hi)) / (hi - mid)
        if hi == lo:  # narrower than one bin: keep the band's energy rather than a dead filter
            fbank[j, min(mid, nfft // 2)] = 1.0
    return fbank


@lru_cache(maxsize=16)
def _filterbank(settings: FeatureSettings) -> np.ndarray:
    """The filterbank as (nfft/2+1, nfilt): python-speech-features' own Mel filters, or linear ones."""
    high = settings.highfreq or settings.sample_rate / 2
    make = linear_filterbanks if settings.kind in LINEAR_KINDS else get_filterbanks
    fb = make(settings.nfilt, settings.nfft, settings.sample_rate, settings.lowfreq, high)
    return np.ascontiguousarray(fb.T.astype(np.float64))


@lru_cache(maxsize=16)
def _sparse_filterbank(settings: FeatureSettings) -> sparse.csr_matrix:
    """The filterbank as a sparse (nfilt, nfft/2+1) matrix with the power spectrum's 1/nfft folded in.

    Each triangular filter covers a few FFT bins, so about 2 entries per bin are non-zero; the sparse product
    is ~3x cheaper than the dense one on the hot path (results equal to ~1e-15 relative).
    """
    return sparse.csr_matrix(_filterbank(settings).T / settings.nfft)


@lru_cache(maxsize=16)
def _window(frame_len: int) -> np.ndarray:
    return np.hamming(frame_len)


@lru_cache(maxsize=16)
def _lifter(numcep: int, ceplifter: int) -> np.ndarray:
    if ceplifter <= 0:
        return np.ones(numcep)
    n = np.arange(numcep)
    return 1 + (ceplifter / 2.0) * np.sin(np.pi * n / ceplifter)


def as_float_audio(audio: np.ndarray) -> np.ndarray:
    """int16 PCM -> float in [-1, 1); float input is returned as float64 unchanged."""
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"audio must be 1-D mono, got shape {audio.shape}")
    if audio.dtype == np.int16:
        return audio.astype(np.float64) / 32768.0
    return audio.astype(np.float64, copy=False)


_BLOCK_FRAMES = 64  # frames per FFT block: a block's buffers (~0.5 MB) stay in a core's L2 cache


def _band_energies(frames: np.ndarray, settings: FeatureSettings, energy: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Filterbank energies of every frame, (n, nfilt) float64, and with ``energy`` each frame's total power.

    Beyond ``2 * _BLOCK_FRAMES`` frames they go through the FFT in blocks of ``_BLOCK_FRAMES``: for seconds of
    audio (the verifier's 8 s) the padded frames and their spectra of the whole signal are larger than the L2
    cache, and every step after the FFT would read them back from memory. Each row's arithmetic is the same as
    for the whole matrix at once (rows are independent), so the result does not depend on the block size
    (``tests/test_hotpath_parity.py``).
    """
    n = len(frames)
    fbank = np.empty((n, settings.nfilt))
    total = np.empty(n) if energy else None
    window = _window(settings.frame_len)
    bank = _sparse_filterbank(settings)
    # frames windowed straight into a zero-padded buffer (what rfft(..., nfft) would build itself, one copy less);
    # the padding columns are never written, so they stay zero from block to block
    rows = n if n <= 2 * _BLOCK_FRAMES else _BLOCK_FRAMES  # the filter's calls (~1 s of frames) fit in one
    padded = np.zeros((rows, settings.nfft))
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        block = padded[: hi - lo]
        np.multiply(frames[lo:hi], window, out=block[:, : settings.frame_len])
        spec = np.fft.rfft(block, axis=1)
        squares = spec.view(np.float64)  # (re, im) pairs: |X|^2 = re^2 + im^2, squared in place
        np.multiply(squares, squares, out=squares)
        pspec = squares[:, 0::2] + squares[:, 1::2]  # |X|^2; the 1/nfft scale is folded into the filterbank
        fbank[lo:hi] = (bank @ pspec.T).T
        if total is not None:
            total[lo:hi] = pspec.sum(axis=1) / settings.nfft
    return fbank, total


def frame_features(audio: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """Un-normalised features of every complete frame of ``audio``: shape (n_frames, n_features), float32.

    Frame ``i`` covers samples ``[i*step, i*step + frame_len)``, so rows of a long signal can be sliced into
    windows that start on a frame boundary.
    """
    x = as_float_audio(audio)
    if settings.preemph:
        x = np.append(x[0], x[1:] - settings.preemph * x[:-1]) if len(x) else x
    n = settings.n_frames(len(x))
    if n == 0:
        return np.zeros((0, settings.n_features), dtype=np.float32)
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(n, settings.frame_len), strides=(x.strides[0] * settings.frame_step, x.strides[0]), writeable=False
    )
    cepstral = settings.kind in CEPSTRAL_KINDS
    fbank, energy = _band_energies(frames, settings, cepstral)
    eps = np.finfo(float).eps
    if not cepstral:
        # raising energies to max(eps, e^floor) before the log equals psf's "exact zero -> eps" followed by the
        # floor whenever the floor is above log(eps) = -36 (the default is -20); with a lower floor, energies in
        # (0, eps), which psf would keep, become eps too
        np.maximum(fbank, max(eps, float(np.exp(settings.log_floor))), out=fbank)
        return np.log(fbank, out=fbank).astype(np.float32, order="C")
    feat = np.log(np.where(fbank == 0, eps, fbank))
    feat = dct(feat, type=2, axis=1, norm="ortho")[:, : settings.numcep]
    feat = feat * _lifter(settings.numcep, settings.ceplifter)
    assert energy is not None  # computed for the cepstral kinds
    energy = np.where(energy == 0, eps, energy)
    feat[:, 0] = np.log(energy)
    np.maximum(feat, settings.log_floor, out=feat)
    return feat.astype(np.float32, order="C")


def normalize(rows: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """Per-window, per-coefficient normalisation of frame rows (returns a new float32 array)."""
    rows = np.asarray(rows, dtype=np.float32)
    if settings.normalize == "none" or len(rows) == 0:
        return rows.copy()
    out = rows - rows.mean(axis=0, keepdims=True)
    if settings.normalize == "cmvn":
        out /= rows.std(axis=0, keepdims=True) + 1e-5
    return out


def features(audio: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """Features of one window of 16 kHz mono audio (int16 or float): (n_frames, n_features) float32."""
    return normalize(frame_features(audio, settings), settings)
