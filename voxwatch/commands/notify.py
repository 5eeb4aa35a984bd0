"""``voxwatch notify``: deliver alerts to webhooks, commands and the desktop (a subscriber, like ``tail``).

It connects to one daemon or a broker with the same ``--connect``/``--topic``/``--curve-*`` options as ``tail``,
and passes each event to ``voxwatch.notify.Notifier``. Being only a subscriber, it cannot slow the daemons: each
receiver has its own bounded queue (README, "Get alerts"). SIGINT/SIGTERM stop it; it then gives the receivers
``--drain`` seconds for what is queued and prints its counters on stderr.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from typing import Any

from voxwatch.commands.curve_options import add_curve_arguments, curve_from_args
from voxwatch.config import DEFAULT_PUBLISH_URL

HELP = "deliver alerts to webhooks, a command or desktop notifications"
log = logging.getLogger(__name__)
DEFAULT_TOPIC = "voxwatch.alert."
_REPORT_EVERY_S = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connect", action="append", metavar="URL",
                        help=f"daemon or broker endpoint (repeatable; default {DEFAULT_PUBLISH_URL})")
    parser.add_argument("--topic", action="append", metavar="PREFIX",
                        help=f"topic prefix to deliver (repeatable; default {DEFAULT_TOPIC}, i.e. alerts only)")
    sinks = parser.add_argument_group("receivers (at least one)")
    sinks.add_argument("--webhook", action="append", metavar="URL",
                       help="POST each event's JSON to this http(s) URL (repeatable; https is verified)")
    sinks.add_argument("--header", action="append", metavar="'NAME: VALUE'",
                       help="extra HTTP header for every webhook, e.g. 'Authorization: Bearer TOKEN' (repeatable)")
    sinks.add_argument("--exec", action="append", dest="exec_", metavar="CMD",
                       help="run CMD per event with the event JSON on standard input (split like a shell "
                            "would, never run by one; repeatable)")
    sinks.add_argument("--desktop", action="store_true", help="a desktop notification per event (notify-send)")
    tuning = parser.add_argument_group("delivery")
    tuning.add_argument("--timeout", type=float, default=5.0, metavar="S",
                        help="per attempt: HTTP timeout / command run time (default 5)")
    tuning.add_argument("--retries", type=int, default=3, metavar="N",
                        help="retries after a failed attempt, with backoff 0.5 s doubling up to 10 s (default 3)")
    tuning.add_argument("--queue", type=int, default=100, metavar="N",
                        help="events waiting per receiver; when full the oldest is dropped and counted "
                             "(default 100)")
    tuning.add_argument("--cafile", metavar="FILE", help="CA certificates to verify https webhooks with "
                        "(default: the system's)")
    tuning.add_argument("--drain", type=float, default=5.0, metavar="S",
                        help="on exit, wait at most S seconds for queued deliveries (default 5)")
    parser.add_argument("--for", dest="duration", type=float, metavar="S", help="exit after S seconds")
    add_curve_arguments(parser)


def build_sinks(args: argparse.Namespace) -> list[Any]:
    """The receivers the options ask for; a ConfigError (one line, exit 2) for a wrong one."""
    from voxwatch.errors import ConfigError
    from voxwatch.notify.command_sink import CommandSink, DesktopSink
    from voxwatch.notify.webhook import WebhookSink, parse_header

    headers = dict(parse_header(h) for h in args.header or [])
    if headers and not args.webhook:
        raise ConfigError("--header needs --webhook")
    sinks: list[Any] = [WebhookSink(url, headers, args.timeout, args.cafile) for url in args.webhook or []]
    sinks += [CommandSink(command, args.timeout) for command in args.exec_ or []]
    if args.desktop:
        sinks.append(DesktopSink(args.timeout))
    if not sinks:
        raise ConfigError("no receiver: give --webhook URL, --exec CMD and/or --desktop")
    return sinks


def run(args: argparse.Namespace) -> int:
    from voxwatch.notify.delivery import DeliverySettings
    from voxwatch.notify.notifier import Notifier
    from voxwatch.transport.subscriber import EventSubscriber

    settings = DeliverySettings(queue_size=args.queue, retries=args.retries)
    notifier = Notifier(build_sinks(args), settings)
    curve = curve_from_args(args, binds=False, connects=True)
    subscriber = EventSubscriber(args.connect or [DEFAULT_PUBLISH_URL], args.topic or [DEFAULT_TOPIC],
                                 configure_socket=curve)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    deadline = None if args.duration is None else time.monotonic() + args.duration
    next_report = time.monotonic() + _REPORT_EVERY_S
    notifier.start()
    log.info("delivering %s from %s to: %s", ", ".join(args.topic or [DEFAULT_TOPIC]),
             ", ".join(subscriber.urls), "; ".join(d.sink.name for d in notifier.deliveries))
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            event = subscriber.receive(200)
            if event is not None:
                notifier.deliver(event[1])
            if time.monotonic() >= next_report:
                next_report += _REPORT_EVERY_S
                for line in notifier.report():
                    log.info("counters: %s", line)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        subscriber.close()
        notifier.close(args.drain)
        for line in notifier.report():
            print(f"voxwatch: notify: {line}", file=sys.stderr)
        sys.stderr.flush()
    return 0
