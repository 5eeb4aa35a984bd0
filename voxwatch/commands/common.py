"""Glue shared by the sub-commands: the --model/--config options, stream ids from file names, the publisher from
arguments, the torch check."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from voxwatch.errors import VoxwatchError

if TYPE_CHECKING:
    from voxwatch.config import PublishSettings
    from voxwatch.pipeline.stdin import RawFormat
    from voxwatch.transport.publisher import EventPublisher

TRAIN_EXTRA_HINT = "install the train extra: pip install -e '.[train]'"


def require_torch() -> None:
    """One clear line instead of a traceback when the ``train`` extra is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise VoxwatchError(f"torch is not installed; {TRAIN_EXTRA_HINT}") from None


MODEL_HELP = "ONNX model with its .json card (default: the config's [model] path, else the bundled model)"
CONFIG_HELP = "TOML config (default: built-in; 'voxwatch config --default' prints it with every key explained)"
VERIFIER_HELP = ("the cascade's verifier: an ONNX model with its .json card, or 'none' for the filter alone "
                 "(default: the config's [verifier] model, else the bundled verifier)")


def add_model_arguments(parser: argparse.ArgumentParser, config_help: str = CONFIG_HELP,
                        verifier_help: str = VERIFIER_HELP) -> None:
    """``--model``, ``--config`` and ``--verifier``, as every command that judges audio takes them; the helps say
    what a command uses the config and the cascade's verifier for when that is more than the defaults."""
    parser.add_argument("--model", metavar="PATH", help=MODEL_HELP)
    parser.add_argument("--config", metavar="PATH", help=config_help)
    parser.add_argument("--verifier", metavar="PATH", help=verifier_help)


def add_stdin_arguments(parser: argparse.ArgumentParser) -> None:
    """``FILE`` may be ``-`` (standard input): WAV/FLAC/OGG, or raw PCM described by these options."""
    group = parser.add_argument_group("standard input (FILE '-')")
    group.add_argument("--raw-rate", type=int, metavar="HZ", help="standard input is raw PCM at this sample rate")
    group.add_argument("--raw-format", choices=("s16le", "f32le"), default="s16le",
                       help="raw PCM sample format (default s16le)")
    group.add_argument("--raw-channels", type=int, default=1, metavar="N", help="raw PCM channels (default 1)")


def raw_format_from_args(args: argparse.Namespace) -> RawFormat | None:
    from voxwatch.pipeline.stdin import RawFormat

    if args.raw_rate is None:
        return None
    return RawFormat(args.raw_rate, args.raw_format, args.raw_channels)


def file_stream_ids(paths: list[str]) -> list[str]:
    """Stream ids of replayed files: their stems (``stdin`` for ``-``), topic-safe and unique (``a``, ``a-2``)."""
    from voxwatch.transport.events import unique_stream_ids

    return unique_stream_ids("stdin" if path == "-" else Path(path).stem for path in paths)


def publisher_from_args(args: argparse.Namespace, publish: PublishSettings) -> EventPublisher:
    """The event publisher of ``run`` and ``replay``: ``--publish``/``--connect`` replace the config's endpoints,
    ``--daemon-id`` its id, and the ``--curve-*`` options secure the socket."""
    from voxwatch.commands.curve_options import curve_from_args
    from voxwatch.transport.publisher import EventPublisher

    if args.publish or args.connect:
        publish = dataclasses.replace(publish, bind=tuple(args.publish or ()), connect=tuple(args.connect or ()))
    if args.daemon_id:
        publish = dataclasses.replace(publish, daemon_id=args.daemon_id)
    curve = curve_from_args(args, binds=bool(publish.bind), connects=bool(publish.connect))
    return EventPublisher(publish, configure_socket=curve)

