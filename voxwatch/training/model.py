"""TinyCNN: the detector network (torch; import this module only where torch is available).

Four conv blocks (3x3 conv, batch norm, ReLU, 2x2 max pool) over the (1, frames, coefficients) feature image,
then global average + max pooling over time and frequency and one linear layer. About 25k parameters with the
default widths: a 2 s window costs ~7 MMAC, far below real time on one CPU core. The network returns a logit;
``WithSigmoid`` wraps it for export so the ONNX graph outputs the probability of "fake" (the model card contract).
"""

from __future__ import annotations

import torch
from torch import nn


class TinyCNN(nn.Module):
    def __init__(self, channels: tuple[int, ...] = (8, 16, 32, 64), dropout: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2, ceil_mode=False)]
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * c_in, 1)
        self.config = {"channels": list(channels), "dropout": dropout}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, frames, coefficients) -> (B,) logits."""
        h = self.body(x)
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return self.head(self.dropout(pooled)).squeeze(1)


class WithSigmoid(nn.Module):
    """The exported graph: features in, probability of fake out."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))


class MeanProbability(nn.Module):
    """An ensemble exported as one graph: the mean of its members' probabilities."""

    def __init__(self, nets: list[nn.Module]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.sigmoid(net(x)) for net in self.nets]).mean(dim=0)


def build(config: dict) -> TinyCNN:
    return TinyCNN(tuple(config.get("channels", (8, 16, 32, 64))), float(config.get("dropout", 0.2)))


def n_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
