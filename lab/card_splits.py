"""Fill in a model card's per-split data summary from the sets the model was trained on.

Cards written before :func:`voxwatch.training.datasets.summarize` recorded hours, families and licences hold
only clips, labels and sources per split. This recomputes the summary with the loader the training used and
writes it into the card only when the recomputed clips, labels and sources per split equal the card's own, so
that the hours, families and licences it adds describe exactly the clips the model saw; otherwise it names the
sources that differ and writes nothing.

    python -m lab.card_splits voxwatch/models/verifier.json --loader verifier \\
        --data ../shared/data/corpus --data ../shared/data/extra --data ../data/hours
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voxwatch.errors import VoxwatchError
from voxwatch.training.datasets import Clip, load_datasets, summarize

COUNTED = ("clips", "real", "fake", "sources")  # what every card holds; the rest is what this fills in


class CardMismatch(VoxwatchError):
    """The sets given are not the ones the card was trained on (clips, labels or sources differ)."""


def load(paths: list[str], loader: str, train_only: Sequence[str] = ()) -> list[Clip]:
    """The clips as the training saw them: the filter's trainer reads every split of every set; the verifier's
    reads them as :func:`voxwatch.training.verifier.data.train_and_dev` does (``train_only``: its
    ``--train-only`` sets)."""
    if loader == "filter":
        if train_only:
            raise VoxwatchError("--train-only is a verifier option; the filter's trainer has none")
        return load_datasets(paths)
    from voxwatch.training.verifier.data import train_and_dev

    train, dev = train_and_dev(paths, train_only)
    return train + dev


def differences(recorded: dict[str, Any], recomputed: dict[str, Any]) -> list[str]:
    """Where the recomputed summary disagrees with the card's counts, one line per split and field."""
    found: list[str] = []
    for split in sorted(set(recorded) | set(recomputed)):
        old, new = recorded.get(split, {}), recomputed.get(split, {})
        for key in COUNTED:
            if key == "sources":
                a, b = old.get(key, {}), new.get(key, {})
                changed = sorted(s for s in set(a) | set(b) if a.get(s) != b.get(s))
                if changed:
                    found.append(f"{split} sources: " + ", ".join(f"{s} {a.get(s, 0)} -> {b.get(s, 0)}"
                                                                  for s in changed))
            elif old.get(key) != new.get(key):
                found.append(f"{split} {key}: {old.get(key)} -> {new.get(key)}")
    return found


def fill(card: dict[str, Any], clips: list[Clip]) -> dict[str, Any]:
    """The card with ``training.splits`` recomputed from ``clips``; raises CardMismatch when they are not the
    clips it records."""
    recorded = card.get("training", {}).get("splits", {})
    recomputed = summarize(clips)
    found = differences(recorded, recomputed)
    if found:
        raise CardMismatch("the data differ from the card's: " + "; ".join(found))
    return {**card, "training": {**card["training"], "splits": recomputed}}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m lab.card_splits", description=__doc__.split("\n\n")[0])
    p.add_argument("card", help="the model card (JSON) to fill in, rewritten in place")
    p.add_argument("--data", action="append", required=True, help="dataset folder the model trained on (repeatable)")
    p.add_argument("--loader", choices=("filter", "verifier"), default="filter",
                   help="which trainer's reading of the sets to repeat (default: filter)")
    p.add_argument("--train-only", action="append", default=[], metavar="DIR",
                   help="with --loader verifier: a set whose train split only the verifier trained on, as its "
                        "--train-only (repeatable)")
    p.add_argument("--check", action="store_true", help="compare only; write nothing")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    path = Path(args.card)
    try:
        card = json.loads(path.read_text())
        filled = fill(card, load(args.data, args.loader, args.train_only))
    except (OSError, ValueError, VoxwatchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for split, summary in filled["training"]["splits"].items():
        print(f"{split}: {summary['clips']} clips, real {summary['real_hours']:.2f} h, "
              f"fake {summary['fake_hours']:.2f} h, families {', '.join(summary['families']) or 'none'}")
    if not args.check:
        path.write_text(json.dumps(filled, indent=2) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
