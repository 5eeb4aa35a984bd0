"""``voxwatch config``: print the files an installation starts from, from the installed package itself.

A wheel has no ``configs/`` folder beside it, so ``--default`` prints the commented default config (every key,
what it does, its default), ``--systemd-unit`` the hardened system unit (a service account, ALSA devices) and
``--systemd-user-unit`` the desktop's user unit (``systemctl --user``: your sound session, so ``--system-audio``
works); redirect either into place. The units' ``ExecStart`` names the voxwatch that printed them.
"""

from __future__ import annotations

import argparse
import sys

HELP = ("print the commented default config (--default) or a systemd unit (--systemd-unit, or "
        "--systemd-user-unit for a desktop)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--default", action="store_true",
                       help="the default config with its comments, e.g. > /etc/voxwatch/voxwatch.toml")
    which.add_argument("--systemd-unit", action="store_true",
                       help="the system unit (a service account, ALSA devices), e.g. "
                            "> /etc/systemd/system/voxwatch.service")
    which.add_argument("--systemd-user-unit", action="store_true",
                       help="the user unit for a desktop (systemctl --user; microphone and --system-audio in your "
                            "sound session), e.g. > ~/.config/systemd/user/voxwatch.service")


def run(args: argparse.Namespace) -> int:
    from voxwatch.configs import (
        DEFAULT_CONFIG,
        SYSTEMD_UNIT,
        SYSTEMD_USER_UNIT,
        installed_executable,
        shipped_text,
        unit_text,
    )

    if args.default:
        sys.stdout.write(shipped_text(DEFAULT_CONFIG))
    else:
        sys.stdout.write(unit_text(SYSTEMD_UNIT if args.systemd_unit else SYSTEMD_USER_UNIT, installed_executable()))
    return 0
