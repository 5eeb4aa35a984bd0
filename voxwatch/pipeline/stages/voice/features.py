"""The speaker encoder's front end, a numpy reimplementation of Resemblyzer's (``resemblyzer/audio.py``,
``hparams.py`` and ``VoiceEncoder.embed_utterance`` in the Resemblyzer 0.1.4 wheel, Apache-2.0, Resemble AI).

Steps, as in the reference:

1. ``preprocess``: volume normalised up (never down) to -30 dBFS RMS, then long silences trimmed with webrtcvad
   (mode 3, 30 ms windows, moving average over 8 windows, silent runs longer than 6 windows cut);
2. ``partial_slices``: the utterance is cut into partials of 160 frames (1.6 s) every 1/1.3 s; a last partial
   covering less than 75 % is dropped unless it is the only one, and the waveform is zero-padded to the last;
3. ``mel_spectrogram``: librosa's ``feature.melspectrogram(sr=16000, n_fft=400, hop_length=160, n_mels=40)``:
   a centred STFT (zero padding of n_fft/2 at both ends, librosa >= 0.10's default), periodic Hann window,
   power spectrum, Slaney-style mel filters with Slaney area normalisation. Not a log spectrum.

Two deliberate differences, both outside what real recordings reach: samples are clipped to [-1, 1] before the
int16 conversion for the VAD (the reference wraps around on overflow), and audio too short for one VAD window
is kept whole instead of becoming empty. The comparison against librosa on real clips is in
``lab/notes/voice-encoder.md``; ``tests/test_voice_features.py`` checks the filters and the spectrogram against
direct formulas.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from voxwatch.errors import ConfigError
from voxwatch.pipeline.samplerate import SAMPLE_RATE

INT16_MAX = 2**15 - 1


@dataclass(frozen=True)
class VoiceFeatureSettings:
    """Everything that turns audio into the encoder's partials (Resemblyzer's hparams). A card records these."""

    sample_rate: int = SAMPLE_RATE
    n_fft: int = 400  # 25 ms window
    hop: int = 160  # 10 ms step
    n_mels: int = 40
    partial_frames: int = 160  # 1.6 s per partial utterance
    partial_rate: float = 1.3  # partials per second of (trimmed) speech
    min_coverage: float = 0.75  # a last partial shorter than this share is dropped (unless it is the only one)
    norm_target_dbfs: float = -30.0  # volume normalisation (increase only)
    vad_mode: int = 3
    vad_window_ms: int = 30
    vad_average_width: int = 8
    vad_max_silence: int = 6  # windows

    def __post_init__(self) -> None:
        if self.sample_rate != SAMPLE_RATE:
            raise ConfigError(f"voice features: sample_rate must be {SAMPLE_RATE}")
        if self.vad_window_ms not in (10, 20, 30) or not 0 <= self.vad_mode <= 3:
            raise ConfigError("voice features: vad_window_ms must be 10, 20 or 30 and vad_mode 0..3")
        if not 0 < self.min_coverage <= 1 or self.partial_rate <= 0:
            raise ConfigError("voice features: need 0 < min_coverage <= 1 and partial_rate > 0")
        step = self.frame_step
        if not 0 < step <= self.partial_frames:
            raise ConfigError(f"voice features: partial_rate {self.partial_rate} gives a step of {step} frames")

    @property
    def frame_step(self) -> int:
        """Frames between the starts of two partials."""
        return int(np.round((self.sample_rate / self.partial_rate) / self.hop))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VoiceFeatureSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown voice feature settings: {', '.join(sorted(unknown))}")
        types = {f.name: type(getattr(cls(), f.name)) for f in dataclasses.fields(cls)}
        return cls(**{k: types[k](v) for k, v in data.items()})

    def digest(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# ---- volume and silence ------------------------------------------------------------------------------------------

def normalize_volume(wav: np.ndarray, target_dbfs: float) -> np.ndarray:
    """Scale up to ``target_dbfs`` RMS (in int16 units, as the reference); louder audio is left as it is."""
    wav = np.asarray(wav, np.float32)
    rms = float(np.sqrt(np.mean((wav.astype(np.float64) * INT16_MAX) ** 2))) if len(wav) else 0.0
    if rms == 0.0:
        return wav
    change = target_dbfs - 20 * np.log10(rms / INT16_MAX)
    if change < 0:
        return wav
    return (wav * (10 ** (change / 20))).astype(np.float32)


def _moving_average(array: np.ndarray, width: int) -> np.ndarray:
    padded = np.concatenate((np.zeros((width - 1) // 2), array, np.zeros(width // 2)))
    ret = np.cumsum(padded, dtype=float)
    ret[width:] = ret[width:] - ret[:-width]
    return ret[width - 1 :] / width


def voiced_mask(wav: np.ndarray, settings: VoiceFeatureSettings) -> np.ndarray:
    """Per VAD window: True where the reference keeps the audio (smoothed, dilated webrtcvad decisions)."""
    import webrtcvad
    from scipy.ndimage import binary_dilation

    window = settings.vad_window_ms * settings.sample_rate // 1000
    n = len(wav) // window
    pcm = np.round(np.clip(wav[: n * window], -1.0, 1.0) * INT16_MAX).astype("<i2").tobytes()
    vad = webrtcvad.Vad(settings.vad_mode)
    flags = np.array([vad.is_speech(pcm[i * window * 2 : (i + 1) * window * 2], settings.sample_rate)
                      for i in range(n)], dtype=float)
    mask = np.round(_moving_average(flags, settings.vad_average_width)).astype(bool)
    return binary_dilation(mask, np.ones(settings.vad_max_silence + 1))


def trim_long_silences(wav: np.ndarray, settings: VoiceFeatureSettings) -> np.ndarray:
    """The reference's ``trim_long_silences``: the audio with silent stretches removed."""
    window = settings.vad_window_ms * settings.sample_rate // 1000
    if len(wav) < window:
        return np.asarray(wav, np.float32)
    mask = voiced_mask(wav, settings)
    return np.asarray(wav[: len(mask) * window], np.float32)[np.repeat(mask, window)]


