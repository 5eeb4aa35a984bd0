"""The training loop (torch): TinyCNN on augmented feature windows, early stopping on dev EER.

* Inputs are the pipeline's ``features()`` windows cut by the daemon's rules (voxwatch.training.featureset).
* Class balance: each window's loss is weighted by N / (2 * windows of its class).
* Cheap SpecAugment on the fly: one frequency band and one time span per window set to 0 (the CMVN mean).
* A ``Recipe`` holds what the lab's recipe variants change (the targets, the loss, the optimiser step, the
  network's head: distillation from a teacher, OC-softmax, sharpness-aware steps in
  ``lab/recipes/train_variants.py``); the product's is labels, weighted cross-entropy and one plain step.
* One-cycle LR schedule (AdamW), fixed seeds (torch, numpy, data order, augmentation). The weights that are
  evaluated and saved are an exponential moving average of the trained ones (smooths epoch-to-epoch swings).
* After every epoch the dev clips are scored like the daemon would (mean of window scores per clip) and the dev
  clip EER decides: the best epoch is checkpointed (``best.pt`` + ``epochNN.pt``), and training stops after
  ``patience`` epochs without improvement. Learning curves go to ``curves.png`` and ``history.json``.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from voxwatch.training import metrics
from voxwatch.training.balance import window_weights
from voxwatch.training.datasets import Clip, require_both_classes, select, summarize
from voxwatch.training.featureset import ExtractSettings, FeatureSet, extract
from voxwatch.training.model import build, n_parameters


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 15
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-3
    patience: int = 4
    seed: int = 0
    channels: tuple[int, ...] = (8, 16, 32, 64)
    freq_stride: int = 1  # tinycnn: stride of the first convolution over frequency
    dropout: float = 0.2
    freq_mask: int = 8  # widest masked band, coefficients
    time_mask: int = 30  # longest masked span, frames
    max_steps: int = 0  # stop each epoch after this many batches (0: full epochs); for smoke tests
    device: str = "cpu"  # "cpu" or "cuda"; numbers differ slightly between the two
    ema: float = 0.998  # exponential moving average of the weights, evaluated and saved (0: off)
    balance: str = "class"  # "class": each class half the weight; "source": also sources within a class (sqrt)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def _mask(batch: torch.Tensor, settings: TrainSettings, gen: torch.Generator) -> torch.Tensor:
    """Random masks are drawn on the CPU generator (same draws on any device), applied where the batch is."""
    b, _, t, f = batch.shape
    out = batch.clone()
    dev = batch.device
    if settings.freq_mask:
        width = torch.randint(0, settings.freq_mask + 1, (b,), generator=gen)
        start = (torch.rand(b, generator=gen) * (f - width)).long()
        idx = torch.arange(f)
        fmask = (idx[None] >= start[:, None]) & (idx[None] < (start + width)[:, None])
        out = out.masked_fill(fmask[:, None, None, :].to(dev), 0.0)
    if settings.time_mask:
        width = torch.randint(0, settings.time_mask + 1, (b,), generator=gen)
        start = (torch.rand(b, generator=gen) * (t - width)).long()
        idx = torch.arange(t)
        tmask = (idx[None] >= start[:, None]) & (idx[None] < (start + width)[:, None])
        out = out.masked_fill(tmask[:, None, :, None].to(dev), 0.0)
    return out


@torch.no_grad()
def predict(net: nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Window probabilities of fake for float16/32 windows (N, frames, coefficients)."""
    net.eval()
    device = next(net.parameters()).device
    out = []
    for i in range(0, len(x), batch_size):
        chunk = torch.from_numpy(np.asarray(x[i : i + batch_size], dtype=np.float32))[:, None].to(device)
        out.append(torch.sigmoid(net(chunk)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def evaluate_dev(net: nn.Module, dev: FeatureSet, dev_labels: np.ndarray) -> dict[str, float]:
    window_scores = predict(net, dev.x)
    eps = 1e-6
    p = np.clip(window_scores, eps, 1 - eps)
    loss = float(-np.mean(dev.y * np.log(p) + (1 - dev.y) * np.log(1 - p)))
    clip = metrics.clip_scores(window_scores, dev.clip, len(dev_labels))
    ok = ~np.isnan(clip)
    clip_eer, threshold = metrics.eer(dev_labels[ok], clip[ok])
    window_eer, _ = metrics.eer(dev.y, window_scores)
    return {"loss": loss, "eer": clip_eer, "threshold": threshold, "window_eer": window_eer,
            "auc": metrics.roc_auc(dev_labels[ok], clip[ok])}


class Recipe:
    """What :func:`train` lets a recipe change; this one is the product's. The lab's variants
    (``lab/recipes/train_variants.py``) override it: a teacher's targets, the OC-softmax head and loss,
    sharpness-aware steps."""

    def model(self) -> dict[str, Any]:
        """Added to the network's config (``training.model.build``)."""
        return {}

    def record(self) -> dict[str, Any]:
        """Recorded with the run's settings (summary.json, the checkpoint, the exported card)."""
        return {}

    def targets(self, windows: FeatureSet, summary: dict[str, Any], progress: Any) -> np.ndarray:
        """Each training window's target (float32); may add to the run's ``summary``."""
        return windows.y.astype(np.float32)

    def loss(self, net: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """The loss of each window of a batch."""
        return nn.functional.binary_cross_entropy_with_logits(net(xb), yb, reduction="none")

    def step(self, net: nn.Module, opt: torch.optim.Optimizer, batch_loss: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The gradients of one batch (``opt.step`` follows); returns the batch's loss."""
        opt.zero_grad()
        loss = batch_loss()
        loss.backward()
        return loss


def _batch_loss(recipe: Recipe, net: nn.Module, xb: torch.Tensor, yb: torch.Tensor, wb: torch.Tensor) -> torch.Tensor:
    """The weighted mean of the recipe's loss over one batch."""
    return (recipe.loss(net, xb, yb) * wb).mean()


@torch.no_grad()
def _ema_update(ema: nn.Module, net: nn.Module, decay: float) -> None:
    live = net.state_dict()
    for name, value in ema.state_dict().items():
        if value.dtype.is_floating_point:
            value.mul_(decay).add_(live[name], alpha=1 - decay)
        else:
            value.copy_(live[name])


def train(clips: list[Clip], out_dir: Path, extract_settings: ExtractSettings, settings: TrainSettings,
          data_desc: str = "", cache_dir: Path | None = None, workers: int | None = None,
          console: Any = None, recipe: Recipe | None = None) -> dict[str, Any]:
    """Train on split ``train``, select on ``dev``; returns the best epoch's summary. Writes into ``out_dir``.
    ``recipe``: the product's (:class:`Recipe`) unless the lab's variants give theirs."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from voxwatch.training.datasets import DatasetError

    console = console or Console()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train_clips, dev_clips = select(clips, "train"), select(clips, "dev")
    require_both_classes(train=train_clips, dev=dev_clips)
    _seed_everything(settings.seed)
    train_fs = extract(train_clips, extract_settings, workers, "train features", cache_dir)
    dev_settings = ExtractSettings(extract_settings.features, extract_settings.window, extract_settings.vad)
    dev_fs = extract(dev_clips, dev_settings, workers, "dev features", cache_dir)
    dev_labels = np.array([c.label for c in dev_clips], np.int8)
    dev_fs.save(out_dir / "dev.npz")
    np.save(out_dir / "dev_labels.npy", dev_labels)

    n_fake = int(train_fs.y.sum())
    n_real = len(train_fs) - n_fake
    if n_fake == 0 or n_real == 0:
        raise DatasetError("training windows of both classes are needed")
    console.print(f"train windows: {len(train_fs)} ({n_real} real, {n_fake} fake) from {len(train_clips)} clips; "
                  f"dev windows: {len(dev_fs)} from {len(dev_clips)} clips")
    device = torch.device(settings.device)
    recipe = recipe or Recipe()
    net = build({"channels": settings.channels, "dropout": settings.dropout, "freq_stride": settings.freq_stride,
                 **recipe.model()}).to(device)
    ema = copy.deepcopy(net) if settings.ema else net
    console.print(f"{type(net).__name__}: {n_parameters(net)} parameters, input {train_fs.x.shape[1:]}, on {device}")
    x_all = torch.from_numpy(train_fs.x).to(device)  # float16, cast per batch
    sources = np.array([train_clips[i].source for i in train_fs.clip])
    w_all = torch.from_numpy(window_weights(train_fs.y, sources, settings.balance).astype(np.float32)).to(device)
    steps = -(-len(train_fs) // settings.batch_size)
    if settings.max_steps:
        steps = min(steps, settings.max_steps)
    opt = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=settings.lr, total_steps=steps * settings.epochs,
                                                pct_start=0.2)
    gen = torch.Generator().manual_seed(settings.seed)
    history: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    stale = 0
    summary_base = {
        "data": data_desc, "splits": summarize(clips), "train_windows": {"real": n_real, "fake": n_fake},
        "dev_windows": len(dev_fs), "extract": json.loads(json.dumps(asdict(extract_settings), default=list)),
        "train": json.loads(json.dumps({**asdict(settings), **recipe.record()}, default=list)),
        "parameters": n_parameters(net),
    }
    columns = (TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        y_all = torch.from_numpy(recipe.targets(train_fs, summary_base, progress)).to(device)
        for epoch in range(1, settings.epochs + 1):
            started = time.perf_counter()
            net.train()
            order = torch.randperm(len(train_fs), generator=gen)
            task = progress.add_task("train", total=steps, epoch=f"{epoch}/{settings.epochs}", loss=0.0)
            total, seen = 0.0, 0
            for step in range(steps):
                idx = order[step * settings.batch_size : (step + 1) * settings.batch_size].to(device)
                xb = _mask(x_all[idx].float()[:, None], settings, gen)
                yb = y_all[idx]
                wb = w_all[idx]
                loss = recipe.step(net, opt, partial(_batch_loss, recipe, net, xb, yb, wb))
                opt.step()
                sched.step()
                if settings.ema:
                    _ema_update(ema, net, settings.ema)
                total += float(loss.detach()) * len(idx)
                seen += len(idx)
                progress.update(task, advance=1, loss=total / seen)
            dev = evaluate_dev(ema, dev_fs, dev_labels)
            record = {"epoch": epoch, "train_loss": total / seen, "dev_loss": dev["loss"], "dev_eer": dev["eer"],
                      "dev_window_eer": dev["window_eer"], "dev_auc": dev["auc"], "lr": sched.get_last_lr()[0],
                      "seconds": round(time.perf_counter() - started, 1)}
            history.append(record)
            better = best is None or (dev["eer"], dev["loss"]) < (best["dev"]["eer"], best["dev"]["loss"])
            progress.console.print(
                f"epoch {epoch}: train loss {record['train_loss']:.4f}  dev loss {dev['loss']:.4f}  "
                f"dev EER {100 * dev['eer']:.2f}% (windows {100 * dev['window_eer']:.2f}%)"
                + ("  [green]best[/green]" if better else ""))
            if better:
                stale = 0
                best = {"epoch": epoch, "dev": dev}
                checkpoint = {
                    "model_config": net.config, "epoch": epoch,
                    "state_dict": {k: v.detach().cpu() for k, v in ema.state_dict().items()},
                    "features": extract_settings.features.to_dict(), "window": asdict(extract_settings.window),
                    "vad": asdict(extract_settings.vad), "dev": dev, "training": summary_base,
                    "dev_set": "dev.npz", "dev_labels": "dev_labels.npy",
                }
                torch.save(checkpoint, out_dir / f"epoch{epoch:02d}.pt")
                torch.save(checkpoint, out_dir / "best.pt")
            else:
                stale += 1
            (out_dir / "history.json").write_text(json.dumps(history, indent=1) + "\n")
            if stale >= settings.patience:
                progress.console.print(f"early stop: no dev EER improvement for {settings.patience} epochs")
                break
    try:
        from voxwatch.training.plots import learning_curves

        learning_curves(history, out_dir / "curves.png")
    except ImportError:
        console.print("matplotlib missing: no curves.png")
    assert best is not None
    result = {"best_epoch": best["epoch"], "dev": best["dev"], "checkpoint": str(out_dir / "best.pt"),
              "history": history}
    (out_dir / "summary.json").write_text(json.dumps({**result, "training": summary_base}, indent=1) + "\n")
    return result
