"""Augmentation applied to *both* classes, so that channel effects cannot separate real from fake.

The corpus has shortcuts (README of the corpus): some real sources are 8 kHz band-limited, TTS output is clean
and often starts in digital silence, levels differ by source. Each augmented copy of a clip gets, independently:
optionally a speed change (resampling: pitch and formants shift together, a cheap new voice), light
reverberation (synthetic exponential-decay room response), additive white/pink noise at 5-30 dB SNR,
telephone band-limiting (down to 8 kHz sample rate and back, i.e. nothing above 4 kHz), and a random gain.
Optional channel effects (off unless their probability is set): a codec round trip (G.711 mu-law/A-law and GSM
at 8 kHz, MP3/Vorbis/Opus at low bitrates, all through libsndfile in memory), a random equaliser (peaking
filters), and RawBoost-style signal distortion (Tak et al. 2022: random multi-band filters over a polynomial
of the signal, plus impulsive signal-dependent noise), and a telephone call through real codecs (ffmpeg: 300-3400
Hz band, G.711, GSM 06.10, G.726, Codec2, Opus or Speex narrowband, sometimes lost packets;
``voxwatch.training.telephone``). A detector that meets real calls has to ignore all of
these, in both classes.
All randomness comes from the ``numpy.random.Generator`` passed in, so a seed reproduces a training set.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve, firwin, lfilter

from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import resample


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
    p_codec: float = 0.0
    p_eq: float = 0.0
    p_rawboost: float = 0.0
    p_telephone: float = 0.0


# (name, container, subtype, sample rate, compression level range): libsndfile's compression level maps to the
# encoder's bitrate, 1.0 being the lowest
CODECS: tuple[tuple[str, str, str, int, tuple[float, float]], ...] = (
    ("ulaw", "WAV", "ULAW", 8000, (0.0, 0.0)),
    ("alaw", "WAV", "ALAW", 8000, (0.0, 0.0)),
    ("gsm", "WAV", "GSM610", 8000, (0.0, 0.0)),
    ("mp3", "MP3", "MPEG_LAYER_III", 16000, (0.6, 1.0)),
    ("vorbis", "OGG", "VORBIS", 16000, (0.6, 1.0)),
    ("opus", "OGG", "OPUS", 16000, (0.7, 1.0)),
)
CODEC_NAMES = tuple(c[0] for c in CODECS)


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


def codec_round_trip(audio: np.ndarray, codec: str, level: float = 0.9) -> np.ndarray:
    """Encode and decode in memory with libsndfile (telephone codecs at 8 kHz); same length out."""
    spec = {c[0]: c for c in CODECS}.get(codec)
    if spec is None:
        raise ValueError(f"unknown codec {codec!r}; one of {CODEC_NAMES}")
    _, container, subtype, rate, _ = spec
    x = np.clip(np.asarray(audio, np.float32), -1.0, 1.0)
    if rate != SAMPLE_RATE:
        x = resample(x, SAMPLE_RATE, rate)
    buf = io.BytesIO()
    kwargs = {"compression_level": min(float(level), 0.9999)} if container != "WAV" else {}  # MP3 refuses 1.0
    sf.write(buf, x, rate, format=container, subtype=subtype, **kwargs)
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float32")
    if rate != SAMPLE_RATE:
        y = resample(y, rate, SAMPLE_RATE)
    n = len(audio)
    return np.pad(y, (0, max(0, n - len(y))))[:n].astype(np.float32)


def peaking_eq(audio: np.ndarray, freq_hz: float, gain_db: float, q: float) -> np.ndarray:
    """One peaking biquad (RBJ audio EQ cookbook)."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * freq_hz / SAMPLE_RATE
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return lfilter(b / den[0], den / den[0], audio).astype(np.float32)


def random_eq(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1-3 random peaking filters (100 Hz - 7 kHz, +-9 dB): microphones, rooms and handsets colour speech."""
    x = np.asarray(audio, np.float32)
    for _ in range(int(rng.integers(1, 4))):
        freq = float(np.exp(rng.uniform(np.log(100.0), np.log(7000.0))))
        x = peaking_eq(x, freq, rng.uniform(-9.0, 9.0), rng.uniform(0.5, 2.0))
    peak = float(np.abs(x).max())
    return x / peak * 0.9 if peak > 1.0 else x


def _random_band_filter(rng: np.random.Generator, taps: int = 31) -> np.ndarray:
    """A FIR filter passing 1-3 random bands (RawBoost's multi-band filters)."""
    edges = np.sort(rng.uniform(50.0, SAMPLE_RATE / 2 - 50.0, size=2 * int(rng.integers(1, 4))))
    return firwin(taps, edges, pass_zero=False, fs=SAMPLE_RATE) if len(np.unique(edges)) == len(edges) else (
        np.eye(1, taps, taps // 2)[0])


def rawboost(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RawBoost-style distortion: sum_j g_j * filter_j(x^j) for j = 1..3 (linear and non-linear convolutive
    noise), then impulsive noise on a random 1-10% of the samples; peak level kept."""
    x = np.asarray(audio, np.float64)
    peak_in = np.abs(x).max() + 1e-12
    y = np.zeros_like(x)
    for j in range(1, 4):
        gain = 1.0 if j == 1 else rng.uniform(0.0, 0.3)
        y += gain * lfilter(_random_band_filter(rng), [1.0], x**j)
    y /= np.abs(y).max() + 1e-12
    hits = rng.random(len(y)) < rng.uniform(0.01, 0.1)
    y[hits] += y[hits] * rng.uniform(-1.0, 1.0, int(hits.sum())) * rng.uniform(0.1, 0.5)
    return (y * peak_in / (np.abs(y).max() + 1e-12)).astype(np.float32)


def apply_gain(audio: np.ndarray, gain_db: float) -> np.ndarray:
    return np.clip(audio * (10 ** (gain_db / 20)), -1.0, 1.0).astype(np.float32)


def augment(audio: np.ndarray, rng: np.random.Generator, settings: AugmentSettings = AugmentSettings()) -> np.ndarray:
    """One random augmentation of a 16 kHz float clip (same length out)."""
    x = np.asarray(audio, dtype=np.float32)
    if settings.p_speed and rng.random() < settings.p_speed:
        x = change_speed(x, rng.uniform(*settings.speed))
    if rng.random() < settings.p_reverb:
        x = reverberate(x, rng.uniform(*settings.rt60_s), rng, wet=rng.uniform(0.2, 0.7))
    if settings.p_rawboost and rng.random() < settings.p_rawboost:
        x = rawboost(x, rng)
    noisy = rng.random() < settings.p_noise
    color = "pink" if rng.random() < 0.5 else "white"
    snr = rng.uniform(*settings.snr_db)
    noise_first = rng.random() < 0.5  # telephone noise is either in the room (before) or on the line (after)
    if noisy and noise_first:
        x = add_noise(x, snr, rng, color)
    if settings.p_eq and rng.random() < settings.p_eq:
        x = random_eq(x, rng)
    if rng.random() < settings.p_bandlimit:
        x = band_limit(x, settings.bandlimit_rate)
    if settings.p_codec and rng.random() < settings.p_codec:
        name, *_, levels = CODECS[int(rng.integers(len(CODECS)))]
        x = codec_round_trip(x, name, rng.uniform(*levels))
    if settings.p_telephone and rng.random() < settings.p_telephone:
        from voxwatch.training.telephone import telephone

        x = telephone(x, rng)
    if noisy and not noise_first:
        x = add_noise(x, snr, rng, color)
    return apply_gain(x, rng.uniform(*settings.gain_db))
