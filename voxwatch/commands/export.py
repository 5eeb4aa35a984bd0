"""``voxwatch export CHECKPOINT... --out model.onnx [--int8]``: ONNX + model card (needs the ``train`` extra).

Cutting one member out of an exported ensemble is the lab's: ``python -m lab.member`` (lab/README.md).
"""

from __future__ import annotations

import argparse

from voxwatch.commands.output_paths import OutputFile

HELP = "export a training checkpoint to ONNX with a parity check and its model card (needs the train extra)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT", nargs="+",
                        help="a .pt file written by 'voxwatch train'; several: one ensemble graph (mean probability)")
    parser.add_argument("--out", required=True, metavar="PATH", action=OutputFile,
                        help="the .onnx to write (card: same name, .json)")
    parser.add_argument("--int8", action="store_true", help="INT8 static quantisation, calibrated on dev windows")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest allowed score difference of the parity check against torch (default 1e-4)")
    parser.add_argument("--model-id", default="", help="model id in the card (default: ARCH-KIND-SHA8)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from voxwatch.commands.common import require_torch

    require_torch()
    from voxwatch.training.export import export

    result = export([Path(p) for p in args.checkpoint], args.out, int8=args.int8, tolerance=args.tolerance,
                    model_id=args.model_id)
    dev = result.card.metrics["dev"]
    print(f"wrote {result.path} ({result.path.stat().st_size // 1024} KiB) + {result.path.with_suffix('.json').name}: "
          f"id {result.card.model_id}, threshold {result.card.threshold:.4f}, dev EER {100 * dev['eer']:.2f}%")
    return 0
