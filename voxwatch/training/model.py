"""TinyCNN: the detector network (torch; import this module only where torch is available).

Four conv blocks (3x3 conv, batch norm, ReLU, 2x2 max pool) over the (1, frames, coefficients) feature image,
then global average + max pooling over time and frequency and one linear layer. About 25k parameters with the
default widths: a 2 s window costs ~7 MMAC, far below real time on one CPU core. ``freq_stride`` makes the first
convolution step over frequency, so twice the filters cost about what the default input costs: a learnt
reduction of fine spectral detail instead of wider fixed filters (the front-end experiments of
lab/notes/experiments.md).
The network returns a logit; ``WithSigmoid`` wraps it for export so the ONNX graph outputs the probability of
"fake" (the model card contract). ``WithSigmoid`` and ``n_parameters`` serve the verifier's network too.

``build`` makes the network a checkpoint's ``model_config`` names. The product builds TinyCNN; the lab's recipe
variants (SepCNN, the OC-softmax head: ``lab/recipes/train_variants.py``) add theirs to ``BUILDERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


class TinyCNN(nn.Module):
    def __init__(self, channels: tuple[int, ...] = (8, 16, 32, 64), dropout: float = 0.2,
                 freq_stride: int = 1) -> None:
        super().__init__()
        if freq_stride < 1:
            raise ValueError(f"freq_stride must be >= 1, not {freq_stride}")
        layers: list[nn.Module] = []
        c_in = 1
        for i, c_out in enumerate(channels):
            stride = (1, freq_stride) if i == 0 else 1
            layers += [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=False)]
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * c_in, 1)
        self.config: dict[str, Any] = {"channels": list(channels), "dropout": dropout}
        if freq_stride != 1:
            self.config["freq_stride"] = freq_stride

    def _head_out(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return self.head(self.dropout(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, frames, coefficients) -> (B,) logits of fake."""
        return self._head_out(x).squeeze(1)


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


def network_kind(config: dict) -> str:
    """The network a model config names: its ``arch`` ("tinycnn" when absent), ``+head`` when not linear."""
    arch, head = str(config.get("arch", "tinycnn")), str(config.get("head", "linear"))
    return arch if head == "linear" else f"{arch}+{head}"


BUILDERS: dict[str, Callable[[dict], nn.Module]] = {
    "tinycnn": lambda config: TinyCNN(tuple(config.get("channels", (8, 16, 32, 64))),
                                      float(config.get("dropout", 0.2)), int(config.get("freq_stride", 1))),
}


def build(config: dict) -> nn.Module:
    kind = network_kind(config)
    if kind not in BUILDERS:
        raise ValueError(f"{kind} is not a network voxwatch builds (tinycnn); the lab's recipe variants build the "
                         "others: python -m lab.recipes.train_variants (lab/README.md)")
    return BUILDERS[kind](config)


def n_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
