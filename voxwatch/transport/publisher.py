"""ZeroMQ event publisher: one thread owns the socket; the pipeline hands it events through a bounded queue.

* The socket is an XPUB (a PUB that also tells us when subscribers come and go), bound and/or connected to
  the configured endpoints; ``connect`` is how a daemon joins a broker (``voxwatch broker``).
* ``submit`` never blocks: a full queue drops the event and counts it (``events_dropped`` in status).
  ZeroMQ itself drops for a subscriber whose send high-water mark is reached; subscribers see that as a ``seq``
  gap, which is why every message carries the publisher's own ``seq``.
* Every ``heartbeat_s`` a ``voxwatch.status`` heartbeat goes out with the pipeline's counters; ``close`` sends a
  last status with ``state: "stopping"`` and lingers so queued messages get out.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import zmq

from voxwatch.config import PublishSettings
from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.types import JudgementEvent, PipelineEvent, StreamEvent
from voxwatch.transport.endpoints import check_endpoints, is_loopback_endpoint
from voxwatch.transport.events import SCHEMA_VERSION, encode, event_fields, topic_for

log = logging.getLogger(__name__)
_CLOSE = object()
_IDLE_WAKE_S = 0.2  # longest idle wait of the publisher thread (new subscriptions are counted within this)


class EventPublisher:
    """Owns the XPUB socket in its own thread. Use ``start``, ``submit`` (any thread), ``close``."""

    def __init__(
        self,
        settings: PublishSettings,
        stats: Callable[[], dict[str, Any]] | None = None,
        context: zmq.Context | None = None,
        configure_socket: Callable[[zmq.Socket], None] | None = None,
    ) -> None:
        check_endpoints((*settings.bind, *settings.connect))
        self.settings = settings
        self._stats = stats or (lambda: {})
        self._context = context or zmq.Context.instance()
        self._configure = configure_socket
        self._queue: queue.Queue = queue.Queue(maxsize=settings.queue_size)
        self._thread = threading.Thread(target=self._loop, name="voxwatch-publisher", daemon=True)
        self._ready = threading.Event()
        self._error: str | None = None
        self._state = "running"
        self.daemon = {"id": settings.resolved_daemon_id, "host": socket.gethostname(), "pid": os.getpid()}
        self.seq = 0
        self.events_published = 0
        self.events_dropped = 0
        self.subscriptions = 0
        self.bound: list[str] = []
        self._started = time.time()
        self._extra_status: dict[str, Any] = {}

    # ------------------------------------------------------------------ API
    def start(self, timeout: float = 5.0) -> None:
        """Bind/connect in the publisher thread; raises VoxwatchError if an endpoint cannot be used."""
        if not self.settings.bind and not self.settings.connect:
            raise VoxwatchError("publish: no bind or connect endpoint configured")
        self._thread.start()
        if not self._ready.wait(timeout):
            raise VoxwatchError("publisher did not start in time")
        if self._error:
            self._thread.join(1)
            raise VoxwatchError(self._error)

    def submit(self, event: PipelineEvent | tuple[str, dict[str, Any]]) -> bool:
        """Queue an event for publishing; never blocks. False (and counted) if the queue was full."""
        try:
            self._queue.put_nowait(event)
            return True
        except queue.Full:
            self.events_dropped += 1
            return False

    def wait_for_subscribers(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until ``count`` subscriptions arrived (or timeout): avoids losing a replay's first events."""
        deadline = time.monotonic() + timeout
        while self.subscriptions < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.subscriptions >= count

    def close(self, state: str = "stopping", timeout: float = 5.0) -> None:
        """Publish what is queued, a last status with ``state``, then close the socket (lingering)."""
        if not self._thread.is_alive():
            return
        self._state = state
        try:
            self._queue.put(_CLOSE, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(timeout + self.settings.linger_ms / 1000)

    def attach_stats(self, stats: Callable[[], dict[str, Any]]) -> None:
        """Where heartbeats get their counters (usually ``Pipeline.stats``, which is built after the publisher)."""
        self._stats = stats

    def set_status_extra(self, **fields: Any) -> None:
        """Extra fields for heartbeats (e.g. the model id), set before or while running."""
        self._extra_status.update(fields)

    @property
    def queued(self) -> int:
        """Events handed to ``submit`` that the publisher thread has not sent yet."""
        return self._queue.qsize()

    @property
    def thread(self) -> threading.Thread:
        """The thread that owns the socket (the benchmark reads its CPU clock)."""
        return self._thread

    # ------------------------------------------------------------------ thread
    def _loop(self) -> None:
        try:
            sock = self._context.socket(zmq.XPUB)
            sock.setsockopt(zmq.SNDHWM, self.settings.sndhwm)
            sock.setsockopt(zmq.LINGER, self.settings.linger_ms)
            if self._configure:
                self._configure(sock)
            curve = sock.getsockopt(zmq.MECHANISM) == zmq.CURVE  # set by a CURVE configure_socket hook
            for url in self.settings.bind:
                if not is_loopback_endpoint(url) and not curve:
                    log.warning("publishing on non-loopback endpoint %s without CURVE: anyone who can reach it "
                                "can read the alert stream (see README, Running a fleet)", url)
                sock.bind(url)
                self.bound.append(sock.getsockopt_string(zmq.LAST_ENDPOINT))
            for url in self.settings.connect:
                sock.connect(url)
        except zmq.ZMQError as exc:
            self._error = f"publish: cannot use endpoint ({exc}); is another daemon already bound there?"
            self._ready.set()
            return
        self._ready.set()
        next_beat = time.monotonic()
        try:
            while True:
                self._read_subscriptions(sock)
                now = time.monotonic()
                if now >= next_beat:
                    self._send(sock, "status", None, self._status_fields())
                    next_beat = now + self.settings.heartbeat_s
                try:
                    # events wake this at once; the timeout only paces subscription bookkeeping and heartbeats
                    # (wake-ups dominate an idle daemon's cost; docs/performance.md)
                    item = self._queue.get(timeout=min(_IDLE_WAKE_S, max(0.0, next_beat - time.monotonic())))
                except queue.Empty:
                    continue
                if item is _CLOSE:
                    self._send(sock, "status", None, self._status_fields())
                    break
                self._publish(sock, item)
        finally:
            sock.close()

    def _read_subscriptions(self, sock: zmq.Socket) -> None:
        while True:
            try:
                message = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if message[:1] == b"\x01":
                self.subscriptions += 1
            elif message[:1] == b"\x00":
                self.subscriptions = max(0, self.subscriptions - 1)

    def _publish(self, sock: zmq.Socket, item: Any) -> None:
        if isinstance(item, JudgementEvent):
            fields = event_fields(item.judgement, item.model_id, item.model_sha256, item.verifier_id)
            fields["latency_ms"] = round((time.monotonic() - item.t_ready) * 1000, 3)
            self._send(sock, item.judgement.kind, item.stream, fields)
        elif isinstance(item, StreamEvent):
            fields = {"state": item.state, "detail": item.detail, "source": item.source}
            self._send(sock, "stream", item.stream, fields)
        elif isinstance(item, tuple):  # (type, fields) from other daemon parts, e.g. status extras
            kind, fields = item
            self._send(sock, kind, fields.pop("stream", None), fields)

    def _status_fields(self) -> dict[str, Any]:
        stats = dict(self._stats())
        streams = stats.pop("streams", {})
        counters = {**stats, "events_published": self.events_published, "events_dropped": self.events_dropped,
                    "publish_queue": self._queue.qsize()}
        return {"state": self._state, "uptime_s": round(time.time() - self._started, 3),
                "heartbeat_s": self.settings.heartbeat_s, "counters": counters, "streams": streams,
                **self._extra_status}

    def _send(self, sock: zmq.Socket, kind: str, stream: str | None, fields: dict[str, Any]) -> None:
        body = {"schema": SCHEMA_VERSION, "type": kind, "daemon": self.daemon, "stream": stream,
                "seq": self.seq, "ts": round(time.time(), 6), **fields}
        frames = encode(topic_for(kind, stream), body)
        if sum(len(frame) for frame in frames) > self.settings.max_message_bytes:
            # subscribers and brokers would drop it as malformed: drop it here, counted, and say why
            self.events_dropped += 1
            log.warning("dropped a %s event over publish.max_message_bytes (%d bytes)", kind,
                        self.settings.max_message_bytes)
        else:
            try:
                sock.send_multipart(frames, flags=zmq.NOBLOCK)
                self.events_published += 1
            except zmq.Again:
                self.events_dropped += 1
        self.seq += 1
