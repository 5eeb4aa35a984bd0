"""systemd's notify protocol for ``Type=notify`` units, without a dependency: datagrams to ``$NOTIFY_SOCKET``.

The daemon says ``READY=1`` once its pipeline and publisher run (systemd then counts the unit as started),
``WATCHDOG=1`` from its heartbeat loop, and ``STOPPING=1`` when it begins to drain. The watchdog pings are only
sent while the pipeline shows progress (``Pipeline.stalled_s``): a hung pipeline stops them, and systemd restarts
the unit after ``WatchdogSec``. Outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends state lines to the service manager; a failed send is logged at debug level and otherwise ignored."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        address = environ.get("NOTIFY_SOCKET", "")
        # "@name" is a socket in the abstract namespace (a leading NUL byte)
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_s = _watchdog_seconds(environ)

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, *states: str) -> bool:
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto("\n".join(states).encode(), self.address)
            return True
        except OSError as exc:
            log.debug("sd_notify %s failed: %s", states, exc)
            return False


def _watchdog_seconds(environ: Mapping[str, str]) -> float | None:
    """``WatchdogSec`` as systemd passes it (``WATCHDOG_USEC``, for ``WATCHDOG_PID`` if that is set), or None."""
    pid = environ.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1e6 if usec > 0 else None


class WatchdogPinger:
    """Called from the heartbeat loop: pings twice per watchdog period while ``stalled_s()`` stays under half of it.

    A pipeline that makes no progress for half the period gets no more pings (logged once); systemd then restarts
    the daemon when the full period has passed without one.
    """

    def __init__(self, notifier: SystemdNotifier, stalled_s: Callable[[], float]) -> None:
        self.notifier = notifier
        self.stalled_s = stalled_s
        self.interval = notifier.watchdog_s / 2 if notifier.watchdog_s else None
        self._next = 0.0
        self._withheld = False

    def tick(self, now: float | None = None) -> None:
        if self.interval is None:
            return
        now = time.monotonic() if now is None else now
        if now < self._next:
            return
        stalled = self.stalled_s()
        if stalled >= self.interval:
            if not self._withheld:
                log.error("pipeline has made no progress for %.1f s: watchdog pings withheld, systemd will restart "
                          "the daemon", stalled)
                self._withheld = True
            return
        if self._withheld:
            log.warning("pipeline is making progress again: watchdog pings resumed")
            self._withheld = False
        self.notifier.notify("WATCHDOG=1")
        self._next = now + self.interval
