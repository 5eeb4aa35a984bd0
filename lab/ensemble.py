"""``python -m lab.ensemble``: trained verifier runs as one verifier, their logits averaged.

Why: the runs of one recipe differ most where the cascade is decided, in the tail of the real-speech scores
(three seeds of one recipe caught 11-17% of the dev fakes within the alarm budget; docs/verifier.md). Averaging
their logits keeps what they agree on and shrinks what one seed alone got wrong, at a cost per gated utterance
that grows with the members (the cascade only pays it on the utterances the filter finds suspicious). The result
is one ONNX graph and one card, chosen on dev like any verifier (gate, fusion, threshold:
``voxwatch.training.verifier.operating``), so the runtime does not know it is an ensemble. The dev data are read,
cached and exported by the verifier's own training code (``voxwatch train --stage verifier``).

    python -m lab.ensemble --member RUN1 --member RUN2 --member RUN3 \\
        --data ../shared/data/corpus --data ../shared/data/extra --data ../data/hours --out DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from voxwatch.errors import VoxwatchError

BEST = "best.pt"
CARD = "verifier.json"


class EnsembleError(VoxwatchError):
    """Members that cannot make one verifier (one line for the user)."""


class Ensemble(nn.Module):
    """The mean of the members' logits (each member maps (batch, 1, frames, bands) to logits (batch,))."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise EnsembleError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.config = {"ensemble": [getattr(m, "config", {}) for m in members]}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members]).mean(dim=0)


def load_member(run: Path) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:
    """(network in eval mode, its feature settings as saved, its card) of a training run folder."""
    from voxwatch.training.verifier.model import build

    best, card = run / BEST, run / CARD
    if not best.is_file() or not card.is_file():
        raise EnsembleError(f"{run}: not a verifier run (needs {BEST} and {CARD}; train one with "
                            "voxwatch train --stage verifier)")
    state = torch.load(best, map_location="cpu", weights_only=False)
    net = build(state["model_config"])
    net.load_state_dict(state["state_dict"])
    return net.eval(), state["features"], json.loads(card.read_text())


def ensemble_training(cards: list[dict[str, Any]], splits: dict[str, Any]) -> dict[str, Any]:
    """The ensemble card's ``training``: each member's identity and recipe, and the splits of the data given."""
    members = [{"model_id": c["model_id"], "data": c.get("training", {}).get("data", ""),
                **{k: c.get("training", {}).get(k) for k in ("model", "parameters", "train", "copies", "best_epoch")}}
               for c in cards]
    return {"kind": "ensemble", "combine": "mean of the members' logits", "members": members,
            "data": " | ".join(sorted({m["data"] for m in members})), "splits": splits,
            "parameters": sum(m["parameters"] or 0 for m in members)}


def add_choice_arguments(parser: argparse.ArgumentParser) -> None:
    """How the card's operating point is chosen on dev, as the lab's verifier tools take it (``OperatingChoice``)."""
    parser.add_argument("--filter-model", default="", help="the filter the gate is chosen for (default: bundled)")
    parser.add_argument("--gate-pass", type=float, default=0.98, help="share of fake dev clips the gate must pass")
    parser.add_argument("--budget", type=float, default=2.0, help="false alarms per hour of dev real speech (2)")
    parser.add_argument("--no-fusion", action="store_true", help="the verifier's score decides alone")


def choice_from(args: argparse.Namespace):
    """The ``OperatingChoice`` of :func:`add_choice_arguments`' options."""
    from voxwatch.training.verifier.operating import OperatingChoice

    return OperatingChoice(args.filter_model or None, args.gate_pass, args.budget, not args.no_fusion)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lab.ensemble",
                                description="Average the logits of trained verifier runs in one ONNX verifier and "
                                            "choose its gate, fusion and threshold on dev.")
    p.add_argument("--member", action="append", required=True, metavar="RUN",
                   help="a training run folder (best.pt + verifier.json; repeatable)")
    p.add_argument("--data", action="append", required=True,
                   help="dataset folder whose dev split decides (repeatable; the members' training data)")
    p.add_argument("--out", required=True, help="folder for verifier.onnx + verifier.json")
    p.add_argument("--cache", default="", help="feature cache folder (default: OUT/cache)")
    p.add_argument("--workers", type=int, default=2, help="feature extraction processes")
    add_choice_arguments(p)
    args = p.parse_args(argv)

    from voxwatch.pipeline.stages.verifier.features import VerifierFeatureSettings
    from voxwatch.training.datasets import summarize
    from voxwatch.training.verifier import data
    from voxwatch.training.verifier.export import card_summary, export

    loaded = [load_member(Path(run)) for run in args.member]
    features = {json.dumps(f, sort_keys=True) for _, f, _ in loaded}
    if len(features) != 1:
        raise EnsembleError("the members were trained on different features; an ensemble needs one front end")
    settings = VerifierFeatureSettings.from_dict(loaded[0][1])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_clips, dev_clips = data.train_and_dev(args.data)
    dev_set = data.build(dev_clips, settings, 1, 0, args.workers, Path(args.cache) if args.cache else out / "cache",
                         "dev")
    net = Ensemble([m for m, _, _ in loaded]).eval()
    training = ensemble_training([c for _, _, c in loaded], summarize(train_clips + dev_clips))
    card = export(net, out / "verifier.onnx", settings, dev_set, training,
                  choice_from(args).on(dev_clips), kind="ensemble")
    print(json.dumps(card_summary(card), indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except VoxwatchError as exc:
        print(f"voxwatch: error: {exc}", file=sys.stderr)
        sys.exit(2)
