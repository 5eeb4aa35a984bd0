"""A small Vocos-like generator (Siuzdak, 2023): ConvNeXt blocks at frame rate, an inverse-STFT head.

Nothing is upsampled in the network: a 7-tap convolution embeds the log-mel, ConvNeXt blocks (depthwise 7-tap
convolution, layer norm, pointwise expansion x3 with GELU, projection, layer scale, residual) work on frames, and
a linear head predicts, per frame and FFT bin, a log-magnitude and a phase; ``torch.istft`` with the mel's own
window and hop turns them into the waveform. About 1 M parameters at 128 channels and 8 blocks.

Trained here with the multi-resolution STFT loss plus mel L1, without discriminators, hence the family
``istft-vocoder`` rather than ``gan-vocoder``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lab.vocoders.mel import MelSettings

MAX_LOG_MAGNITUDE = 7.0  # exp(7) ~ 1100: the largest magnitude a frame of 1024 samples in [-1, 1] can have


@dataclass(frozen=True)
class IstftConfig:
    bands: int = 80
    channels: int = 128
    expansion: int = 3
    blocks: int = 8
    n_fft: int = MelSettings.n_fft
    hop: int = MelSettings.hop


class ConvNeXtBlock(nn.Module):
    def __init__(self, channels: int, hidden: int, layer_scale: float) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.expand = nn.Linear(channels, hidden)
        self.project = nn.Linear(hidden, channels)
        self.scale = nn.Parameter(torch.full((channels,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, channels, frames)
        y = self.depthwise(x).transpose(1, 2)
        y = self.project(nn.functional.gelu(self.expand(self.norm(y))))
        return x + (self.scale * y).transpose(1, 2)


class IstftVocoder(nn.Module):
    """(batch, bands, frames) log-mel -> (batch, (frames - 1) * hop) waveform."""

    def __init__(self, config: IstftConfig = IstftConfig()) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Conv1d(config.bands, config.channels, 7, padding=3)
        self.norm_in = nn.LayerNorm(config.channels)
        self.blocks = nn.ModuleList(ConvNeXtBlock(config.channels, config.channels * config.expansion,
                                                  1.0 / config.blocks) for _ in range(config.blocks))
        self.norm_out = nn.LayerNorm(config.channels)
        self.head = nn.Linear(config.channels, config.n_fft + 2)  # log-magnitude and phase of n_fft // 2 + 1 bins
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.norm_in(self.embed(mel).transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        log_magnitude, phase = self.head(self.norm_out(x.transpose(1, 2))).transpose(1, 2).chunk(2, dim=1)
        spectrum = torch.polar(torch.exp(torch.clamp(log_magnitude, max=MAX_LOG_MAGNITUDE)), phase)
        c = self.config
        return torch.istft(spectrum, c.n_fft, c.hop, window=self.window, center=True,
                           length=(mel.shape[-1] - 1) * c.hop)
