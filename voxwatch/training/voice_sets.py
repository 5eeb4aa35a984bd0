"""The command line shared by the generators of training voices (festival_voices, engine_voices)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def voice_set_main(description: str, make: Callable[[Path, int, int], int], argv: list[str] | None) -> int:
    """Parse ``--out``, ``--count`` and ``--seed``, run ``make(out, count, seed)`` and say where the manifest is."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, required=True, help="output folder (audio/ and manifest.csv)")
    parser.add_argument("--count", type=int, default=60, help="clips per voice (60)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    print(f"{make(args.out, args.count, args.seed)} clips in {args.out / 'manifest.csv'}")
    return 0
