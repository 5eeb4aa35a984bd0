"""``voxwatch config``: print the files an installation starts from, from the installed package itself.

A wheel has no ``configs/`` folder beside it, so ``--default`` prints the commented default config (every key,
what it does, its default) and ``--systemd-unit`` the hardened systemd unit; redirect either into place.
"""

from __future__ import annotations

import argparse
import sys

HELP = "print the commented default config (--default) or the systemd unit (--systemd-unit)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--default", action="store_true",
                       help="the default config with its comments, e.g. > /etc/voxwatch/voxwatch.toml")
    which.add_argument("--systemd-unit", action="store_true",
                       help="the systemd unit, e.g. > /etc/systemd/system/voxwatch.service")


def run(args: argparse.Namespace) -> int:
    from voxwatch.configs import DEFAULT_CONFIG, SYSTEMD_UNIT, shipped_text

    sys.stdout.write(shipped_text(DEFAULT_CONFIG if args.default else SYSTEMD_UNIT))
    return 0
