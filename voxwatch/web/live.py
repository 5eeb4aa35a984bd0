"""The Live page's data: one thread subscribes to the daemons (or brokers) and fans events out to the browsers.

The thread owns the ZeroMQ socket (``EventSubscriber``: strict decoding, CURVE as ``tail`` has it) and a
``MonitorState`` (the same bookkeeping ``voxwatch monitor`` uses: streams per daemon, last scores, alerts, stale
daemons). Every alert, verdict and stream event is offered at once to each connected browser, and a snapshot of
the state follows every second (stale marks need time to pass, not events). Each browser has a bounded queue
that the server's event loop drains into its Server-Sent Events response; when a slow browser's queue is full,
its newest events are dropped and counted (``dropped`` in the snapshot) rather than hold the thread up.
The latest snapshot is kept as one immutable value that any request may read.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from voxwatch.monitor.state import MonitorState
from voxwatch.transport.endpoints import check_endpoints
from voxwatch.transport.subscriber import EventSubscriber

log = logging.getLogger(__name__)
FORWARDED = ("alert", "verdict", "stream")  # event types sent to browsers as they come (heartbeats: via snapshots)
SNAPSHOT_EVERY_S = 1.0
CLIENT_QUEUE = 256


def live_snapshot(state: MonitorState, now: float, urls: list[str], dropped: int = 0,
                  alert_count: int = 50) -> dict[str, Any]:
    """What the Live page renders: daemons (stale or not), streams with their recent scores, the latest alerts."""
    stale = {daemon.id for daemon, _ in state.stale(now)}
    daemons = [{"id": d.id, "host": d.host, "state": d.state, "role": d.role, "stale": d.id in stale,
                "heartbeat_age_s": None if (age := state.heartbeat_age(d, now)) is None else round(age, 1),
                "threshold": d.threshold} for d in sorted(state.daemons.values(), key=lambda d: d.id)]
    threshold = {d.id: d.threshold for d in state.daemons.values()}
    streams = [{"daemon": row.daemon, "stream": row.stream, "state": row.state, "last_score": row.last_score,
                "scores": [round(s, 4) for s in row.scores], "last_verdict": row.last_verdict,
                "verdicts": row.verdicts, "alerts": row.alerts, "detail": row.detail, "stale": row.daemon in stale,
                "threshold": threshold.get(row.daemon)} for _, row in sorted(state.streams.items())]
    alerts = [{"daemon": a.daemon, "stream": a.stream, "score": a.score, "start_s": a.start_s, "end_s": a.end_s,
               "early": a.early, "ts": a.ts, "stage": a.stage, "verdict": a.verdict, "why": a.why}
              for a in list(state.alerts)[-alert_count:][::-1]]
    return {"connect": urls, "events": state.events, "malformed": state.malformed, "gaps": state.gaps(),
            "dropped": dropped, "daemons": daemons, "streams": streams, "alerts": alerts}


class LiveFeed:
    """Start with ``start``, stop with ``close``; browsers ``subscribe`` from the event loop."""

    def __init__(self, urls: list[str], configure_socket: Callable[[Any], None] | None = None,
                 stale_s: float | None = None) -> None:
        check_endpoints(urls)  # a bad endpoint is a user error at start, not a dead thread later
        self.urls = list(urls)
        self._configure = configure_socket
        self._stale_s = stale_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="voxwatch-web-live", daemon=True)
        self._clients: dict[asyncio.Queue, asyncio.AbstractEventLoop] = {}
        self._clients_lock = threading.Lock()
        self.dropped = 0
        self._snapshot: dict[str, Any] = live_snapshot(MonitorState(stale_s=stale_s), time.monotonic(), self.urls)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 3.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._offer(None)  # ends every open event stream

    def end_streams(self) -> None:
        """End every browser's event stream (the server is shutting down; the thread goes on until ``close``)."""
        self._offer(None)

    def snapshot(self) -> dict[str, Any]:
        return self._snapshot

    def subscribe(self) -> asyncio.Queue:
        """A queue of ``(event type, body)`` items (None: the feed closed); call from the event loop."""
        queue: asyncio.Queue = asyncio.Queue(maxsize=CLIENT_QUEUE)
        with self._clients_lock:
            self._clients[queue] = asyncio.get_running_loop()
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        with self._clients_lock:
            self._clients.pop(queue, None)

    # ------------------------------------------------------------------ thread
    def _offer(self, item: tuple[str, dict[str, Any]] | None) -> None:
        with self._clients_lock:
            clients = list(self._clients.items())
        for queue, loop in clients:
            try:
                loop.call_soon_threadsafe(self._put, queue, item)
            except RuntimeError:  # that browser's loop has closed
                self.unsubscribe(queue)

    def _put(self, queue: asyncio.Queue, item: tuple[str, dict[str, Any]] | None) -> None:
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1

    def _loop(self) -> None:
        subscriber = EventSubscriber(self.urls, configure_socket=self._configure)  # sockets stay in one thread
        state = MonitorState(stale_s=self._stale_s)
        next_snapshot = time.monotonic()
        try:
            while not self._stop.is_set():
                event = subscriber.receive(200)
                now = time.monotonic()
                if event is not None:
                    topic, body = event
                    state.apply(topic, body, now)
                    state.malformed = subscriber.malformed
                    if body["type"] in FORWARDED:
                        self._offer((body["type"], {"topic": topic, **body}))
                if now >= next_snapshot:
                    state.prune(now)  # ended streams and long-silent daemons leave the page, as the monitor's
                    self._snapshot = live_snapshot(state, now, self.urls, self.dropped)
                    self._offer(("snapshot", self._snapshot))
                    next_snapshot = now + SNAPSHOT_EVERY_S
        except Exception:  # the pages must say the feed stopped rather than freeze silently
            log.exception("web: the live feed stopped")
            self._snapshot = {**self._snapshot, "error": "the live feed stopped (see the server's log)"}
            self._offer(("snapshot", self._snapshot))
        finally:
            subscriber.close()
