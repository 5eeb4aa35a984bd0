"""``voxwatch broker --frontend URL --backend URL``: the fleet's meeting point (loop in voxwatch.transport.broker).

Daemons connect their publishers to the frontend (``publish.connect`` in their config, or ``replay --connect``);
consumers (tail, monitor, scripts) connect to the backend. Subscriptions travel upstream to the daemons, every
message is checked against the event schema, and the broker's own heartbeat goes out on ``voxwatch.status.broker``.
Both endpoints default to loopback; SIGINT/SIGTERM stop it cleanly after a last ``stopping`` status.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from voxwatch.transport.endpoints import DEFAULT_BACKEND, DEFAULT_FRONTEND
from voxwatch.transport.events import MAX_MESSAGE_BYTES

HELP = "forward events from many daemons to many consumers (XSUB/XPUB), with validation and its own heartbeat"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.commands.curve_options import add_curve_arguments

    parser.add_argument("--frontend", action="append", metavar="URL",
                        help=f"where daemons connect their publishers (repeatable; default {DEFAULT_FRONTEND})")
    parser.add_argument("--backend", action="append", metavar="URL",
                        help=f"where consumers (tail, monitor) connect (repeatable; default {DEFAULT_BACKEND})")
    parser.add_argument("--id", dest="broker_id", default="", help="id in the broker's heartbeat (default broker-HOST)")
    parser.add_argument("--heartbeat", type=float, default=5.0, metavar="S",
                        help="seconds between voxwatch.status.broker heartbeats (default 5)")
    parser.add_argument("--max-message-bytes", type=int, default=MAX_MESSAGE_BYTES, metavar="N",
                        help=f"larger messages are dropped, a sender of larger frames is cut off "
                             f"(default {MAX_MESSAGE_BYTES})")
    parser.add_argument("--no-validate", action="store_true",
                        help="forward messages without checking them against the event schema")
    add_curve_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from voxwatch.commands.curve_options import curve_from_args
    from voxwatch.commands.signals import ShutdownSignals
    from voxwatch.transport.broker import Broker, BrokerSettings

    settings = BrokerSettings(frontend=tuple(args.frontend or (DEFAULT_FRONTEND,)),
                              backend=tuple(args.backend or (DEFAULT_BACKEND,)), broker_id=args.broker_id,
                              heartbeat_s=args.heartbeat, max_message_bytes=args.max_message_bytes,
                              validate=not args.no_validate)
    broker = Broker(settings, configure_socket=curve_from_args(args, binds=True, connects=False))
    threading.Thread(target=_announce, args=(broker,), daemon=True).start()
    with ShutdownSignals() as signals:
        broker.serve(signals.stop)
    c = broker.counters
    print(f"voxwatch broker: stopped; {c.messages_forwarded} messages forwarded, {c.malformed} malformed dropped",
          file=sys.stderr)
    return 0


def _announce(broker: Any) -> None:
    """Say where the broker listens (the real ports when a URL asked for ``*``), once it is bound."""
    if broker.wait_ready(10):
        print(f"voxwatch broker: frontend (daemons connect) {' '.join(broker.frontend_endpoints)}; "
              f"backend (consumers connect) {' '.join(broker.backend_endpoints)}", file=sys.stderr, flush=True)
