"""``voxwatch monitor``: a live terminal dashboard of one or more daemons (or a broker), streams grouped by daemon.

The loop receives events (``EventSubscriber``: strict decoding, malformed messages counted and skipped), folds
them into a ``MonitorState`` and re-renders with ``voxwatch.monitor.view.render`` a few times a second, fitted to
the terminal's height (the newest alerts first; the health table always shown). ``--once`` collects for ``--for``
seconds and prints one whole snapshot (``voxwatch.monitor.collect.monitor_once``). Quits on q (when stdin is a
terminal) or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from voxwatch.commands.curve_options import add_curve_arguments, curve_from_args
from voxwatch.config import DEFAULT_PUBLISH_URL

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

    from voxwatch.monitor.collect import monitor_once, pump
    from voxwatch.monitor.state import MonitorState
    from voxwatch.monitor.view import render
    from voxwatch.transport.subscriber import EventSubscriber

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

    def dashboard():  # fitted to the terminal as it is now (a line spare: the cursor stays below the dashboard)
        return render(state, time.monotonic(), urls, args.alerts, max_height=max(10, console.size.height - 1))

    try:
        with _keys() as keys, Live(dashboard(), console=console, refresh_per_second=4, screen=False,
                                   transient=False) as live:
            while True:
                pump(subscriber, state, 0.25)
                live.update(dashboard())
                if "q" in keys().lower():
                    break
    except KeyboardInterrupt:
        pass
    finally:
        subscriber.close()
    return 0
