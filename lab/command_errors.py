"""The lab's one rule for a mistake at its command line: a ``LabError`` (or a voxwatch error the tool lets through,
e.g. a set without a manifest) is one ``error:`` line and exit status 2, never a traceback."""

from __future__ import annotations

import argparse
import sys

from voxwatch.errors import VoxwatchError


class LabError(ValueError):
    """One line for the user."""


def run_command(args: argparse.Namespace) -> int:
    """``args.run(args)`` (the sub-command argparse chose), a mistake turned into its one line."""
    try:
        return int(args.run(args) or 0)
    except (LabError, VoxwatchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
