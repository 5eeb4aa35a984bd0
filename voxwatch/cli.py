"""The ``voxwatch`` command line: one sub-command per module, imported only when needed.

Each command module defines ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int`` and keeps heavy imports
(onnxruntime, torch, sounddevice) inside ``run``, so ``voxwatch --help`` is fast and works without extras.
User errors (``VoxwatchError``) print one line and exit 2; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Mapping

# Before numpy loads: the pipeline's matrix products are small (a window's frames x 257 bins x the filters), and a
# multi-threaded BLAS spins its helper threads on them, which costs several times the work itself on a busy machine
# (figures: docs/performance.md). The daemon gets its parallelism from its own threads. An explicit
# OPENBLAS_NUM_THREADS in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from voxwatch import __version__  # noqa: E402
from voxwatch.commands.output_paths import prepare_outputs  # noqa: E402
from voxwatch.errors import VoxwatchError  # noqa: E402
from voxwatch.malloc_tuning import pin_malloc_thresholds  # noqa: E402

LOG_LEVELS = ("debug", "info", "warning", "error")

# (command, module) in the order `--help` lists them
COMMANDS: list[tuple[str, str]] = [
    ("replay", "voxwatch.commands.replay"),
    ("score", "voxwatch.commands.score"),
    ("tail", "voxwatch.commands.tail"),
    ("notify", "voxwatch.commands.notify"),
    ("broker", "voxwatch.commands.broker"),
    ("keys", "voxwatch.commands.keys"),
    ("run", "voxwatch.commands.run"),
    ("devices", "voxwatch.commands.devices"),
    ("config", "voxwatch.commands.config"),
    ("monitor", "voxwatch.commands.monitor"),
    ("web", "voxwatch.commands.web"),
    ("bench", "voxwatch.commands.bench"),
    ("train", "voxwatch.commands.train"),
    ("export", "voxwatch.commands.export"),
    ("eval", "voxwatch.commands.eval"),
    ("calibrate", "voxwatch.commands.calibrate"),
    ("voices", "voxwatch.commands.voices"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voxwatch",
        description="Detect machine-generated speech (TTS, voice conversion, vocoders) in live audio.",
        epilog="Run 'voxwatch COMMAND --help' for a command's options. Events go out over ZeroMQ; see README.md.",
    )
    parser.add_argument("--version", action="version", version=f"voxwatch {__version__}")
    _add_log_arguments(parser, default=0)
    # the same options after the sub-command (``voxwatch run -v``); SUPPRESS keeps one given before it
    logging_options = argparse.ArgumentParser(add_help=False)
    _add_log_arguments(logging_options, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS:
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP, parents=[logging_options])
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def _add_log_arguments(parser: argparse.ArgumentParser, default: object) -> None:
    group = parser.add_argument_group("logging")
    group.add_argument("-v", "--verbose", action="count", default=default, help="more log output (-vv for debug)")
    group.add_argument("--log-level", choices=LOG_LEVELS, default=None if default == 0 else default,
                       help="log level (overrides -v; default warning)")


def log_format(environ: Mapping[str, str]) -> str:
    """Timestamps unless stderr goes to journald (``JOURNAL_STREAM`` set by systemd), which stamps lines itself."""
    if environ.get("JOURNAL_STREAM"):
        return "voxwatch: %(levelname)s: %(message)s"
    return "%(asctime)s voxwatch: %(levelname)s: %(message)s"


def log_level(args: argparse.Namespace) -> int:
    if getattr(args, "log_level", None):
        return getattr(logging, args.log_level.upper())
    return logging.WARNING - 10 * min(getattr(args, "verbose", 0), 2)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=log_level(args), format=log_format(os.environ), stream=sys.stderr)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    pin_malloc_thresholds()  # steady hot-path speed: see voxwatch/malloc_tuning.py
    try:
        prepare_outputs(args)  # before any work: a run must not end by failing to write its results
        return int(args._run(args) or 0)
    except VoxwatchError as exc:
        print(f"voxwatch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("voxwatch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
