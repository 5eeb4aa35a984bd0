"""``python -m lab.refit_verifier VERIFIER.onnx --data DIR...``: an exported verifier's gate, fusion and threshold
chosen again on dev, and its card rewritten (the .onnx is untouched).

For a card whose operating point should follow newer dev data or another filter without training again; the
choice is the one ``voxwatch train --stage verifier`` makes (``voxwatch.training.verifier.operating``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from lab.ensemble import add_choice_arguments, choice_from


def refit_card(model: Path, data: list[str], choice: Any) -> dict[str, Any]:
    """Choose gate, fusion and threshold (``choice``: an ``OperatingChoice``) again on the dev splits of ``data``
    and rewrite ``model``'s card."""
    from voxwatch.pipeline.stages.cards import card_path, read_card, save_card
    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
    from voxwatch.training.datasets import select
    from voxwatch.training.verifier.data import load_training_clips

    path = card_path(model)
    card = read_card(path, "verifier card")
    point = choice.on(select(load_training_clips(data), "dev"))(OnnxVerifier(model))
    card.update(gate=point["gate"], threshold=point["threshold"], filter=point["filter"], fusion=point["fusion"])
    dev = card.setdefault("metrics", {}).setdefault("dev", {})
    dev.update({k: v for k, v in point.items() if k not in ("gate", "threshold", "filter", "fusion")})
    save_card(path, card)
    return point


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lab.refit_verifier",
                                description="choose an exported verifier's gate, fusion and threshold on dev again "
                                            "and rewrite its card")
    p.add_argument("model", help="verifier .onnx (its .json card beside it is rewritten)")
    p.add_argument("--data", action="append", required=True, help="dataset whose dev split decides (repeatable)")
    add_choice_arguments(p)
    args = p.parse_args(argv)
    point = refit_card(Path(args.model), args.data, choice_from(args))
    print(json.dumps(point, indent=2, default=lambda v: None if isinstance(v, float) and math.isnan(v) else v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
