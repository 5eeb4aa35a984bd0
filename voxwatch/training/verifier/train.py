"""The verifier's training loop (torch, CPU): random crops of cached utterance features, best epoch on dev.

* Each step sees random ``crop_frames`` spans of the train utterances (or, with ``max_crop_frames``, spans of a
  length drawn per batch up to that: the runtime scores up to 8 s; shorter utterances tiled, as the runtime tiles
  audio), with one frequency band and one time span masked (SpecAugment); each item's loss is weighted so that
  both classes weigh the same (times ``real_weight`` for real speech). ``epoch_items`` draws that many items
  per epoch, so that a large set is evaluated on dev more often. With ``balance = "source"`` the items are
  instead drawn with the filter's source weights (``voxwatch.training.balance``: each class half, a source's
  share growing with the square root of its size), so that the few clips of studio read speech are seen as
  often as they need to be next to thousands of twins and telephone digits.
* AdamW with a one-cycle schedule; fixed seeds. With ``ema`` > 0 the weights evaluated and kept are an
  exponential moving average of the trained ones (smooths the epoch-to-epoch swings of a small dev set).
* After every epoch the dev utterances are scored whole (as the runtime scores them) and the dev EER decides the
  best epoch; training stops after ``patience`` epochs without improvement.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import torch
from torch import nn

from voxwatch.training import metrics
from voxwatch.training.balance import window_weights
from voxwatch.training.model import n_parameters
from voxwatch.training.verifier import data
from voxwatch.training.verifier.data import UtteranceSet
from voxwatch.training.verifier.model import VerifierNet

if TYPE_CHECKING:
    from voxwatch.pipeline.stages.verifier.card import VerifierCard
    from voxwatch.pipeline.stages.verifier.features import VerifierFeatureSettings
    from voxwatch.training.verifier.operating import OperatingChoice


@dataclass(frozen=True)
class VerifierTrainSettings:
    epochs: int = 12
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-2
    crop_frames: int = 250
    max_crop_frames: int = 0  # > crop_frames: each batch draws its crop length from [crop_frames, this]
    freq_mask: int = 16
    time_mask: int = 40
    patience: int = 4
    epoch_items: int = 0  # 0: every train item once per epoch; else this many, drawn anew each epoch
    real_weight: float = 1.0  # the real class weighs this much more than the fake one (false alarms cost more)
    balance: str = "class"  # "source": draw items by the source weights of voxwatch.training.balance
    ema: float = 0.0  # decay of the weights' moving average per step (0: off)
    splice_share: float = 0.0  # this share of items keeps only a part of its crop, the rest real speech of another
    seed: int = 0
    threads: int = 1
    max_steps: int = 0  # 0: full epochs; smoke tests set a few


def _crop(mat: np.ndarray, frames: int, rng: np.random.Generator) -> np.ndarray:
    if len(mat) < frames:
        return np.resize(mat, (frames, mat.shape[1]))  # tile, like short audio is tiled
    start = int(rng.integers(0, len(mat) - frames + 1))
    return mat[start : start + frames]


def _spliced(crop: np.ndarray, data: UtteranceSet, real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``crop`` with a quarter to three quarters of it kept, in place, and the frames before and after it from a
    random real clip: fake speech inside real speech with no pause, as the daemon's run and segment checks hand it
    over (a spliced real item stays real: a join of two real voices is no evidence of a fake)."""
    frames = len(crop)
    keep = int(rng.integers(frames // 4, 3 * frames // 4 + 1))
    start = int(rng.integers(0, frames - keep + 1))
    out = _crop(data.item(int(rng.choice(real))), frames, rng).copy()
    out[start : start + keep] = crop[start : start + keep]
    return out


def _batch(data: UtteranceSet, idx: np.ndarray, s: VerifierTrainSettings, rng: np.random.Generator) -> torch.Tensor:
    frames = s.crop_frames
    if s.max_crop_frames > s.crop_frames:  # the lengths the runtime sees (up to max_s), not one fixed crop
        frames = int(rng.integers(s.crop_frames, s.max_crop_frames + 1))
    crops = [_crop(data.item(int(i)), frames, rng) for i in idx]
    if s.splice_share > 0:
        real = np.flatnonzero(data.y == 0)
        crops = [_spliced(c, data, real, rng) if len(real) and rng.random() < s.splice_share else c for c in crops]
    x = np.stack(crops).astype(np.float32)
    for row in x:
        f0 = int(rng.integers(0, max(1, x.shape[2] - s.freq_mask)))
        row[:, f0 : f0 + int(rng.integers(0, s.freq_mask + 1))] = 0.0
        t0 = int(rng.integers(0, max(1, x.shape[1] - s.time_mask)))
        row[t0 : t0 + int(rng.integers(0, s.time_mask + 1))] = 0.0
    return torch.from_numpy(x)[:, None]


def score_set(net: nn.Module, data: UtteranceSet) -> np.ndarray:
    """Probability of fake for every utterance, each scored whole (batch of one, like the runtime)."""
    net.eval()
    out = np.zeros(len(data), np.float32)
    with torch.no_grad():
        for i in range(len(data)):
            x = torch.from_numpy(data.item(i).astype(np.float32))[None, None]
            out[i] = torch.sigmoid(net(x)).item()
    return out


def source_draw(y: np.ndarray, sources: np.ndarray, real_weight: float = 1.0) -> np.ndarray:
    """Probability of drawing each item: the filter's source weights, the real class times ``real_weight``."""
    draw = window_weights(y, sources, "source") * np.where(y == 1, 1.0, real_weight)
    return draw / draw.sum()


def train(train_set: UtteranceSet, dev_set: UtteranceSet, net: VerifierNet, s: VerifierTrainSettings,
          log=print, sources: np.ndarray | None = None) -> tuple[VerifierNet, list[dict]]:
    """``sources``: each train item's source name (needed with ``balance = "source"``)."""
    torch.manual_seed(s.seed)
    torch.set_num_threads(s.threads)
    rng = np.random.default_rng(s.seed)
    y = train_set.y.astype(np.float32)
    weights = np.where(y == 1, len(y) / (2 * max(1, y.sum())),
                       s.real_weight * len(y) / (2 * max(1, len(y) - y.sum())))
    draw = None
    if s.balance == "source":
        if sources is None or len(sources) != len(y):
            raise ValueError("balance='source' needs the source of every train item")
        draw = source_draw(y, np.asarray(sources), s.real_weight)
        weights = np.ones_like(weights)  # the draw balances; the loss does not weigh twice
    per_epoch = min(len(y), s.epoch_items) if s.epoch_items else len(y)
    steps = per_epoch // s.batch_size if not s.max_steps else min(s.max_steps, per_epoch // s.batch_size)
    steps = max(1, steps)
    opt = torch.optim.AdamW(net.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s.lr, total_steps=steps * s.epochs)
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    averaged = torch.optim.swa_utils.AveragedModel(
        net, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(s.ema), use_buffers=True) if s.ema else None
    best, best_eer, history, stale = copy.deepcopy(net), float("inf"), [], 0
    log(f"verifier: {n_parameters(net)} parameters, {len(y)} train items, {len(dev_set)} dev utterances")
    for epoch in range(1, s.epochs + 1):
        t0 = time.time()
        net.train()
        order = rng.permutation(len(y))[:per_epoch] if draw is None else rng.choice(len(y), per_epoch, p=draw)
        total = 0.0
        for step in range(steps):
            idx = order[step * s.batch_size : (step + 1) * s.batch_size]
            x = _batch(train_set, idx, s, rng)
            target = torch.from_numpy(y[idx])
            w = torch.from_numpy(weights[idx].astype(np.float32))
            loss = (loss_fn(net(x), target) * w).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if averaged is not None:
                averaged.update_parameters(net)
            total += loss.item()
        judged = net if averaged is None else cast(VerifierNet, averaged.module)
        dev_scores = score_set(judged, dev_set)
        dev_eer, dev_thr = metrics.eer(dev_set.y, dev_scores)
        row = {"epoch": epoch, "loss": total / steps, "dev_eer": dev_eer, "dev_threshold": dev_thr,
               "dev_auc": metrics.roc_auc(dev_set.y, dev_scores), "seconds": round(time.time() - t0, 1)}
        history.append(row)
        log(f"epoch {epoch:2d}  loss {row['loss']:.4f}  dev EER {dev_eer:.2%}  AUC {row['dev_auc']:.4f}  "
            f"({row['seconds']} s)")
        if dev_eer < best_eer:
            best, best_eer, stale = copy.deepcopy(judged), dev_eer, 0
        else:
            stale += 1
            if stale >= s.patience:
                log(f"no dev improvement for {s.patience} epochs: stopping")
                break
    return best.eval(), history


def train_and_export(paths: Sequence[str], out: Path, features: VerifierFeatureSettings, net: VerifierNet,
                     s: VerifierTrainSettings, choice: OperatingChoice, copies: int = 2, train_only: Sequence[str] = (),
                     fmt: str = "auto", cache: Path | None = None, workers: int = 2) -> VerifierCard:
    """``voxwatch train --stage verifier``: features of the train (``copies`` per clip) and dev clips of ``paths``
    (and the train clips of ``train_only``), cached in ``cache``; ``net`` trained, its best epoch on dev kept in
    ``out/best.pt`` (+ ``history.json``) and exported to ``out/verifier.onnx`` with its card, whose operating point
    ``choice`` picks on dev."""
    from voxwatch.training.datasets import require_both_classes, summarize
    from voxwatch.training.verifier.export import export

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train_clips, dev_clips = data.train_and_dev(paths, train_only, fmt)
    require_both_classes(train=train_clips, dev=dev_clips)
    train_set = data.build(train_clips, features, copies, s.seed, workers, cache, "train")
    dev_set = data.build(dev_clips, features, 1, s.seed, workers, cache, "dev")
    sources = np.array([train_clips[i].source for i in train_set.clip])
    best, history = train(train_set, dev_set, net, s, sources=sources)
    torch.save({"state_dict": best.state_dict(), "model_config": best.config, "features": features.to_dict(),
                "history": history}, out / "best.pt")
    (out / "history.json").write_text(json.dumps(history, indent=2) + "\n")
    training = {"data": " + ".join([*paths, *(f"{d} (train split only)" for d in train_only)]),
                "splits": summarize(train_clips + dev_clips),
                "model": best.config, "parameters": n_parameters(best), "train": asdict(s),
                "copies": copies, "best_epoch": int(np.argmin([h["dev_eer"] for h in history])) + 1,
                "history": history}
    return export(best, out / "verifier.onnx", features, dev_set, training, choice.on(dev_clips))
