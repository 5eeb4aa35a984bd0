"""The verifier network (torch): a small ResNet over the utterance's log spectrum.

A strided stem and residual blocks (each halving time and frequency) turn the (1, frames, bands) image into
(channels, frames/2^k, bands/2^k); frequency stays as separate features (artefacts live in particular bands) while
time is pooled, so one network takes utterances of any length: by mean and standard deviation (``meanstd``, the
default: both stay put when an utterance grows, where a maximum creeps up with length and made long real
utterances look fake; docs/verifier.md) or by mean and maximum (``meanmax``). The network returns a logit;
``voxwatch.training.model.WithSigmoid`` (the filter's wrapper, one for both stages) wraps it for export: the
ONNX graph outputs the probability of "fake".
"""

from __future__ import annotations

import torch
from torch import nn


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.skip = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.bn1(self.conv1(x)))
        return self.act(self.bn2(self.conv2(h)) + self.skip(x))


class VerifierNet(nn.Module):
    def __init__(self, n_bands: int = 128, stem: int = 16, channels: tuple[int, ...] = (24, 48, 64),
                 hidden: int = 64, dropout: float = 0.3, pool: str = "meanstd") -> None:
        super().__init__()
        if pool not in ("meanstd", "meanmax"):
            raise ValueError(f"pool must be meanstd or meanmax, not {pool!r}")
        self.pool = pool
        self.stem = nn.Sequential(nn.Conv2d(1, stem, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(stem),
                                  nn.ReLU(inplace=True))
        blocks, c_in, bands = [], stem, (n_bands + 1) // 2
        for c_out in channels:
            blocks.append(ResBlock(c_in, c_out))
            c_in, bands = c_out, (bands + 1) // 2
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * c_in * bands, hidden), nn.ReLU(inplace=True),
                                  nn.Dropout(dropout), nn.Linear(hidden, 1))
        self.config = {"n_bands": n_bands, "stem": stem, "channels": list(channels), "hidden": hidden,
                       "dropout": dropout, "pool": pool}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, 1, frames, bands) -> logits (batch,)."""
        h = self.blocks(self.stem(x))  # (B, C, T', F')
        b, c, t, f = h.shape
        h = h.permute(0, 1, 3, 2).reshape(b, c * f, t)
        mean = h.mean(dim=2)
        if self.pool == "meanmax":
            spread = h.amax(dim=2)
        else:
            spread = torch.sqrt(((h - mean.unsqueeze(2)) ** 2).mean(dim=2) + 1e-5)
        pooled = torch.cat([mean, spread], dim=1)
        return self.head(pooled).squeeze(1)


def build(config: dict) -> VerifierNet:
    config = dict(config)
    config["channels"] = tuple(config.get("channels", (24, 48, 64)))
    return VerifierNet(**config)
