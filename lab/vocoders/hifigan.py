"""A small HiFi-GAN-like generator (Kong et al., 2020; V3-like): transposed convolutions, multi-receptive-field blocks.

The log-mel goes through a 7-tap convolution, then three stages each upsample by a transposed convolution
(8 x 8 x 4 = the mel hop of 256) and halve the channels, followed by a multi-receptive-field fusion: the mean of
residual blocks of kernel 3, 5 and 7 with two dilated convolutions each (V3's dilations). A final convolution and
tanh give the waveform. At 128 channels this is about 0.4 M parameters.

Trained here with the multi-resolution STFT loss plus mel L1 only, without discriminators (the budget is minutes
on one CPU core, where adversarial training does not pay yet); the architecture and its upsampling traces are
those of the GAN vocoders (MelGAN, HiFi-GAN), hence the family ``gan-vocoder``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

SLOPE = 0.1  # leaky ReLU slope of HiFi-GAN


@dataclass(frozen=True)
class HifiGanConfig:
    bands: int = 80
    channels: int = 128
    upsample_rates: tuple[int, ...] = (8, 8, 4)
    upsample_kernels: tuple[int, ...] = (16, 16, 8)
    block_kernels: tuple[int, ...] = (3, 5, 7)
    block_dilations: tuple[tuple[int, ...], ...] = ((1, 2), (2, 6), (3, 12))


class ResidualBlock(nn.Module):
    """Dilated convolutions, each with a leaky ReLU before it and a skip connection around it."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(channels, channels, kernel, dilation=d, padding=d * (kernel - 1) // 2)
                                   for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = x + conv(F.leaky_relu(x, SLOPE))
        return x


class HifiGan(nn.Module):
    """(batch, bands, frames) log-mel -> (batch, frames * hop) waveform in [-1, 1]."""

    def __init__(self, config: HifiGanConfig = HifiGanConfig()) -> None:
        super().__init__()
        self.config = config
        self.pre = nn.Conv1d(config.bands, config.channels, 7, padding=3)
        self.ups = nn.ModuleList()
        self.fusions = nn.ModuleList()
        channels = config.channels
        for rate, kernel in zip(config.upsample_rates, config.upsample_kernels, strict=True):
            self.ups.append(nn.ConvTranspose1d(channels, channels // 2, kernel, rate, padding=(kernel - rate) // 2))
            channels //= 2
            self.fusions.append(nn.ModuleList(ResidualBlock(channels, k, d)
                                              for k, d in zip(config.block_kernels, config.block_dilations,
                                                              strict=True)))
        self.post = nn.Conv1d(channels, 1, 7, padding=3)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.pre(mel)
        for up, blocks in zip(self.ups, self.fusions, strict=True):
            x = up(F.leaky_relu(x, SLOPE))
            x = sum(block(x) for block in blocks) / len(blocks)
        return torch.tanh(self.post(F.leaky_relu(x))).squeeze(1)
