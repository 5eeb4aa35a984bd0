"""A SUB-side client for the event stream: strict decoding, malformed-message counting and loss detection.

``tail`` and ``monitor`` (and any Python consumer) use ``EventSubscriber``. Loss shows as a gap in a daemon's
``seq``; a restarted daemon (new pid, seq back to 0) is not counted as loss.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import zmq

from voxwatch.transport.endpoints import check_endpoints
from voxwatch.transport.events import MAX_MESSAGE_BYTES, MalformedMessage, decode_message
from voxwatch.transport.peers import PeerWatcher

log = logging.getLogger(__name__)


@dataclass
class SeqTracker:
    """Per-publisher ``seq`` bookkeeping: counts missing messages, notices restarts.

    The one loss counter of voxwatch: the subscriber, the monitor, the benchmark's subscriber and the broker
    benchmark all count with it, so "N events lost" means the same everywhere. ``first_seq``: the seq a daemon's
    first message should carry, for a consumer that was listening before any daemon started (a benchmark); None
    (the default) takes a daemon's first message as it comes, since a consumer joining late missed nothing.
    """

    first_seq: int | None = None
    last: dict[str, tuple[int, int]] = field(default_factory=dict)  # daemon id -> (pid, seq)
    gaps: dict[str, int] = field(default_factory=dict)  # daemon id -> messages missing

    @property
    def lost(self) -> int:
        """Messages missing over all daemons."""
        return sum(self.gaps.values())

    def observe(self, body: dict[str, Any]) -> int:
        """Record a message; returns how many messages of its daemon were missed just before it."""
        daemon = body["daemon"]
        key = str(daemon.get("id"))
        pid = int(daemon.get("pid", 0)) if isinstance(daemon.get("pid", 0), int) else 0
        seq = body["seq"]
        previous = self.last.get(key)
        self.last[key] = (pid, seq)
        if previous is None:
            missed = seq - self.first_seq if self.first_seq is not None and seq > self.first_seq else 0
        elif previous[0] != pid or seq <= previous[1]:
            return 0  # restart, or duplicate/reorder: not loss
        else:
            missed = seq - previous[1] - 1
        if missed:
            self.gaps[key] = self.gaps.get(key, 0) + missed
        return missed


class EventSubscriber:
    """Connects a SUB socket to one or more publishers (or brokers) and yields decoded events."""

    def __init__(
        self,
        urls: Iterable[str],
        topics: Iterable[str] = ("voxwatch.",),
        context: zmq.Context | None = None,
        max_bytes: int = MAX_MESSAGE_BYTES,
        configure_socket: Callable[[zmq.Socket], None] | None = None,
    ) -> None:
        urls = list(urls)
        check_endpoints(urls)
        self._context = context or zmq.Context.instance()
        self.socket = self._context.socket(zmq.SUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.MAXMSGSIZE, max_bytes)
        self.socket.setsockopt(zmq.RCVHWM, 100000)
        if configure_socket:
            configure_socket(self.socket)
        # after the hook: a socket has one monitor, so this replaces a CURVE hook's watcher (it logs the same way)
        self._peers = PeerWatcher("client", "subscriber")
        self._peers.watch(self.socket)
        self.max_bytes = max_bytes
        for topic in topics:
            self.socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
        self.urls = list(urls)
        for url in self.urls:
            self.socket.connect(url)
        self.malformed = 0
        self.auth_failures = 0  # the server refused our CURVE key (a reconnect each time)
        self.handshake_failures = 0  # other failed handshakes (plain vs CURVE, wrong server key)
        self.received = 0
        self.rejoined = 0
        self.seq = SeqTracker()

    def _rejoin(self) -> None:
        """Connect again where ZeroMQ gave up: after an oversized or garbled frame from that publisher (counted as
        malformed), or after the server refused our CURVE key or handshake (counted as such; the peer watcher has
        already logged why, at most once a minute per server, and a key added to its allow-list later is then
        admitted without restarting us)."""
        for endpoint, cause in self._peers.take_lost():
            if endpoint not in self.urls:
                continue
            if cause == "auth":
                self.auth_failures += 1
            elif cause == "handshake":
                self.handshake_failures += 1
            else:
                log.warning("publisher %s sent a malformed frame and was cut off; connecting again", endpoint)
                self.malformed += 1
            self.rejoined += 1
            try:
                self.socket.disconnect(endpoint)
            except zmq.ZMQError:
                pass
            self.socket.connect(endpoint)

    def receive(self, timeout_ms: int | None) -> tuple[str, dict[str, Any]] | None:
        """The next valid event, or None on timeout. Malformed messages are counted, logged and skipped."""
        deadline = None if timeout_ms is None else time.monotonic() + timeout_ms / 1000
        while True:
            self._rejoin()
            wait = 250 if deadline is None else max(0, min(250, int((deadline - time.monotonic()) * 1000)))
            if not self.socket.poll(wait):
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                continue
            frames = self.socket.recv_multipart(copy=True)
            try:
                topic, body = decode_message(frames, self.max_bytes)
            except MalformedMessage as exc:
                self.malformed += 1
                log.warning("skipped malformed message: %s", exc)
                continue
            self.received += 1
            self.seq.observe(body)
            return topic, body

    def close(self) -> None:
        self.socket.close(0)
