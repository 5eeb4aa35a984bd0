"""Glue shared by the sub-commands: stream ids from file names, the publisher from arguments, the torch check."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from voxwatch.errors import VoxwatchError
from voxwatch.transport.events import safe_stream_id

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


def unique_stream_ids(paths: list[str]) -> list[str]:
    """File stems as stream ids, made topic-safe and unique (``a``, ``a-2``, ...)."""
    seen: dict[str, int] = {}
    ids = []
    for path in paths:
        base = safe_stream_id("stdin" if path == "-" else Path(path).stem)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


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
