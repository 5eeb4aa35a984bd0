"""``Delivery``: one receiver's worker thread, bounded queue, retries with backoff and counters.

Why a thread and a queue per receiver: a webhook that hangs for its whole timeout, or a command that takes
seconds, must not delay the alerts going to the other receivers, nor the subscriber reading the stream (which
would then fall behind the daemons' high-water marks and lose events). The queue drops its *oldest* entry when
full, because when a receiver has been down for a while the newest alerts are the ones worth delivering.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from voxwatch.errors import ConfigError

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A receiver did not take an event. ``permanent``: retrying cannot help (e.g. HTTP 400, 401, 404)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sink(Protocol):
    """A receiver. ``send`` delivers one event or raises ``DeliveryError``; it must end within its own timeout.

    ``open`` (before the first event; a ConfigError there stops ``voxwatch notify`` with one line) and ``close``
    (after the last) are for receivers that hold a connection (MQTT); the others do nothing in them.
    """

    name: str

    def open(self) -> None: ...

    def send(self, event: dict[str, Any], body: bytes) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class DeliverySettings:
    """How hard to try: ``retries`` more attempts after the first, waiting ``backoff_initial_s`` doubling up to
    ``backoff_max_s`` between them; at most ``queue_size`` events wait per receiver."""

    queue_size: int = 100
    retries: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0

    def __post_init__(self) -> None:
        if self.queue_size <= 0 or self.retries < 0:
            raise ConfigError("notify: the queue size must be > 0 and retries >= 0")
        if self.backoff_initial_s <= 0 or self.backoff_max_s < self.backoff_initial_s:
            raise ConfigError("notify: backoff must be > 0 and its maximum at least its initial value")


@dataclass(frozen=True)
class DeliveryCounters:
    """A snapshot of one receiver's counters (what ``voxwatch notify`` reports)."""

    name: str
    accepted: int
    delivered: int
    failed: int
    retries: int
    dropped: int
    waiting: int
    last_error: str

    def line(self) -> str:
        text = (f"{self.name}: {self.delivered} delivered, {self.failed} failed, {self.retries} retries, "
                f"{self.dropped} dropped (queue full), {self.waiting} undelivered")
        return f"{text}; last error: {self.last_error}" if self.last_error else text


class Delivery:
    """Feeds one ``Sink`` from its own thread. ``offer`` (never blocks), ``close``, ``counters``."""

    def __init__(self, sink: Sink, settings: DeliverySettings) -> None:
        self.sink = sink
        self.settings = settings
        self._queue: deque[tuple[dict[str, Any], bytes]] = deque()
        self._cond = threading.Condition()
        self._closing = False  # no more offers; deliver what is queued
        self._abandon = threading.Event()  # stop now, even mid-retry
        self._busy = False
        self._thread = threading.Thread(target=self._loop, name=f"notify-{sink.name[:40]}", daemon=True)
        # each counter has one writer: offer() writes accepted/dropped, the worker the rest
        self.accepted = 0
        self.dropped = 0
        self.delivered = 0
        self.failed = 0
        self.retries = 0
        self.last_error = ""

    def start(self) -> None:
        self.sink.open()
        self._thread.start()

    def offer(self, event: dict[str, Any], body: bytes) -> None:
        """Queue an event; when the queue is full the oldest waiting event is dropped and counted."""
        with self._cond:
            if self._closing:
                return
            if len(self._queue) >= self.settings.queue_size:
                self._queue.popleft()
                self.dropped += 1
                log.warning("%s: queue full, dropped the oldest undelivered event", self.sink.name)
            self._queue.append((event, body))
            self.accepted += 1
            self._cond.notify()

    def close(self, timeout: float) -> None:
        """Deliver what is queued for at most ``timeout`` seconds, then give up on the rest (counted)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._abandon.set()
        with self._cond:
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(0.5)  # a send blocked in its own timeout keeps a daemon thread; exit anyway
        self.sink.close()

    def counters(self) -> DeliveryCounters:
        with self._cond:
            waiting = len(self._queue) + int(self._busy)
        return DeliveryCounters(self.sink.name, self.accepted, self.delivered, self.failed, self.retries,
                                self.dropped, waiting, self.last_error)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing and not self._abandon.is_set():
                    self._cond.wait()
                if self._abandon.is_set() or not self._queue:
                    return
                event, body = self._queue.popleft()
                self._busy = True
            try:
                self._deliver(event, body)
            finally:
                with self._cond:
                    self._busy = False

    def _deliver(self, event: dict[str, Any], body: bytes) -> None:
        delay = self.settings.backoff_initial_s
        for attempt in range(self.settings.retries + 1):
            if attempt:
                self.retries += 1
            t0 = time.monotonic()
            try:
                self.sink.send(event, body)
            except DeliveryError as exc:
                self.last_error = str(exc)
                final = exc.permanent or attempt == self.settings.retries
                log.info("%s: attempt %d failed after %.2f s: %s%s", self.sink.name, attempt + 1,
                         time.monotonic() - t0, exc, "" if final else f"; retrying in {delay:.1f} s")
                if final or self._abandon.wait(delay):
                    break
                delay = min(delay * 2, self.settings.backoff_max_s)
            else:
                self.delivered += 1
                log.info("%s: delivered %s event of stream %s", self.sink.name, event.get("type"),
                         event.get("stream"))
                return
        self.failed += 1
        log.warning("%s: gave up on an event (%s of stream %s): %s", self.sink.name, event.get("type"),
                    event.get("stream"), self.last_error)
