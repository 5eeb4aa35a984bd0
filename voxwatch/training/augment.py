"""Augmentation applied to *both* classes, so that channel effects cannot separate real from fake.

The corpus has shortcuts (README of the corpus): some real sources are 8 kHz band-limited, TTS output is clean
and often starts in digital silence, levels differ by source. Each augmented copy of a clip gets, independently:
optionally a speed change (resampling: pitch and formants shift together, a cheap new voice), light
reverberation (synthetic exponential-decay room response), additive white/pink noise at 5-30 dB SNR,
telephone band-limiting (down to 8 kHz sample rate and back, i.e. nothing above 4 kHz), and a random gain.
All randomness comes from the ``numpy.random.Generator`` passed in, so a seed reproduces a training set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from voxwatch.pipeline.sources import resample
from voxwatch.pipeline.vad import SAMPLE_RATE


@dataclass(frozen=True)
class AugmentSettings:
    p_bandlimit: float = 0.35
    bandlimit_rate: int = 8000
    p_noise: float = 0.6
    snr_db: tuple[float, float] = (5.0, 30.0)
    p_reverb: float = 0.25
    rt60_s: tuple[float, float] = (0.1, 0.5)
    gain_db: tuple[float, float] = (-18.0, 6.0)
    p_speed: float = 0.0
    speed: tuple[float, float] = (0.88, 1.12)


def band_limit(audio: np.ndarray, rate: int = 8000) -> np.ndarray:
    """Resample to ``rate`` and back: removes everything above rate/2, like a telephone channel."""
    low = resample(audio, SAMPLE_RATE, rate)
    out = resample(low, rate, SAMPLE_RATE)
    n = len(audio)
    return np.pad(out, (0, max(0, n - len(out))))[:n].astype(np.float32)


def colored_noise(n: int, rng: np.random.Generator, color: str = "white") -> np.ndarray:
    """Unit-RMS white or pink (1/f power) noise."""
    white = rng.standard_normal(n)
    if color == "pink" and n > 1:
        spec = np.fft.rfft(white)
        f = np.arange(len(spec), dtype=np.float64)
        f[0] = 1.0
        white = np.fft.irfft(spec / np.sqrt(f), n)
    return (white / (np.sqrt(np.mean(white**2)) + 1e-12)).astype(np.float32)


def add_noise(audio: np.ndarray, snr_db: float, rng: np.random.Generator, color: str = "white") -> np.ndarray:
    """Noise at ``snr_db`` relative to the clip's RMS (clips are speech-trimmed, so RMS is speech level)."""
    rms = float(np.sqrt(np.mean(np.asarray(audio, np.float64) ** 2)))
    if rms == 0.0:
        rms = 1e-3
    noise = colored_noise(len(audio), rng, color) * rms / (10 ** (snr_db / 20))
    return (audio + noise).astype(np.float32)


def reverberate(audio: np.ndarray, rt60_s: float, rng: np.random.Generator, wet: float = 0.5) -> np.ndarray:
    """Convolve with an exponentially decaying noise tail (a crude small room), keeping the direct sound."""
    n = max(1, int(rt60_s * SAMPLE_RATE))
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)  # -60 dB at rt60
    tail[: int(0.002 * SAMPLE_RATE)] = 0.0  # early gap before reflections
    tail *= wet / (np.sqrt(np.sum(tail**2)) + 1e-12)
    ir = tail
    ir[0] = 1.0
    out = fftconvolve(audio, ir)[: len(audio)]
    peak_in = np.abs(audio).max() + 1e-12
    return (out * (peak_in / (np.abs(out).max() + 1e-12))).astype(np.float32)


def change_speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster (pitch and formants move together): a cheap new "voice" from an old one."""
    rate = int(round(SAMPLE_RATE * factor / 100.0)) * 100
    return resample(audio, rate, SAMPLE_RATE) if rate != SAMPLE_RATE else np.asarray(audio, np.float32)


def apply_gain(audio: np.ndarray, gain_db: float) -> np.ndarray:
    return np.clip(audio * (10 ** (gain_db / 20)), -1.0, 1.0).astype(np.float32)


def augment(audio: np.ndarray, rng: np.random.Generator, settings: AugmentSettings = AugmentSettings()) -> np.ndarray:
    """One random augmentation of a 16 kHz float clip (same length out)."""
    x = np.asarray(audio, dtype=np.float32)
    if settings.p_speed and rng.random() < settings.p_speed:
        x = change_speed(x, rng.uniform(*settings.speed))
    if rng.random() < settings.p_reverb:
        x = reverberate(x, rng.uniform(*settings.rt60_s), rng, wet=rng.uniform(0.2, 0.7))
    noisy = rng.random() < settings.p_noise
    color = "pink" if rng.random() < 0.5 else "white"
    snr = rng.uniform(*settings.snr_db)
    noise_first = rng.random() < 0.5  # telephone noise is either in the room (before) or on the line (after)
    if noisy and noise_first:
        x = add_noise(x, snr, rng, color)
    if rng.random() < settings.p_bandlimit:
        x = band_limit(x, settings.bandlimit_rate)
    if noisy and not noise_first:
        x = add_noise(x, snr, rng, color)
    return apply_gain(x, rng.uniform(*settings.gain_db))
