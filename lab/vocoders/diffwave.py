"""A small DiffWave-like diffusion vocoder (Kong et al., ICLR 2021): it learns to predict the noise, and samples.

Why a third architecture: a diffusion vocoder's traces are neither upsampling nor an inverse-STFT head but the
residue of iterative denoising (a noise floor shaped by the reverse steps), and issue 25 asks for that family too.

The network, after the paper: the log-mel is upsampled to the sample rate by two transposed 2-D convolutions
(16 x 16 = the mel hop, leaky ReLU 0.4); the noisy waveform goes through a 1x1 convolution and ReLU into residual
layers, each adding a projection of the diffusion-step embedding (sinusoids of the step, two swish layers), a
dilated 3-tap convolution (dilation 2^(i mod cycle)) plus a 1x1 projection of the upsampled mel, a gated
activation (tanh x sigmoid), and a 1x1 convolution split into the residual (scaled by 1/sqrt 2) and a skip; the
summed skips give the predicted noise through ReLU and a zero-initialised 1x1 convolution. Small here (32
channels, 12 layers) so that it trains and samples on one shared CPU core.

Training is noise prediction (``loss``): a random step t of the T = 50 linear betas (1e-4 to 0.05), the clip
noised to that step in closed form, L2 between the predicted and the drawn noise. Sampling (``synthesize``) uses
DiffWave's fast schedule: six inference betas, each reverse step fed the continuous training step whose noise
level matches it, so a second of audio costs six passes instead of fifty; a generator seeded by the caller (a
twin's path) makes the sampled twin reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lab.vocoders.mel import LogMel, MelSettings

UPSAMPLE_SLOPE = 0.4  # the paper's leaky ReLU in the mel upsampler


@dataclass(frozen=True)
class DiffWaveConfig:
    bands: int = 80
    channels: int = 32  # residual channels
    layers: int = 12
    dilation_cycle: int = 6
    embedding: int = 128  # diffusion-step embedding width (sinusoids: half of it)
    upsample_strides: tuple[int, ...] = (16, 16)  # their product is the mel hop
    train_steps: int = 50
    beta_start: float = 1e-4
    beta_end: float = 0.05
    sampling_betas: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5)  # DiffWave's 6-step fast schedule


@dataclass(frozen=True)
class NoiseLoss:
    """The diffusion training loss: L2 between predicted and drawn noise (train's curve records it as ``noise``)."""

    noise: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        return self.noise

    def numbers(self) -> dict[str, float]:
        return {"noise": self.noise.item()}


def _tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh as 2 sigmoid(2x) - 1 (the same function): torch's CPU tanh is about twice as slow as its sigmoid, and
    the gate is a tenth of a sampling step."""
    return 2 * torch.sigmoid(2 * x) - 1


class StepEmbedding(nn.Module):
    """A (possibly fractional) diffusion step -> a vector every residual layer projects and adds."""

    def __init__(self, width: int) -> None:
        super().__init__()
        half = width // 2
        self.register_buffer("frequencies", 10.0 ** (torch.arange(half) * 4.0 / max(1, half - 1)), persistent=False)
        self.first = nn.Linear(width, width)
        self.second = nn.Linear(width, width)

    def forward(self, step: torch.Tensor) -> torch.Tensor:  # (batch,) -> (batch, width)
        angles = step[:, None].float() * self.frequencies[None]
        x = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
        return F.silu(self.second(F.silu(self.first(x))))


class MelUpsampler(nn.Module):
    """(batch, bands, frames) log-mel -> (batch, bands, frames * hop) by transposed 2-D convolutions over time."""

    def __init__(self, strides: tuple[int, ...]) -> None:
        super().__init__()
        self.ups = nn.ModuleList(nn.ConvTranspose2d(1, 1, (3, 2 * s), stride=(1, s), padding=(1, s // 2))
                                 for s in strides)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = mel[:, None]
        for up in self.ups:
            x = F.leaky_relu(up(x), UPSAMPLE_SLOPE)
        return x[:, 0]


class ResidualLayer(nn.Module):
    def __init__(self, channels: int, bands: int, embedding: int, dilation: int) -> None:
        super().__init__()
        self.step = nn.Linear(embedding, channels)
        self.dilated = nn.Conv1d(channels, 2 * channels, 3, padding=dilation, dilation=dilation)
        self.condition = nn.Conv1d(bands, 2 * channels, 1)
        self.out = nn.Conv1d(channels, 2 * channels, 1)

    def forward(self, x: torch.Tensor, step: torch.Tensor,
                condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``condition``: this layer's projection of the upsampled mel (``self.condition``), made once per clip."""
        y = self.dilated(x + self.step(step)[:, :, None]) + condition
        gate, value = y.chunk(2, dim=1)
        residual, skip = self.out(torch.sigmoid(gate) * _tanh(value)).chunk(2, dim=1)
        return (x + residual) / math.sqrt(2.0), skip


class DiffWave(nn.Module):
    """(noisy audio (batch, samples), step (batch,), log-mel (batch, bands, frames)) -> the predicted noise.

    ``samples`` is at most ``frames * hop``; the upsampled mel is cut to it.
    """

    def __init__(self, config: DiffWaveConfig = DiffWaveConfig()) -> None:
        super().__init__()
        if math.prod(config.upsample_strides) != MelSettings.hop:
            raise ValueError(f"upsample strides {config.upsample_strides} must multiply to the mel hop")
        self.config = config
        self.upsampler = MelUpsampler(config.upsample_strides)
        self.embed = StepEmbedding(config.embedding)
        self.input = nn.Conv1d(1, config.channels, 1)
        self.layers = nn.ModuleList(ResidualLayer(config.channels, config.bands, config.embedding,
                                                  2 ** (i % config.dilation_cycle)) for i in range(config.layers))
        self.skip = nn.Conv1d(config.channels, config.channels, 1)
        self.output = nn.Conv1d(config.channels, 1, 1)
        nn.init.zeros_(self.output.weight)  # starts by predicting no noise, as in the paper
        nn.init.zeros_(self.output.bias)
        self.register_buffer("alpha_bars", training_alpha_bars(config).float(), persistent=False)

    def conditions(self, mel: torch.Tensor, samples: int) -> list[torch.Tensor]:
        """Each layer's projection of the upsampled mel: made once per clip when sampling, not once per step (it
        is a third of a step's arithmetic)."""
        upsampled = self.upsampler(mel)[..., :samples]
        return [layer.condition(upsampled) for layer in self.layers]

    def denoise(self, noisy: torch.Tensor, step: torch.Tensor, conditions: list[torch.Tensor]) -> torch.Tensor:
        x = F.relu(self.input(noisy[:, None]))
        embedded = self.embed(step)
        skips = torch.zeros_like(x)
        for layer, condition in zip(self.layers, conditions, strict=True):
            x, skip = layer(x, embedded, condition)
            skips = skips + skip
        x = F.relu(self.skip(skips / math.sqrt(len(self.layers))))
        return self.output(x)[:, 0]

    def forward(self, noisy: torch.Tensor, step: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        return self.denoise(noisy, step, self.conditions(mel, noisy.shape[-1]))


def training_alpha_bars(config: DiffWaveConfig) -> torch.Tensor:
    """alpha bar of each training step (the linear betas): the share of the signal's variance left at that step."""
    betas = torch.linspace(config.beta_start, config.beta_end, config.train_steps, dtype=torch.float64)
    return torch.cumprod(1 - betas, 0)


def _padded(audio: torch.Tensor, hop: int) -> torch.Tensor:
    return F.pad(audio, (0, -audio.shape[-1] % hop))


def loss(model: DiffWave, mel: LogMel, audio: torch.Tensor) -> NoiseLoss:
    """Noise prediction at a random training step per clip (draws from torch's global generator: seeded runs)."""
    audio = _padded(audio, mel.settings.hop)
    step = torch.randint(0, model.config.train_steps, (audio.shape[0],))
    noise = torch.randn_like(audio)
    alpha_bar = model.alpha_bars[step][:, None]
    noisy = alpha_bar.sqrt() * audio + (1 - alpha_bar).sqrt() * noise
    with torch.no_grad():
        log_mel = mel(audio)
    return NoiseLoss(F.mse_loss(model(noisy, step.float(), log_mel), noise))


def aligned_steps(config: DiffWaveConfig) -> list[float]:
    """The continuous training step whose noise level matches each fast-schedule step (DiffWave, appendix B).

    The step embedding is fed this fractional step: sqrt(alpha bar) of the inference schedule interpolated
    linearly between the two training steps that bracket it (clamped to the first and last step).
    """
    train = training_alpha_bars(config).sqrt().numpy()
    fast = torch.cumprod(1 - torch.tensor(config.sampling_betas, dtype=torch.float64), 0).sqrt().numpy()
    steps = np.arange(config.train_steps, dtype=np.float64)
    return [float(s) for s in np.interp(fast, train[::-1], steps[::-1])]  # np.interp wants rising levels


def synthesize(model: DiffWave, mel: LogMel, audio: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """(batch, samples) audio -> a sample from the vocoder given its log-mel, at the same length (seeded)."""
    n = audio.shape[-1]
    padded = _padded(audio, mel.settings.hop)
    conditions = model.conditions(mel(padded), padded.shape[-1])
    generator = torch.Generator().manual_seed(seed)
    betas = torch.tensor(model.config.sampling_betas, dtype=torch.float64)
    alphas = 1 - betas
    alpha_bars = torch.cumprod(alphas, 0)
    x = torch.randn(padded.shape, generator=generator)
    for s, step in reversed(list(enumerate(aligned_steps(model.config)))):
        predicted = model.denoise(x, torch.full((x.shape[0],), step), conditions)
        x = (x - float(betas[s] / (1 - alpha_bars[s]).sqrt()) * predicted) / float(alphas[s].sqrt())
        if s > 0:
            sigma = float(((1 - alpha_bars[s - 1]) / (1 - alpha_bars[s]) * betas[s]).sqrt())
            x = x + sigma * torch.randn(x.shape, generator=generator)
    return torch.clamp(x, -1.0, 1.0)[..., :n]