def preprocess(wav: np.ndarray, settings: VoiceFeatureSettings) -> np.ndarray:
    """16 kHz float audio -> the speech the encoder hears (volume-normalised, long silences removed)."""
    return trim_long_silences(normalize_volume(wav, settings.norm_target_dbfs), settings)


# ---- mel spectrogram ----------------------------------------------------------------------------------------------

def _hz_to_mel(hz: float | np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, ``htk=False``): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    safe = np.maximum(hz, min_log_hz)
    return np.where(hz >= min_log_hz, min_log_mel + np.log(safe / min_log_hz) / logstep, hz / f_sp)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


@lru_cache(maxsize=4)
def mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters from 0 Hz to Nyquist, equally spaced in Slaney mels, each
    scaled to unit area (``librosa.filters.mel`` with ``htk=False, norm='slaney'``)."""
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    weights = weights.astype(np.float32)
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=4)
def _hann(n: int) -> np.ndarray:
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)  # periodic, as fftbins=True
    window.setflags(write=False)
    return window


def mel_spectrogram(wav: np.ndarray, settings: VoiceFeatureSettings) -> np.ndarray:
    """(frames, n_mels) float32 power mel spectrogram, ``1 + len(wav) // hop`` frames (centred STFT)."""
    from scipy.fft import rfft

    wav = np.asarray(wav, np.float32)
    half = settings.n_fft // 2
    padded = np.pad(wav, (half, half))
    n_frames = 1 + (len(padded) - settings.n_fft) // settings.hop
    frames = np.lib.stride_tricks.as_strided(padded, shape=(n_frames, settings.n_fft),
                                             strides=(padded.strides[0] * settings.hop, padded.strides[0]))
    spectrum = rfft(frames * _hann(settings.n_fft), axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    return (power @ mel_filters(settings.sample_rate, settings.n_fft, settings.n_mels).T).astype(np.float32)


# ---- partial utterances -------------------------------------------------------------------------------------------

def partial_slices(n_samples: int, settings: VoiceFeatureSettings) -> list[slice]:
    """Mel-frame slices of the partials of an utterance of ``n_samples`` (the reference's
    ``compute_partial_slices``); the last may reach past the audio, which is then zero-padded."""
    n_frames = int(np.ceil((n_samples + 1) / settings.hop))
    step = settings.frame_step
    steps = max(1, n_frames - settings.partial_frames + step + 1)
    slices = [slice(i, i + settings.partial_frames) for i in range(0, steps, step)]
    last = slices[-1]
    coverage = (n_samples - last.start * settings.hop) / (settings.partial_frames * settings.hop)
    if coverage < settings.min_coverage and len(slices) > 1:
        slices = slices[:-1]
    return slices


def partials(speech: np.ndarray, settings: VoiceFeatureSettings) -> np.ndarray:
    """(n_partials, partial_frames, n_mels) float32: the encoder's input for one preprocessed utterance."""
    speech = np.asarray(speech, np.float32)
    slices = partial_slices(len(speech), settings)
    needed = slices[-1].stop * settings.hop
    if needed >= len(speech):
        speech = np.pad(speech, (0, needed - len(speech)))
    mel = mel_spectrogram(speech, settings)
    return np.stack([mel[s] for s in slices]).astype(np.float32, copy=False)
