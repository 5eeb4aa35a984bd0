"""The filter recipes the shipped model does not use: ``python -m lab.recipes.train_variants``.

The product's trainer (``voxwatch train``) trains TinyCNN with binary cross-entropy and plain steps (the shipped
recipe: ``voxwatch/models/default.json``, "training"). The rounds of ``lab/notes/experiments.md`` also tried:

* ``--arch sepcnn``: SepCNN, more channels at about TinyCNN's cost (depthwise-separable blocks with
  squeeze-excitation, attentive statistics pooling over time);
* ``--loss ocsoftmax``: the one-class softmax head and loss (Zhang et al. 2021): the last layer is an embedding
  compared by cosine with one learnt direction of *real* speech; its logit is a fixed decreasing map of the
  cosine, so sigmoid, threshold, export and ensembles stay as they are;
* ``--sam RHO``: sharpness-aware minimisation (Foret et al. 2021), each step taken with the gradient at the worst
  point of a rho-ball (two passes per step);
* ``--teacher MODEL [--distill W]``: each window's target mixes its label with the probability of a teacher model
  (an ensemble export teaches several models at once) on the run's feature settings.

They ran as options of ``voxwatch train`` until issue 35. This runs the product's trainer with a
``voxwatch.training.train.Recipe`` that adds them and registers their networks with ``training.model.BUILDERS``;
every other option is ``voxwatch train``'s. Export such a run with ``python -m lab.recipes.train_variants export
CHECKPOINT... --out model.onnx`` (``voxwatch export``'s options; the product does not build these networks).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from voxwatch.training.featureset import FeatureSet
from voxwatch.training.model import BUILDERS, TinyCNN
from voxwatch.training.train import Recipe

OC_MARGINS = (0.9, 0.2)  # cosine margins for real (pulled above) and fake (pushed below), as in the paper
OC_SCALE = 20.0


class OCTinyCNN(TinyCNN):
    """TinyCNN with the OC-softmax head: an embedding, its cosine with the learnt direction of real speech."""

    def __init__(self, channels: tuple[int, ...] = (8, 16, 32, 64), dropout: float = 0.2, freq_stride: int = 1,
                 embedding: int = 32) -> None:
        super().__init__(channels, dropout, freq_stride)
        self.head = nn.Linear(self.head.in_features, embedding)
        self.center = nn.Parameter(torch.randn(embedding) * 0.25)
        self.config.update({"head": "ocsoftmax", "embedding": embedding})

    def cosine(self, x: torch.Tensor) -> torch.Tensor:
        """Cosine between each embedding and the real-speech direction, (B,)."""
        emb = nn.functional.normalize(self._head_out(x), dim=1)
        return emb @ nn.functional.normalize(self.center, dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return OC_SCALE * (sum(OC_MARGINS) / 2 - self.cosine(x))


def oc_softmax_loss(cos: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Per-sample OC-softmax loss: softplus(scale * (m_real - cos)) for real, softplus(scale * (cos - m_fake))
    for fake (``fake`` is 1.0 for fake samples)."""
    m_real, m_fake = OC_MARGINS
    margin = torch.where(fake > 0.5, OC_SCALE * (cos - m_fake), OC_SCALE * (m_real - cos))
    return nn.functional.softplus(margin)


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
        self.config = {"arch": "sepcnn", "channels": list(channels), "dropout": dropout}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, frames, coefficients) -> (B,) logits of fake."""
        h = self.body(x).mean(dim=3)  # (B, C, T)
        return self.head(self.dropout(self.pool(h))).squeeze(1)


BUILDERS["sepcnn"] = lambda config: SepCNN(tuple(config.get("channels", (16, 32, 64, 128))),
                                           float(config.get("dropout", 0.2)))
BUILDERS["tinycnn+ocsoftmax"] = lambda config: OCTinyCNN(
    tuple(config.get("channels", (8, 16, 32, 64))), float(config.get("dropout", 0.2)),
    int(config.get("freq_stride", 1)), int(config.get("embedding", 32)))


def sam_perturb(net: nn.Module, rho: float) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Move the weights to the worst point within an L2 ball of radius ``rho`` along their gradients.

    Sharpness-aware minimisation (Foret et al. 2021) takes its step with the gradient from that point, which
    favours flat minima; in anti-spoofing it helps on attacks and corpora unseen in training (Shim et al. 2023).
    Returns what :func:`sam_restore` needs to move the weights back.
    """
    grads = [(p, p.grad) for p in net.parameters() if p.grad is not None]
    if not grads:
        return []
    norm = torch.norm(torch.stack([g.detach().norm(2) for _, g in grads]), 2)
    scale = rho / (norm + 1e-12)
    moved: list[tuple[torch.Tensor, torch.Tensor]] = []
    with torch.no_grad():
        for p, g in grads:
            step = g * scale
            p.add_(step)
            moved.append((p, step))
    return moved


