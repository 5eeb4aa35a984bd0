"""Train a small neural vocoder on the real training speech of a built set, for a wall-clock budget.

Random segments (1 s by default) of the set's real ``train`` clips and the architecture's own loss
(``arches.training_loss``: multi-resolution STFT plus mel L1 of the resynthesis for the one-pass vocoders, noise
prediction for the diffusion one), Adam. The budget is wall-clock minutes because this is
what a session has; the checkpoint and a JSON card (architecture, parameters, steps, minutes, loss curve,
training clips, hours, speakers and licences) are written every few minutes and at the end, so a stopped run
still leaves a usable vocoder. ``--resume`` continues a checkpoint in OUT (weights, optimiser, steps, minutes and
curve carry on), so a vocoder can be trained over several sessions' budgets. One torch thread by default: the
machine is shared. Seeded: the same data, seed and number of steps give the same weights.

    python -m lab.vocoders.train --data ../data/hours --arch hifigan --minutes 15 \\
        --out ../data/vocoders/hifigan
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lab.vocoders import segments as seg
from lab.vocoders.arches import (
    ARCHES,
    TrainingLoss,
    VocoderError,
    build,
    parameters,
    save_checkpoint,
    training_loss,
)
from lab.vocoders.mel import LogMel
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.training.pool import progress_bar

CHECKPOINT = "checkpoint.pt"
CARD = "card.json"
GRAD_CLIP = 10.0


@dataclass(frozen=True)
class TrainSettings:
    arch: str = "hifigan"
    minutes: float = 15.0
    steps: int | None = None  # a limit on this run's steps on top of the budget (tests, reproduction)
    batch: int = 4
    segment_s: float = 1.0
    threads: int = 1
    seed: int = 0
    held_out: int = 20  # real train clips kept out of training for the Griffin-Lim comparison
    save_every_minutes: float = 5.0
    log_every: int = 25  # steps per point of the card's loss curve
    resume: bool = False  # continue OUT's checkpoint instead of starting afresh


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, mel: LogMel,
               batch: torch.Tensor) -> TrainingLoss:
    """One optimisation step on a (batch, samples) tensor of real audio; the losses before the step."""
    found = training_loss(model, mel, batch)
    optimizer.zero_grad()
    found.total.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
    optimizer.step()
    return found


def make_optimizer(name: str, model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=ARCHES[name].learning_rate, betas=(0.8, 0.99))


def train(data: Path, out: Path, settings: TrainSettings) -> dict:
    """Train, write ``out/checkpoint.pt`` and ``out/card.json``; returns the card."""
    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    np.random.seed(settings.seed)
    rows = seg.real_train_rows(seg.read_manifest(data))
    kept_out = seg.held_out(rows, settings.held_out, settings.seed)
    kept_paths = {r["path"] for r in kept_out}
    rows = [r for r in rows if r["path"] not in kept_paths]
    hop = LogMel().settings.hop
    samples = max(hop, round(settings.segment_s * SAMPLE_RATE) // hop * hop)
    source = seg.Segments(data, rows, samples, settings.seed)
    model, mel = build(settings.arch), LogMel()
    optimizer = make_optimizer(settings.arch, model)
    out.mkdir(parents=True, exist_ok=True)
    card: dict = {"arch": settings.arch, "family": ARCHES[settings.arch].family, "parameters": parameters(model),
            "config": model.config.__dict__, "settings": {**settings.__dict__, "learning_rate":
                                                          ARCHES[settings.arch].learning_rate},
            "loss": ARCHES[settings.arch].loss_name, "data": str(data),
            "training": seg.summary(rows), "held_out": [r["path"] for r in kept_out],
            "steps": 0, "minutes": 0.0, "curve": [], "torch": str(torch.__version__)}
    earlier_minutes = 0.0
    if settings.resume:
        earlier_minutes = _resume(out, settings, model, optimizer, card)
        source = seg.Segments(data, rows, samples, settings.seed + card["steps"])  # fresh draws, not a replay
    start = last_save = time.monotonic()
    budget = settings.minutes * 60
    window: list[dict[str, float]] = []

    def save() -> None:
        card["unreadable_draws"] = source.unreadable
        card["minutes"] = round(earlier_minutes + (time.monotonic() - start) / 60, 2)
        card["model_id"] = save_checkpoint(out / CHECKPOINT, settings.arch, model,
                                           {"card": card, "optimizer": optimizer.state_dict()})
        (out / CARD).write_text(json.dumps(card, indent=1) + "\n")

    model.train()
    with progress_bar() as progress:
        task = progress.add_task(f"{settings.arch}", total=settings.steps or budget)
        run_steps = 0
        while time.monotonic() - start < budget and (settings.steps is None or run_steps < settings.steps):
            found = train_step(model, optimizer, mel, source.batch(settings.batch))
            run_steps += 1
            numbers = found.numbers()
            window.append(numbers)
            card["steps"] += 1
            if len(window) == settings.log_every:
                _log(card, window, start, earlier_minutes)
            progress.update(task, completed=run_steps if settings.steps else time.monotonic() - start,
                            description=f"{settings.arch} step {card['steps']} {_terms(numbers)}")
            if time.monotonic() - last_save >= settings.save_every_minutes * 60:
                save()
                last_save = time.monotonic()
    if window:
        _log(card, window, start, earlier_minutes)
    save()
    return card


def _resume(out: Path, settings: TrainSettings, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
            card: dict) -> float:
    """Load OUT's checkpoint into ``model`` (and ``optimizer`` where saved), carry its steps and curve into
    ``card``; returns the minutes already spent."""
    path = out / CHECKPOINT
    if not path.is_file():
        raise VocoderError(f"{path}: nothing to resume (train without --resume first)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("arch") != settings.arch:
        raise VocoderError(f"{path}: holds a {state.get('arch')} vocoder, not {settings.arch}")
    if build(settings.arch, state.get("config")).config != model.config:
        raise VocoderError(f"{path}: its {settings.arch} config differs from this version's")
    model.load_state_dict(state["state_dict"])
    if "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    earlier = state.get("card", {})
    card["steps"] = int(earlier.get("steps", 0))
    card["curve"] = list(earlier.get("curve", []))
    card["resumed"] = [*earlier.get("resumed", []), {"from_step": card["steps"], "model_id": state.get("model_id")}]
    return float(earlier.get("minutes", 0.0))


def _log(card: dict, window: list[dict[str, float]], start: float, earlier_minutes: float = 0.0) -> None:
    """A curve point: the window's mean of each loss term, by the term's name (``stft``/``mel`` or ``noise``)."""
    card["curve"].append({"step": card["steps"],
                          "minutes": round(earlier_minutes + (time.monotonic() - start) / 60, 2),
                          **{name: round(float(np.mean([w[name] for w in window])), 4) for name in window[0]}})
    window.clear()


def _terms(point: dict[str, float]) -> str:
    return " ".join(f"{name} {value:.3f}" for name, value in point.items() if name not in ("step", "minutes"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.vocoders.train",
                                     description=__doc__.splitlines()[0],
                                     epilog="Needs the train extra (torch). Writes OUT/checkpoint.pt, OUT/card.json.")
    parser.add_argument("--data", type=Path, required=True, help="a set written by build_data (manifest.csv)")
    parser.add_argument("--arch", choices=sorted(ARCHES), default=TrainSettings.arch)
    parser.add_argument("--out", type=Path, required=True, help="folder for the checkpoint and its card")
    parser.add_argument("--minutes", type=float, default=TrainSettings.minutes, help="wall-clock budget")
    parser.add_argument("--steps", type=int, default=None,
                        help="stop after this many steps of this run (default: budget only)")
    parser.add_argument("--batch", type=int, default=TrainSettings.batch, help="segments per step")
    parser.add_argument("--segment-s", type=float, default=TrainSettings.segment_s, help="segment length (s)")
    parser.add_argument("--threads", type=int, default=TrainSettings.threads, help="torch threads (default 1)")
    parser.add_argument("--held-out", type=int, default=TrainSettings.held_out,
                        help="real train clips kept out of training for evaluate (default 20)")
    parser.add_argument("--save-every", type=float, default=TrainSettings.save_every_minutes,
                        help="minutes between checkpoints (default 5)")
    parser.add_argument("--seed", type=int, default=TrainSettings.seed)
    parser.add_argument("--resume", action="store_true",
                        help="continue the checkpoint in OUT for another --minutes (steps and curve carry on)")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or (args.steps is not None and args.steps < 1) or args.batch < 1 or args.threads < 1 \
            or args.segment_s <= 0 or args.held_out < 0:
        parser.error("--minutes, --segment-s must be positive; --steps, --batch, --threads at least 1")
    settings = TrainSettings(args.arch, args.minutes, args.steps, args.batch, args.segment_s, args.threads,
                             args.seed, args.held_out, args.save_every, resume=args.resume)
    try:
        card = train(args.data, args.out, settings)
    except VocoderError as exc:
        print(f"voxwatch: error: {exc}", file=sys.stderr)
        return 2
    last = card["curve"][-1]
    print(f"{card['model_id']}: {card['parameters']} parameters, {card['steps']} steps in {card['minutes']} min, "
          f"{_terms(last)}; {args.out / CHECKPOINT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
