"""``voxwatch monitor``: a live terminal dashboard of one or more daemons (or a broker), streams grouped by daemon.

The loop receives events (``EventSubscriber``: strict decoding, malformed messages counted and skipped), folds
them into a ``MonitorState`` and re-renders with ``monitor_view.render`` a few times a second. ``--once`` collects
for ``--for`` seconds and prints one snapshot (for scripts and tests); ``monitor_once`` is the same as a function
that takes the Rich console to print to. Quits on q (when stdin is a terminal) or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from typing import Any

from voxwatch.config import DEFAULT_PUBLISH_URL
from voxwatch.daemon.security import add_curve_arguments, curve_from_args

HELP = "live dashboard of daemons: streams, scores, alerts, health"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connect", action="append", metavar="URL",
                        help=f"daemon or broker endpoint (repeatable; default {DEFAULT_PUBLISH_URL})")
    parser.add_argument("--once", action="store_true", help="collect for --for seconds, print one snapshot, exit")
    parser.add_argument("--for", dest="collect_s", type=float, default=6.0, metavar="S",
                        help="with --once: how long to collect before printing (default 6, > one heartbeat)")
    parser.add_argument("--stale", type=float, metavar="S",
                        help="warn when a daemon's heartbeat is older than S seconds (default: 3 heartbeat periods)")
    parser.add_argument("--alerts", type=int, default=8, metavar="N", help="alert log lines shown (default 8)")
    add_curve_arguments(parser)


def _pump(subscriber: Any, state: Any, budget_s: float) -> None:
    """Receive and apply events for up to ``budget_s`` seconds."""
    deadline = time.monotonic() + budget_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        event = subscriber.receive(max(1, int(remaining * 1000)))
        if event is None:
            return
        topic, body = event
        state.apply(topic, body, time.monotonic())
        state.malformed = subscriber.malformed


def monitor_once(urls: list[str], console: Any, collect_s: float = 6.0, stale_s: float | None = None,
                 alert_lines: int = 8, subscriber: Any = None, state: Any = None) -> Any:
    """Collect events for ``collect_s`` seconds, print one snapshot to ``console``; returns the state.

    Pass ``subscriber`` and ``state`` to continue from an earlier call (tests take several snapshots)."""
    from voxwatch.daemon.monitor_state import MonitorState
    from voxwatch.daemon.monitor_view import render
    from voxwatch.daemon.subscriber import EventSubscriber

    own = subscriber is None
    subscriber = subscriber or EventSubscriber(urls)
    state = state or MonitorState(stale_s=stale_s)
    try:
        _pump(subscriber, state, collect_s)
        console.print(render(state, time.monotonic(), urls, alert_lines))
    finally:
        if own:
            subscriber.close()
    return state


@contextlib.contextmanager
def _keys():
    """Yields a function that returns pressed keys (non-blocking); cbreak mode only when stdin is a terminal."""
    if not sys.stdin.isatty():
        yield lambda: ""
        return
    import select
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)

        def read() -> str:
            keys = ""
            while select.select([fd], [], [], 0)[0]:
                keys += sys.stdin.read(1)
            return keys

        yield read
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.live import Live

    from voxwatch.daemon.monitor_state import MonitorState
    from voxwatch.daemon.monitor_view import render
    from voxwatch.daemon.subscriber import EventSubscriber

    urls = args.connect or [DEFAULT_PUBLISH_URL]
    console = Console()
    curve = curve_from_args(args, binds=False, connects=True)
    subscriber = EventSubscriber(urls, configure_socket=curve)
    if args.once:
        try:
            monitor_once(urls, console, args.collect_s, args.stale, args.alerts, subscriber=subscriber)
        finally:
            subscriber.close()
        return 0
    state = MonitorState(stale_s=args.stale)
    try:
        with _keys() as keys, Live(render(state, time.monotonic(), urls, args.alerts), console=console,
                                   refresh_per_second=4, screen=False, transient=False) as live:
            while True:
                _pump(subscriber, state, 0.25)
                live.update(render(state, time.monotonic(), urls, args.alerts))
                if "q" in keys().lower():
                    break
    except KeyboardInterrupt:
        pass
    finally:
        subscriber.close()
    return 0