def sam_restore(moved: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Undo :func:`sam_perturb`; the gradients computed at the perturbed point stay for the optimiser step."""
    with torch.no_grad():
        for p, step in moved:
            p.sub_(step)


def soft_targets(labels: np.ndarray, teacher_scores: np.ndarray, weight: float) -> np.ndarray:
    """Each window's training target: its label, moved ``weight`` of the way to the teacher's probability.
    Binary cross-entropy is linear in its target, so this trains on the mix of the two losses."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"the teacher's weight must be within [0, 1], not {weight}")
    return ((1.0 - weight) * labels + weight * teacher_scores).astype(np.float32)


def teacher_scores(teacher: Any, x: np.ndarray, batch_size: int = 512, progress: Any = None) -> np.ndarray:
    """The teacher's probabilities of "fake" for every window of ``x`` (float16 windows, scored in float32)."""
    out = np.empty(len(x), np.float32)
    task = progress.add_task("teacher", total=len(x), epoch="teacher", loss=0.0) if progress else None
    for start in range(0, len(x), batch_size):
        chunk = x[start : start + batch_size].astype(np.float32)
        out[start : start + len(chunk)] = teacher.score(chunk)
        if progress:
            progress.update(task, advance=len(chunk))
    return out


class Variant(Recipe):
    """The product's recipe with the variants above. ``teacher``: an object with ``score(windows) ->
    probabilities`` (an ``OnnxClassifier`` on the run's features); it scores the un-masked windows once."""

    def __init__(self, arch: str = "tinycnn", loss: str = "bce", sam: float = 0.0, teacher: Any = None,
                 distill: float = 0.5) -> None:
        if arch != "tinycnn" and loss != "bce":
            raise ValueError(f"--loss {loss} is only built for --arch tinycnn")
        if sam < 0:
            raise ValueError("--sam must be >= 0")
        if teacher is not None and not 0.0 < distill <= 1.0:
            raise ValueError("--distill must be within (0, 1]")
        if teacher is not None and loss != "bce":
            raise ValueError("--teacher is only built for --loss bce")
        self.arch, self.loss_kind, self.sam, self.teacher = arch, loss, sam, teacher
        self.distill = distill if teacher is not None else 0.0

    def model(self) -> dict[str, Any]:
        return {**({"arch": self.arch} if self.arch != "tinycnn" else {}),
                **({"head": self.loss_kind} if self.loss_kind != "bce" else {})}

    def record(self) -> dict[str, Any]:
        return {"arch": self.arch, "loss": self.loss_kind, "sam": self.sam, "distill": self.distill,
                "teacher": str(getattr(self.teacher, "model_id", ""))}

    def targets(self, windows: FeatureSet, summary: dict[str, Any], progress: Any) -> np.ndarray:
        labels = super().targets(windows, summary, progress)
        if self.teacher is None:
            return labels
        taught = teacher_scores(self.teacher, windows.x, progress=progress)
        summary["teacher_agreement"] = float(np.mean((taught >= 0.5) == (windows.y == 1)))
        return soft_targets(labels, taught, self.distill)

    def loss(self, net: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        if self.loss_kind == "ocsoftmax":
            assert isinstance(net, OCTinyCNN)
            return oc_softmax_loss(net.cosine(xb), yb)
        return super().loss(net, xb, yb)

    def step(self, net: nn.Module, opt: torch.optim.Optimizer, batch_loss: Callable[[], torch.Tensor]) -> torch.Tensor:
        loss = super().step(net, opt, batch_loss)
        if self.sam:
            moved = sam_perturb(net, self.sam)
            opt.zero_grad()
            batch_loss().backward()
            sam_restore(moved)
        return loss


def parse_args(argv: list[str]) -> argparse.Namespace:
    from voxwatch.commands import train as train_command

    parser = argparse.ArgumentParser(prog="python -m lab.recipes.train_variants",
                                     description=__doc__.split("\n\n")[0] + " Every option of 'voxwatch train' "
                                     "(the filter stage) plus the variants; 'export CHECKPOINT... --out M' exports.")
    train_command.add_arguments(parser)
    group = parser.add_argument_group("recipe variants (the lab's)")
    group.add_argument("--arch", default="tinycnn", choices=("tinycnn", "sepcnn"),
                       help="tinycnn: plain 3x3 conv blocks; sepcnn: depthwise-separable blocks with squeeze-"
                       "excitation and attentive statistics pooling (default tinycnn; sepcnn's channels "
                       "16,32,64,128)")
    group.add_argument("--loss", default="bce", choices=("bce", "ocsoftmax"),
                       help="bce: binary cross-entropy; ocsoftmax: one-class softmax (default bce)")
    group.add_argument("--sam", type=float, default=0.0, metavar="RHO",
                       help="sharpness-aware minimisation with radius RHO, e.g. 0.05, 0 = off (twice the time)")
    group.add_argument("--teacher", metavar="MODEL", help="distil this ONNX model (with its card) into the network")
    group.add_argument("--distill", type=float, default=0.5, metavar="W",
                       help="with --teacher: the teacher's weight in each target, 0-1 (default 0.5)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from voxwatch.cli import main as voxwatch_main
    from voxwatch.commands import train as train_command
    from voxwatch.commands.output_paths import prepare_outputs
    from voxwatch.errors import VoxwatchError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["export"]:
        return voxwatch_main(argv)  # this module's import registered the networks
    args = parse_args(argv)
    try:
        if args.stage != train_command.FILTER:
            raise VoxwatchError("the recipe variants are the filter's (--stage filter)")
        if args.arch != "tinycnn" and args.freq_stride not in (None, 1):
            raise VoxwatchError("--freq-stride is only built for --arch tinycnn")
        if args.arch == "sepcnn" and not args.channels:
            args.channels = "16,32,64,128"
        teacher = None
        if args.teacher:
            from voxwatch.config import load_config
            from voxwatch.pipeline.stages.filter.session import OnnxClassifier

            pipeline = load_config(args.config).pipeline
            teacher = OnnxClassifier(args.teacher, pipeline.features, pipeline.window.window_s)
        try:
            recipe = Variant(args.arch, args.loss, args.sam, teacher, args.distill)
        except ValueError as exc:
            raise VoxwatchError(str(exc)) from None
        prepare_outputs(args)
        return train_command.run(args, recipe)
    except VoxwatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
