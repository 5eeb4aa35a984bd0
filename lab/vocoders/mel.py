"""The one log-mel spectrogram of the vocoders trained here: 80 bands, 1024-point STFT, hop 256, at 16 kHz.

Training, synthesis (twins) and the Griffin-Lim baseline all call :class:`LogMel`, so a vocoder is always fed the
features it learned from. Plain ``torch.stft`` (no torchaudio) and python-speech-features' triangular filters
(a voxwatch dependency already) keep the dependency list as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from python_speech_features import get_filterbanks
from torch import nn

from voxwatch.pipeline.samplerate import SAMPLE_RATE


@dataclass(frozen=True)
class MelSettings:
    n_fft: int = 1024
    hop: int = 256  # samples per mel frame: every generator upsamples by exactly this
    bands: int = 80
    floor: float = 1e-5  # log floor: digital silence maps to a finite value


def mel_filters(settings: MelSettings = MelSettings()) -> np.ndarray:
    """(bands, n_fft // 2 + 1) triangular filters from 0 Hz to Nyquist."""
    return get_filterbanks(nfilt=settings.bands, nfft=settings.n_fft, samplerate=SAMPLE_RATE, lowfreq=0,
                           highfreq=SAMPLE_RATE // 2).astype(np.float32)


class LogMel(nn.Module):
    """(batch, samples) audio -> (batch, bands, samples // hop + 1) natural-log mel magnitudes (centred frames)."""

    def __init__(self, settings: MelSettings = MelSettings()) -> None:
        super().__init__()
        self.settings = settings
        self.register_buffer("filters", torch.from_numpy(mel_filters(settings)), persistent=False)
        self.register_buffer("window", torch.hann_window(settings.n_fft), persistent=False)

    def magnitude(self, audio: torch.Tensor) -> torch.Tensor:
        s = self.settings
        return torch.stft(audio, s.n_fft, s.hop, window=self.window, center=True, return_complex=True).abs()

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return torch.log(torch.clamp(self.filters @ self.magnitude(audio), min=self.settings.floor))
