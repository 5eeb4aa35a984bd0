"""TinyCNN: the detector network (torch; import this module only where torch is available).

Four conv blocks (3x3 conv, batch norm, ReLU, 2x2 max pool) over the (1, frames, coefficients) feature image,
then global average + max pooling over time and frequency and one linear layer. About 25k parameters with the
default widths: a 2 s window costs ~7 MMAC, far below real time on one CPU core. ``freq_stride`` makes the first
convolution step over frequency, so twice the filters cost about what the default input costs: a learnt
reduction of fine spectral detail instead of wider fixed filters (the front-end experiments of
lab/notes/experiments.md).
The network returns a logit; ``WithSigmoid`` wraps it for export so the ONNX graph outputs the probability of
"fake" (the model card contract). ``WithSigmoid`` and ``n_parameters`` serve the verifier's network too.

With ``head="ocsoftmax"`` (one-class softmax, Zhang et al. 2021) the last layer is an embedding compared by
cosine with one learnt direction of *real* speech: training pulls real speech close to it and pushes every fake
beyond a margin, without asking fakes to share any one direction, which is meant to generalise to generators
that training never saw. Its logit is a fixed decreasing map of the cosine, so everything downstream (sigmoid,
threshold, export, ensembles) stays as it is.
"""

from __future__ import annotations

import torch
from torch import nn

HEADS = ("linear", "ocsoftmax")
ARCHS = ("tinycnn", "sepcnn")
OC_MARGINS = (0.9, 0.2)  # cosine margins for real (pulled above) and fake (pushed below), as in the paper
OC_SCALE = 20.0


class TinyCNN(nn.Module):
    def __init__(self, channels: tuple[int, ...] = (8, 16, 32, 64), dropout: float = 0.2, head: str = "linear",
                 embedding: int = 32, freq_stride: int = 1) -> None:
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
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, not {head!r}")
        self.head_kind = head
        self.head = nn.Linear(2 * c_in, 1 if head == "linear" else embedding)
        self.config = {"channels": list(channels), "dropout": dropout}
        if freq_stride != 1:
            self.config["freq_stride"] = freq_stride
        if head == "ocsoftmax":
            self.center = nn.Parameter(torch.randn(embedding) * 0.25)
            self.config.update({"head": head, "embedding": embedding})

    def _head_out(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return self.head(self.dropout(pooled))

    def cosine(self, x: torch.Tensor) -> torch.Tensor:
        """OC-softmax head: cosine between each embedding and the real-speech direction, (B,)."""
        emb = nn.functional.normalize(self._head_out(x), dim=1)
        return emb @ nn.functional.normalize(self.center, dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, frames, coefficients) -> (B,) logits of fake."""
        if self.head_kind == "ocsoftmax":
            return OC_SCALE * (sum(OC_MARGINS) / 2 - self.cosine(x))
        return self._head_out(x).squeeze(1)


def oc_softmax_loss(cos: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Per-sample OC-softmax loss: softplus(scale * (m_real - cos)) for real, softplus(scale * (cos - m_fake))
    for fake (``fake`` is 1.0 for fake samples)."""
    m_real, m_fake = OC_MARGINS
    margin = torch.where(fake > 0.5, OC_SCALE * (cos - m_fake), OC_SCALE * (m_real - cos))
    return nn.functional.softplus(margin)


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


class SqueezeExcite(nn.Module):
    """Channel gates from the map's mean (Hu et al. 2018): lets a block weigh bands and patterns per input."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.gate = nn.Sequential(nn.Linear(channels, max(channels // reduction, 4)), nn.ReLU(inplace=True),
                                  nn.Linear(max(channels // reduction, 4), channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x.mean(dim=(2, 3)))[:, :, None, None]


class AttentiveStatsPool(nn.Module):
    """Attentive statistics pooling over time (Okabe et al. 2018): a learnt weight per frame, then the weighted
    mean and standard deviation per channel, so a few telling frames are not averaged away."""

    def __init__(self, channels: int, hidden: int = 32) -> None:
        super().__init__()
        self.attention = nn.Sequential(nn.Conv1d(channels, hidden, 1), nn.Tanh(), nn.Conv1d(hidden, channels, 1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(B, C, T) -> (B, 2C)."""
        w = torch.softmax(self.attention(h), dim=2)
        mean = (w * h).sum(dim=2)
        var = (w * h * h).sum(dim=2) - mean * mean
        return torch.cat([mean, torch.sqrt(var.clamp(min=1e-5))], dim=1)


class SepCNN(nn.Module):
    """The capacity experiment: more channels at about TinyCNN's cost. A plain 3x3 stem, then blocks of a
    depthwise 3x3 and a pointwise 1x1 convolution (MobileNet) with squeeze-excitation, each halving both axes;
    the frequency axis is averaged and time is pooled by attentive statistics. Same contract as TinyCNN."""

    def __init__(self, channels: tuple[int, ...] = (16, 32, 64, 128), dropout: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, channels[0], 3, padding=1, bias=False), nn.BatchNorm2d(channels[0]),
                                   nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
            layers += [nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False), nn.BatchNorm2d(c_in),
                       nn.ReLU(inplace=True), nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out),
                       nn.ReLU(inplace=True), SqueezeExcite(c_out), nn.MaxPool2d(2)]
        self.body = nn.Sequential(*layers)
        self.pool = AttentiveStatsPool(channels[-1])
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * channels[-1], 1)
        self.head_kind = "linear"
        self.config = {"arch": "sepcnn", "channels": list(channels), "dropout": dropout}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, frames, coefficients) -> (B,) logits of fake."""
        h = self.body(x).mean(dim=3)  # (B, C, T)
        return self.head(self.dropout(self.pool(h))).squeeze(1)


def build(config: dict) -> nn.Module:
    arch = str(config.get("arch", "tinycnn"))
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, not {arch!r}")
    if arch == "sepcnn":
        return SepCNN(tuple(config.get("channels", (16, 32, 64, 128))), float(config.get("dropout", 0.2)))
    return TinyCNN(tuple(config.get("channels", (8, 16, 32, 64))), float(config.get("dropout", 0.2)),
                   str(config.get("head", "linear")), int(config.get("embedding", 32)),
                   int(config.get("freq_stride", 1)))


def n_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
