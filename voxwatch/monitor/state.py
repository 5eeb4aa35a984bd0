"""The monitor's state model: pure bookkeeping of decoded events, no I/O, no Rich (tested on its own).

``MonitorState.apply(topic, body, now)`` folds one event in; the view (``monitor_view``) renders a snapshot.
Streams are keyed by (daemon id, stream id), so a fleet behind a broker shows each daemon's streams as a group;
``seq`` gaps are tracked per daemon with ``SeqTracker`` (a restarted daemon is not loss). A daemon is *stale*
when its last heartbeat is older than ``stale_factor`` heartbeat periods (or ``stale_s`` when given).
``now`` is a monotonic clock reading taken on receipt, so the heartbeat age does not depend on clock skew
between hosts.

What has gone is forgotten after a while (``prune``), so a dashboard left open for days shows what runs: a stream
that ended ``forget_ended_s`` ago (a finished replay, a daemon's stream after it stopped), and a daemon not heard
from for ``forget_silent_s`` (stale all that time) or ``forget_ended_s`` after it said it is stopping, with its
streams and its loss count. The alert log keeps its alerts.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from voxwatch.transport.subscriber import SeqTracker


@dataclass
class StreamRow:
    daemon: str
    stream: str
    state: str = "?"  # speech | silence | ended | error | ... (from heartbeats and stream events)
    last_score: float | None = None
    scores: deque = field(default_factory=lambda: deque(maxlen=24))
    last_verdict: str = ""
    last_stage: str = ""  # which cascade stage gave the last verdict: "filter" or "verifier"
    last_early_alert: bool = False  # the last verdict's utterance raised an early alert
    verdicts: int = 0
    uncertain: int = 0
    alerts: int = 0
    detail: str = ""  # last stream event detail (errors)
    dropped_s: float = 0.0
    overflows: int = 0
    ended_at: float | None = None  # monotonic time the stream was first seen ended (None while it runs)


@dataclass
class DaemonInfo:
    id: str
    host: str = ""
    pid: int = 0
    state: str = "?"  # running | stopping
    last_heartbeat: float | None = None  # monotonic receive time
    last_event: float | None = None
    heartbeat_s: float = 5.0
    counters: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    role: str = "daemon"  # "broker" for a fleet broker's own heartbeat (voxwatch.status.broker)


@dataclass
class AlertEntry:
    received: float  # monotonic
    ts: float  # daemon's wall clock
    daemon: str
    stream: str
    score: float
    start_s: float
    end_s: float
    early: bool
    latency_ms: float | None
    stage: str = "filter"
    verdict: str = "fake"
    why: str = ""  # the event's short reason, where it has one


class MonitorState:
    """Everything the dashboard shows, built from events."""

    def __init__(self, stale_factor: float = 3.0, stale_s: float | None = None, alert_log: int = 200,
                 forget_ended_s: float = 60.0, forget_silent_s: float = 300.0) -> None:
        self.stale_factor = stale_factor
        self.stale_s = stale_s
        self.forget_ended_s = forget_ended_s
        self.forget_silent_s = forget_silent_s
        self.daemons: dict[str, DaemonInfo] = {}
        self.streams: dict[tuple[str, str], StreamRow] = {}
        self.alerts: deque[AlertEntry] = deque(maxlen=alert_log)
        self.seq = SeqTracker()
        self.events = 0
        self.malformed = 0
        self.started: float | None = None

    def apply(self, topic: str, body: dict[str, Any], now: float) -> None:
        """Fold in one decoded event received at monotonic time ``now``."""
        if self.started is None:
            self.started = now
        self.events += 1
        self.seq.observe(body)
        ident = body["daemon"]
        daemon_id = str(ident.get("id"))
        daemon = self.daemons.get(daemon_id)
        if daemon is None:
            daemon = self.daemons[daemon_id] = DaemonInfo(daemon_id)
        pid = ident.get("pid", 0)
        if isinstance(pid, int) and pid != daemon.pid and daemon.pid:
            daemon.state = "restarted"
        daemon.host = str(ident.get("host", ""))
        daemon.pid = pid if isinstance(pid, int) else 0
        daemon.last_event = now
        kind = body["type"]
        if kind == "status":
            self._status(daemon, body, now)
        elif kind in ("alert", "verdict"):
            row = self._row(daemon_id, str(body["stream"]))
            score = float(body["score"])
            if kind == "verdict":
                row.last_score = score
                row.scores.append(score)
                row.last_verdict = str(body["verdict"])
                row.last_stage = str(body.get("stage", "filter"))
                row.last_early_alert = bool(body.get("early_alert", False))
                row.verdicts += 1
                row.uncertain += row.last_verdict == "uncertain"
            else:
                row.alerts += 1
                self.alerts.append(AlertEntry(now, float(body.get("ts", 0.0)), daemon_id, row.stream, score,
                                              float(body.get("start_s", 0.0)), float(body.get("end_s", 0.0)),
                                              bool(body.get("early", False)), _number(body.get("latency_ms")),
                                              str(body.get("stage", "filter")), str(body.get("verdict", "fake")),
                                              str(body.get("why") or "")))
        elif kind == "stream" and isinstance(body.get("stream"), str):
            row = self._row(daemon_id, body["stream"])
            row.state = str(body.get("state", "?"))
            row.detail = str(body.get("detail", "")) if row.state == "error" else ""
            self._note_end(row, now)

    def _status(self, daemon: DaemonInfo, body: dict[str, Any], now: float) -> None:
        daemon.last_heartbeat = now
        daemon.state = str(body.get("state", "?"))
        daemon.heartbeat_s = _number(body.get("heartbeat_s")) or daemon.heartbeat_s
        counters = body.get("counters")
        daemon.counters = counters if isinstance(counters, dict) else {}
        daemon.threshold = _number(daemon.counters.get("threshold"))
        daemon.role = str(body.get("role", "daemon"))
        streams = body.get("streams")
        if not isinstance(streams, dict):
            return
        for stream_id, values in streams.items():
            if not isinstance(values, dict):
                continue
            row = self._row(daemon.id, str(stream_id))
            capture = values.get("capture_state")
            state = str(values.get("state", row.state))
            if capture == "error" or (row.state == "error" and capture is None and state == "ended"):
                state = "error"  # a failing microphone, or a replay stream that ended in an error
            row.state = state
            self._note_end(row, now)
            row.dropped_s = _number(values.get("dropped_s")) or 0.0
            row.overflows = int(_number(values.get("overflows")) or 0)
            alerts = values.get("alerts")
            if isinstance(alerts, int) and alerts > row.alerts:
                row.alerts = alerts  # alerts sent before the monitor started

    @staticmethod
    def _note_end(row: StreamRow, now: float) -> None:
        if row.state != "ended":
            row.ended_at = None
        elif row.ended_at is None:
            row.ended_at = now

    def prune(self, now: float) -> None:
        """Forget streams that ended ``forget_ended_s`` ago, and daemons silent for ``forget_silent_s`` (or gone
        ``forget_ended_s`` after saying they stop) with their streams and loss counts."""
        for key, row in list(self.streams.items()):
            if row.ended_at is not None and now - row.ended_at >= self.forget_ended_s:
                del self.streams[key]
        for daemon in list(self.daemons.values()):
            heard = daemon.last_event if daemon.last_event is not None else now
            wait = self.forget_ended_s if daemon.state == "stopping" else self.forget_silent_s
            if now - heard >= wait:
                del self.daemons[daemon.id]
                for key in [key for key in self.streams if key[0] == daemon.id]:
                    del self.streams[key]
                self.seq.gaps.pop(daemon.id, None)
                self.seq.last.pop(daemon.id, None)  # if it comes back, its first message starts afresh

    def _row(self, daemon_id: str, stream: str) -> StreamRow:
        key = (daemon_id, stream)
        row = self.streams.get(key)
        if row is None:
            row = self.streams[key] = StreamRow(daemon_id, stream)
        return row

    # ------------------------------------------------------------------ queries for the view
    def heartbeat_age(self, daemon: DaemonInfo, now: float) -> float | None:
        return None if daemon.last_heartbeat is None else now - daemon.last_heartbeat

    def stale_after(self, daemon: DaemonInfo) -> float:
        return self.stale_s if self.stale_s is not None else self.stale_factor * daemon.heartbeat_s

    def stale(self, now: float) -> list[tuple[DaemonInfo, float]]:
        """Daemons whose heartbeat is overdue (a daemon that said it is stopping is not stale, just gone)."""
        out = []
        for daemon in self.daemons.values():
            age = self.heartbeat_age(daemon, now)
            if age is None:
                age = now - (daemon.last_event or now)
            if age > self.stale_after(daemon) and daemon.state != "stopping":
                out.append((daemon, age))
        return out

    def gaps(self) -> dict[str, int]:
        return dict(self.seq.gaps)

    def grouped(self) -> list[tuple[DaemonInfo, list[StreamRow]]]:
        """Daemons in id order, each with its streams in id order."""
        out = []
        for daemon_id in sorted(self.daemons):
            rows = [row for (d, _), row in sorted(self.streams.items()) if d == daemon_id]
            out.append((self.daemons[daemon_id], rows))
        return out


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: Any, width: int = 12) -> str:
    """Scores in [0, 1] as a row of block characters (the last ``width`` values)."""
    values = list(values)[-width:]
    return "".join(SPARK[min(len(SPARK) - 1, max(0, int(v * len(SPARK))))] for v in values)
