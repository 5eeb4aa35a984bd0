"""Stop and reload signals of the long-running commands (``run``, ``replay``, ``broker``), handled one way.

A signal handler runs between two bytecodes of the main thread, so it only records what was asked: the first
SIGTERM or SIGINT sets ``stop`` (the command then drains in its own time), a second one exits at once (status 1),
because a person who presses Ctrl-C twice does not want to wait for the drain. SIGHUP sets ``reload`` when the
command asks for it. The previous handlers come back on exit from the ``with`` block.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any


class ShutdownSignals:
    """``with ShutdownSignals(reload=True) as signals: ... signals.stop.wait() ... signals.reload.is_set()``."""

    def __init__(self, *, reload: bool = False) -> None:
        self.stop = threading.Event()
        self.reload = threading.Event()
        self.count = 0
        self._handle_reload = reload and hasattr(signal, "SIGHUP")
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> ShutdownSignals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._on_stop)
        if self._handle_reload:
            self._previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._on_reload)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:  # noqa: ARG002
        self.count += 1
        if self.count > 1:
            raise SystemExit(1)  # second signal: give up draining
        self.stop.set()

    def _on_reload(self, signum: int, frame: FrameType | None) -> None:  # noqa: ARG002
        self.reload.set()
