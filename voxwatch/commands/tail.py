"""``voxwatch tail``: print events from one or more publishers as JSON lines (for jq and scripts)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from voxwatch.commands.curve_options import add_curve_arguments, curve_from_args
from voxwatch.config import DEFAULT_PUBLISH_URL

HELP = "print events from the ZeroMQ stream as JSON lines"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connect", action="append", metavar="URL",
                        help=f"publisher or broker endpoint (repeatable; default {DEFAULT_PUBLISH_URL})")
    parser.add_argument("--topic", action="append", metavar="PREFIX",
                        help="topic prefix to subscribe to (repeatable; default all voxwatch events), "
                             "e.g. voxwatch.alert")
    parser.add_argument("--count", type=int, metavar="N", help="exit after N events")
    parser.add_argument("--timeout", type=float, metavar="S", help="exit after S seconds")
    parser.add_argument("--with-topic", action="store_true", help="add the topic to each line as \"topic\"")
    add_curve_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from voxwatch.transport.subscriber import EventSubscriber

    curve = curve_from_args(args, binds=False, connects=True)
    subscriber = EventSubscriber(args.connect or [DEFAULT_PUBLISH_URL], args.topic or ["voxwatch."],
                                 configure_socket=curve)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    printed = 0
    try:
        while args.count is None or printed < args.count:
            wait = 200 if deadline is None else int(max(0.0, deadline - time.monotonic()) * 1000)
            if deadline is not None and wait <= 0:
                break
            event = subscriber.receive(min(wait, 200))
            if event is None:
                continue
            topic, body = event
            if args.with_topic:
                body = {"topic": topic, **body}
            sys.stdout.write(json.dumps(body, separators=(",", ":")) + "\n")
            sys.stdout.flush()
            printed += 1
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `voxwatch tail | head` closes the pipe: not an error
        return 0
    finally:
        subscriber.close()
    return 0
