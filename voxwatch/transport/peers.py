"""Who is connected to a socket, and why a handshake failed: ZeroMQ's socket monitor events, followed and logged.

Every socket of the transport (publisher, subscriber, broker) uses it, with or without CURVE; with CURVE the
failed-handshake messages say which key or role is wrong.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from typing import Any

import zmq

from voxwatch.transport.ratelog import RateLimitedLog

log = logging.getLogger(__name__)
_PEER_EVENTS = (zmq.EVENT_ACCEPTED | zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_MONITOR_STOPPED
                | zmq.EVENT_CONNECT_DELAYED | zmq.EVENT_CONNECT_RETRIED
                | zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH)


class PeerWatcher:
    """Follows a socket's monitor events: counts peers, logs failed handshakes (plain client, wrong key), and
    notices connections ZeroMQ gave up on.

    ``watch(sock)`` starts a small daemon thread that owns the monitor's PAIR socket (the watched socket stays with
    its own thread); the thread ends when the socket closes (MONITOR_STOPPED) or the context terminates.
    A socket has one monitor: watching it again replaces the previous watcher.

    Given up: after a protocol error (a peer sent a frame over MAXMSGSIZE, or garbage) libzmq drops a *connecting*
    socket's session for good, with no reconnect (DISCONNECTED and no CONNECT_RETRIED after it); so does a server
    that refuses our CURVE key. ``take_lost`` returns such endpoints, each with the failed handshake that preceded
    the disconnect ("auth", "handshake") or "" (a bad frame), so the socket's owner can connect again and count
    the cause it really was: a refusal is not a malformed frame.
    """

    _ids = itertools.count()

    def __init__(self, role: str, label: str = "") -> None:
        self.role = role
        self.label = label
        self._live: set[int] = set()  # file descriptors of open connections
        self._lost: dict[str, float] = {}  # endpoint -> monotonic time of a disconnect not (yet) retried
        self._failed: dict[str, str] = {}  # endpoint -> "auth" / "handshake": its last handshake failed
        self._lost_lock = threading.Lock()
        self.handshake_failures = 0
        self.auth_failures = 0
        self._warn = RateLimitedLog(log)

    @property
    def connected(self) -> int:
        """Open connections (a peer failing its handshake is counted until it is dropped, a moment later)."""
        return len(self._live)

    def take_lost(self, grace_s: float = 0.5) -> list[tuple[str, str]]:
        """``(endpoint, cause)`` of each endpoint disconnected more than ``grace_s`` ago that ZeroMQ is not
        reconnecting (each returned once); cause is "auth", "handshake" or "" (the peer sent a bad frame)."""
        now = time.monotonic()
        with self._lost_lock:
            lost = [endpoint for endpoint, at in self._lost.items() if now - at > grace_s]
            for endpoint in lost:
                del self._lost[endpoint]
            return [(endpoint, self._failed.pop(endpoint, "")) for endpoint in lost]

    def watch(self, sock: zmq.Socket) -> None:
        address = f"inproc://voxwatch-monitor-{os.getpid()}-{next(self._ids)}"
        sock.monitor(address, _PEER_EVENTS)
        context = sock.context
        ready = threading.Event()
        thread = threading.Thread(target=self._run, args=(context, address, ready),
                                  name=f"voxwatch-monitor-{self.label or self.role}", daemon=True)
        thread.start()
        ready.wait(2.0)

    def _run(self, context: zmq.Context, address: str, ready: threading.Event) -> None:
        from zmq.utils.monitor import recv_monitor_message

        pair = context.socket(zmq.PAIR)
        pair.setsockopt(zmq.LINGER, 0)
        try:
            pair.connect(address)
            ready.set()
            while True:
                event = recv_monitor_message(pair)
                if event["event"] == zmq.EVENT_MONITOR_STOPPED:
                    return
                self.handle(event)
        except zmq.ZMQError:
            return  # context terminated
        finally:
            ready.set()
            pair.close(0)

    def _note_handshake(self, kind: int, endpoint: str) -> None:
        """Remember a client's failed handshake, so the disconnect that follows is not taken for a bad frame."""
        if self.role != "client":
            return
        with self._lost_lock:
            if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._failed.pop(endpoint, None)
            elif kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                self._failed[endpoint] = "auth"
            elif kind in (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL):
                self._failed[endpoint] = "handshake"

    def handle(self, event: dict[str, Any]) -> None:
        kind, value = event["event"], event["value"]
        endpoint = event.get("endpoint", b"")
        endpoint = endpoint.decode(errors="replace") if isinstance(endpoint, bytes) else str(endpoint)
        where = f"{self.label} {endpoint}".strip()
        if kind in (zmq.EVENT_ACCEPTED, zmq.EVENT_CONNECTED):
            self._live.add(value)
        self._note_handshake(kind, endpoint)
        if kind in (zmq.EVENT_CONNECTED, zmq.EVENT_CONNECT_DELAYED, zmq.EVENT_CONNECT_RETRIED):
            with self._lost_lock:
                self._lost.pop(endpoint, None)
        elif kind == zmq.EVENT_DISCONNECTED:
            self._live.discard(value)
            if self.role == "client":
                with self._lost_lock:
                    self._lost[endpoint] = time.monotonic()
        elif kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            self.auth_failures += 1
            if self.role == "client":
                self._warn.warn(f"auth {endpoint}", "the server at %s refused our CURVE key (is our public key in "
                                "its --curve-allow directory?): no events will arrive", where)
            # server side: the allow-list already logged the refused key
        elif kind == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:  # value is an errno: the peer went away mid-handshake
            self.handshake_failures += 1
            reason = ("a peer broke off the handshake (a plain client without CURVE, or a wrong server key?) and "
                      "gets no events" if self.role == "server" else "the handshake broke off (does the server use "
                      "CURVE with the key given as --curve-server-key?)")
            self._warn.warn(f"nodetail {endpoint}", "%s on %s: %s (errno %d)", self.role, where, reason, value)
        elif kind == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            self.handshake_failures += 1
            if value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
                reason = ("a peer without CURVE (plain client?) was refused" if self.role == "server"
                          else "the peer does not use CURVE (or uses it without us)")
            elif value == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
                reason = ("a peer failed the CURVE handshake (wrong server key?) and was refused"
                          if self.role == "server" else "CURVE handshake failed: is --curve-server-key the right key?")
            else:
                reason = f"handshake failed (ZeroMQ protocol error {value:#x})"
            self._warn.warn(f"{kind} {value} {endpoint}", "%s on %s: %s", self.role, where, reason)
