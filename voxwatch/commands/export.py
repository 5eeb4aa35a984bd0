"""``voxwatch export CHECKPOINT... --out model.onnx [--int8]``: ONNX + model card (needs the ``train`` extra).

``voxwatch export ENSEMBLE.onnx --member K --data PATH --out model.onnx``: one member of an exported ensemble as
a model of its own, threshold re-calibrated on the dev split (onnx + onnxruntime only; voxwatch.training.member).
"""

from __future__ import annotations

import argparse

from voxwatch.commands.output_paths import OutputFile

HELP = "export a training checkpoint to ONNX with a parity check and its model card (needs the train extra)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.training.datasets import FORMATS

    parser.add_argument("checkpoint", metavar="CHECKPOINT", nargs="+",
                        help="a .pt file written by 'voxwatch train'; several: one ensemble graph (mean probability); "
                        "with --member: one ensemble .onnx written by this command")
    parser.add_argument("--out", required=True, metavar="PATH", action=OutputFile,
                        help="the .onnx to write (card: same name, .json)")
    parser.add_argument("--int8", action="store_true", help="INT8 static quantisation, calibrated on dev windows")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="largest allowed score difference of the parity check (default 1e-4 against torch; "
                        "1e-6 for --member, against the member inside the ensemble)")
    parser.add_argument("--model-id", default="", help="model id in the card (default: ARCH-KIND-SHA8)")
    parser.add_argument("--member", type=int, metavar="K",
                        help="cut member K (0-based) out of the ensemble .onnx given as CHECKPOINT; needs --data")
    parser.add_argument("--data", metavar="PATH", help="with --member: the dataset whose dev split calibrates the "
                        "threshold (the one the ensemble was trained on)")
    parser.add_argument("--format", default="auto", choices=FORMATS, help="with --member: dataset layout")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from voxwatch.errors import VoxwatchError

    if args.member is not None:
        if len(args.checkpoint) != 1 or not args.data:
            raise VoxwatchError("--member takes one ensemble .onnx and --data (the dataset for its dev split)")
        from voxwatch.training.member import extract_member

        result = extract_member(args.checkpoint[0], args.member, args.out, args.data, args.format, int8=args.int8,
                                tolerance=1e-6 if args.tolerance is None else args.tolerance,
                                model_id=args.model_id)
    else:
        from voxwatch.commands.common import require_torch

        require_torch()
        from voxwatch.training.export import export

        result = export([Path(p) for p in args.checkpoint], args.out, int8=args.int8,
                        tolerance=1e-4 if args.tolerance is None else args.tolerance, model_id=args.model_id)
    dev = result.card.metrics["dev"]
    print(f"wrote {result.path} ({result.path.stat().st_size // 1024} KiB) + {result.path.with_suffix('.json').name}: "
          f"id {result.card.model_id}, threshold {result.card.threshold:.4f}, dev EER {100 * dev['eer']:.2f}%")
    return 0
