"""The broker's forwarder (behind ``voxwatch broker``): where a fleet's daemons publish and consumers subscribe.

::

    daemons (XPUB, connect) --> frontend XSUB [broker] backend XPUB <-- consumers (SUB: tail, monitor, scripts)

It is the classic ZeroMQ forwarder (what ``zmq.proxy(xsub, xpub)`` does) written as a small poll loop, because the
broker also checks what it forwards:

* subscriptions from consumers go upstream unchanged (XPUB -> XSUB -> every daemon's XPUB), so topic filtering
  stays at the publishers and a consumer of alerts only costs the daemons nothing else;
* every message from a daemon is checked with ``decode_message`` (frame count, size, JSON, schema version, fields);
  malformed ones are counted, logged (rate-limited) and dropped instead of reaching consumers. ``MAXMSGSIZE`` on
  the frontend makes ZeroMQ itself cut off a sender of oversized frames (it reconnects);
* its own heartbeat goes out on ``voxwatch.status.broker`` in the same schema (type ``status``) with counters and
  the daemons it has heard from, so a consumer can tell "broker down" from "daemon silent".

Both sockets bind (loopback by default; elsewhere without CURVE prints a warning). With CURVE the broker is the
server on both sides: daemons and consumers connect with the broker's public key, and only keys in the allow-list
directory get through (voxwatch.commands.curve_options).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import zmq

from voxwatch.errors import VoxwatchError
from voxwatch.transport.curve import uses_curve
from voxwatch.transport.endpoints import DEFAULT_BACKEND, DEFAULT_FRONTEND, check_endpoints, is_loopback_endpoint
from voxwatch.transport.events import (
    MAX_MESSAGE_BYTES,
    SCHEMA_VERSION,
    MalformedMessage,
    decode_message,
    encode,
    topic_for,
)
from voxwatch.transport.peers import PeerWatcher
from voxwatch.transport.ratelog import RateLimitedLog

BROKER_TOPIC = topic_for("status", "broker")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerSettings:
    """Where the broker listens and how strict it is."""

    frontend: tuple[str, ...] = (DEFAULT_FRONTEND,)  # daemons connect their publishers here
    backend: tuple[str, ...] = (DEFAULT_BACKEND,)  # consumers subscribe here
    broker_id: str = ""  # "" means "broker-<host name>"
    heartbeat_s: float = 5.0
    max_message_bytes: int = MAX_MESSAGE_BYTES
    validate: bool = True  # False: forward without decoding (counts only)
    hwm: int = 10000  # send/receive high-water marks on both sockets
    max_daemons: int = 1000  # how many daemon ids the status keeps

    def __post_init__(self) -> None:
        if not self.frontend or not self.backend:
            raise VoxwatchError("broker: need at least one frontend and one backend endpoint")
        if self.heartbeat_s <= 0 or self.max_message_bytes <= 0 or self.hwm <= 0:
            raise VoxwatchError("broker: heartbeat, max message size and hwm must be > 0")

    @property
    def resolved_id(self) -> str:
        return self.broker_id or f"broker-{socket.gethostname()}"


@dataclass
class _Seen:
    host: str
    pid: int
    last_seen: float
    messages: int = 0


@dataclass
class BrokerCounters:
    messages_in: int = 0
    messages_forwarded: int = 0
    malformed: int = 0
    bytes_in: int = 0
    subscriptions_forwarded: int = 0
    upstream_junk: int = 0  # non-subscription messages consumers sent to the backend
    daemons: dict[str, _Seen] = field(default_factory=dict)


class Broker:
    """Run with ``serve(stop_event)`` (blocking, e.g. the CLI) or ``start()``/``stop()`` (a background thread)."""

    def __init__(self, settings: BrokerSettings, configure_socket: Callable[[zmq.Socket], None] | None = None,
                 context: zmq.Context | None = None) -> None:
        check_endpoints((*settings.frontend, *settings.backend))
        self.settings = settings
        self._configure = configure_socket
        self._own_context = context is None
        self._context = context or zmq.Context()
        self.counters = BrokerCounters()
        self.topics: set[bytes] = set()
        self.frontend_endpoints: list[str] = []
        self.backend_endpoints: list[str] = []
        self.identity = {"id": settings.resolved_id, "host": socket.gethostname(), "pid": os.getpid()}
        self.seq = 0
        self._watchers: dict[str, PeerWatcher] = {}
        self._warn = RateLimitedLog(log)
        self._started = time.time()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: str | None = None

    # ------------------------------------------------------------------ background use
    def start(self, timeout: float = 5.0) -> None:
        self._thread = threading.Thread(target=self._serve_in_thread, name="voxwatch-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise VoxwatchError("broker did not start in time")
        if self._error:
            raise VoxwatchError(self._error)

    def wait_ready(self, timeout: float) -> bool:
        """True once both sockets are bound (``*_endpoints`` hold the real addresses); False on timeout or error."""
        return self._ready.wait(timeout) and not self._error

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def _serve_in_thread(self) -> None:
        try:
            self.serve(self._stop)
        except VoxwatchError as exc:
            self._error = str(exc)
            self._ready.set()

    # ------------------------------------------------------------------ the loop
    def serve(self, stop: threading.Event) -> None:
        """Bind, forward until ``stop`` is set, send a last ``stopping`` status, close. Raises VoxwatchError if an
        endpoint cannot be bound."""
        frontend = self._socket(zmq.XSUB, "frontend", self.settings.frontend, self.frontend_endpoints)
        try:
            backend = self._socket(zmq.XPUB, "backend", self.settings.backend, self.backend_endpoints)
        except VoxwatchError:
            frontend.close(0)
            self._finish()
            raise
        self._ready.set()
        poller = zmq.Poller()
        poller.register(frontend, zmq.POLLIN)
        poller.register(backend, zmq.POLLIN)
        next_beat = time.monotonic()
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now >= next_beat:
                    self._send_status(backend, "running")
                    next_beat = now + self.settings.heartbeat_s
                timeout_ms = max(0, min(100, int((next_beat - time.monotonic()) * 1000)))
                ready = dict(poller.poll(timeout_ms))
                if backend in ready:
                    self._forward_subscriptions(backend, frontend)
                if frontend in ready:
                    self._forward_events(frontend, backend)
            self._send_status(backend, "stopping")
        finally:
            frontend.close(linger=0)
            backend.close(linger=500)
            self._finish()

    def _finish(self) -> None:
        closer = getattr(self._configure, "close", None)
        if closer:
            closer()
        if self._own_context:
            self._context.term()

    def _socket(self, kind: int, label: str, urls: tuple[str, ...], bound: list[str]) -> zmq.Socket:
        sock = self._context.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, self.settings.hwm)
        sock.setsockopt(zmq.RCVHWM, self.settings.hwm)
        if kind == zmq.XSUB:
            sock.setsockopt(zmq.MAXMSGSIZE, self.settings.max_message_bytes)
        try:
            if self._configure:
                self._configure(sock)
            # after configure: a second monitor replaces the one CURVE set up, so there is one watcher per socket
            watcher = PeerWatcher("server", f"broker {label}")
            watcher.watch(sock)
            self._watchers[label] = watcher
            for url in urls:
                if not is_loopback_endpoint(url) and not uses_curve(sock):
                    log.warning("broker %s binds non-loopback endpoint %s without CURVE: anyone who can reach it "
                                "can %s", label, url,
                                "inject events" if label == "frontend" else "read the alert stream")
                sock.bind(url)
                bound.append(sock.getsockopt_string(zmq.LAST_ENDPOINT))
        except zmq.ZMQError as exc:
            sock.close(0)
            raise VoxwatchError(f"broker: cannot bind {label} ({exc}); is another broker already there?") from None
        return sock

    def _forward_subscriptions(self, backend: zmq.Socket, frontend: zmq.Socket) -> None:
        for _ in range(1000):
            try:
                message = backend.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if message[:1] == b"\x01":
                self.topics.add(message[1:])
            elif message[:1] == b"\x00":
                self.topics.discard(message[1:])
            else:
                self.counters.upstream_junk += 1
                continue
            frontend.send(message)
            self.counters.subscriptions_forwarded += 1

    def _forward_events(self, frontend: zmq.Socket, backend: zmq.Socket) -> None:
        counters = self.counters
        for _ in range(1000):
            try:
                frames = frontend.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            counters.messages_in += 1
            counters.bytes_in += sum(len(f) for f in frames)
            if self.settings.validate:
                try:
                    _, body = decode_message(frames, self.settings.max_message_bytes)
                except MalformedMessage as exc:
                    counters.malformed += 1
                    self._warn.warn("malformed", "broker dropped a malformed message: %s", exc)
                    continue
                self._saw(body["daemon"])
            backend.send_multipart(frames)  # XPUB never blocks: past a subscriber's HWM ZeroMQ drops for it
            counters.messages_forwarded += 1

    def _saw(self, daemon: dict[str, Any]) -> None:
        key = daemon["id"]
        seen = self.counters.daemons.get(key)
        now = time.time()
        pid_value = daemon.get("pid")
        pid = pid_value if isinstance(pid_value, int) else 0
        if seen is None:
            if len(self.counters.daemons) >= self.settings.max_daemons:
                oldest = min(self.counters.daemons, key=lambda k: self.counters.daemons[k].last_seen)
                del self.counters.daemons[oldest]
            seen = self.counters.daemons[key] = _Seen(str(daemon.get("host", "")), pid, now)
        seen.last_seen, seen.pid = now, pid
        seen.messages += 1

    # ------------------------------------------------------------------ status
    def status_fields(self, state: str = "running") -> dict[str, Any]:
        c = self.counters
        now = time.time()
        watchers = self._watchers.values()
        counters = {
            "messages_in": c.messages_in, "messages_forwarded": c.messages_forwarded, "malformed": c.malformed,
            "bytes_in": c.bytes_in, "subscriptions": len(self.topics),
            "subscriptions_forwarded": c.subscriptions_forwarded, "upstream_junk": c.upstream_junk,
            "publishers_connected": self._watchers["frontend"].connected if "frontend" in self._watchers else 0,
            "consumers_connected": self._watchers["backend"].connected if "backend" in self._watchers else 0,
            "handshake_failures": sum(w.handshake_failures for w in watchers),
            "auth_failures": sum(w.auth_failures for w in watchers),
        }
        daemons = {key: {"host": s.host, "pid": s.pid, "messages": s.messages,
                         "last_seen_s": round(now - s.last_seen, 3)} for key, s in c.daemons.items()}
        return {"state": state, "role": "broker", "uptime_s": round(now - self._started, 3),
                "heartbeat_s": self.settings.heartbeat_s, "counters": counters, "streams": {},
                "daemons": daemons, "frontend": self.frontend_endpoints, "backend": self.backend_endpoints}

    def _send_status(self, backend: zmq.Socket, state: str) -> None:
        body = {"schema": SCHEMA_VERSION, "type": "status", "daemon": self.identity, "stream": None,
                "seq": self.seq, "ts": round(time.time(), 6), **self.status_fields(state)}
        try:
            backend.send_multipart(encode(BROKER_TOPIC, body), flags=zmq.NOBLOCK)
        except zmq.Again:
            pass
        self.seq += 1
