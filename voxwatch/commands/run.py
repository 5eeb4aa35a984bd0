"""``voxwatch run``: the long-running daemon (``voxwatch.daemon.service``) under the command's signals.

SIGINT/SIGTERM drain and exit 0 (a second one exits at once, status 1); SIGHUP reloads ``[decision]``, the
``[verifier]`` gate and threshold, and ``[streams.<id>]``.
"""

from __future__ import annotations

import argparse
import sys

from voxwatch.commands.curve_options import add_curve_arguments
from voxwatch.config import DEFAULT_PUBLISH_URL

HELP = "capture microphones and publish detections (the daemon)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.commands.common import CONFIG_HELP, add_model_arguments

    parser.add_argument("--device", action="append", metavar="DEV",
                        help="input device index or name substring (repeatable: one stream each; default from "
                             "[capture] devices, else the system default input; see 'voxwatch devices')")
    parser.add_argument("--system-audio", action="store_true",
                        help="also capture what this computer plays (the default output's monitor: a call's "
                             "remote side) as the stream 'system-audio' (or [capture] system_audio = true)")
    add_model_arguments(parser, f"{CONFIG_HELP}; SIGHUP re-reads its [decision], [verifier] gate/threshold and "
                                "[streams.*]")
    parser.add_argument("--publish", action="append", metavar="URL",
                        help=f"bind the event publisher here (repeatable; default from config, {DEFAULT_PUBLISH_URL})")
    parser.add_argument("--connect", action="append", metavar="URL",
                        help="connect the publisher to a broker's frontend instead of binding (repeatable)")
    parser.add_argument("--daemon-id", metavar="ID", help="id in every event's daemon field (default: host name)")
    parser.add_argument("--no-evidence", action="store_true", help="do not save alert clips (overrides [evidence])")
    parser.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="serve Prometheus metrics on this loopback port (overrides [metrics])")
    parser.add_argument("--drain-timeout", type=float, default=5.0, metavar="S",
                        help="on SIGTERM/SIGINT, wait at most S seconds for queued windows to be judged (default 5)")
    add_curve_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from voxwatch.commands.common import publisher_from_args
    from voxwatch.commands.signals import ShutdownSignals
    from voxwatch.config import load_config
    from voxwatch.daemon.service import DaemonService, ServiceOptions
    from voxwatch.errors import VoxwatchError
    from voxwatch.transport.endpoints import check_endpoints

    if not args.drain_timeout >= 0:  # NaN too
        raise VoxwatchError(f"--drain-timeout must be >= 0 seconds, not {args.drain_timeout:g}")
    check_endpoints((*(args.publish or ()), *(args.connect or ())))  # before opening any device
    options = ServiceOptions(config_path=args.config, model=args.model, verifier=args.verifier,
                             devices=tuple(args.device or ()),
                             system_audio=args.system_audio,
                             evidence=not args.no_evidence, metrics_port=args.metrics_port,
                             drain_timeout=args.drain_timeout)
    service = DaemonService(options, load_config(args.config), lambda publish: publisher_from_args(args, publish))
    with ShutdownSignals(reload=True) as signals:
        return service.serve(signals.stop, signals.reload, announce=lambda line: print(line, file=sys.stderr,
                                                                                         flush=True))
