"""Rendering of a ``MonitorState`` snapshot with Rich: warnings, streams grouped by daemon, health, alert log.

One function, ``render(state, now, ...)``, returns a Rich renderable; the live dashboard and ``--once`` both use it,
and tests print it to a recording console.
"""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from voxwatch.monitor.state import MonitorState, StreamRow, sparkline

STATE_STYLES = {"speech": "bold green", "silence": "dim", "error": "bold red", "ended": "yellow",
                "recovered": "cyan", "started": "cyan"}


def _fmt(value: object, fmt: str = "{:.2f}", missing: str = "-") -> str:
    return missing if not isinstance(value, int | float) or isinstance(value, bool) else fmt.format(value)


def verdict_text(row: StreamRow) -> str:
    """The last verdict; a real one whose utterance raised an early alert says so, next to that alert."""
    return (row.last_verdict or "-") + (" (early alert)" if row.last_early_alert else "")


def render(state: MonitorState, now: float, endpoints: list[str] | None = None, alert_lines: int = 8,
           title: str = "voxwatch monitor") -> RenderableType:
    parts: list[RenderableType] = []
    warnings = Text()
    for daemon, age in state.stale(now):
        warnings.append(f"⚠ no heartbeat from {daemon.id} for {age:.0f} s\n", style="bold red")
    for daemon_id, missed in sorted(state.gaps().items()):
        warnings.append(f"⚠ {daemon_id}: {missed} event(s) lost (seq gaps)\n", style="bold yellow")
    if not state.daemons:
        where = ", ".join(endpoints or []) or "the configured endpoints"
        warnings.append(f"waiting for events from {where} ...\n", style="yellow")
    if warnings.plain:
        warnings.rstrip()
        parts.append(warnings)

    streams = Table(title="streams", title_justify="left", expand=True)
    for column, justify in (("daemon", "left"), ("stream", "left"), ("state", "left"), ("score", "right"),
                            ("recent", "left"), ("verdict", "left"), ("alerts", "right"), ("dropped s", "right"),
                            ("overflows", "right")):
        streams.add_column(column, justify=justify, no_wrap=True)
    for daemon, rows in state.grouped():
        stale = any(d.id == daemon.id for d, _ in state.stale(now))
        daemon_label = Text(daemon.id, style="bold red" if stale else "bold")
        if not rows:
            note = "(broker)" if daemon.role == "broker" else "(no streams)"
            streams.add_row(daemon_label, Text(note, style="dim"), "", "", "", "", "", "", "")
        for i, row in enumerate(rows):
            verdict_style = "bold red" if row.last_verdict == "fake" else "green" if row.last_verdict else ""
            state_text = Text(row.state, style=STATE_STYLES.get(row.state, ""))
            if row.state == "error" and row.detail:
                state_text.append(f" ({row.detail[:40]})", style="red")
            streams.add_row(daemon_label if i == 0 else "", row.stream, state_text, _fmt(row.last_score),
                            sparkline(row.scores), Text(verdict_text(row), style=verdict_style),
                            Text(str(row.alerts), style="bold red" if row.alerts else ""),
                            _fmt(row.dropped_s, "{:.1f}"), str(row.overflows))
        streams.add_section()
    parts.append(streams)

    health = Table(title="health", title_justify="left", expand=True)
    for column in ("daemon", "host", "state", "heartbeat age", "audio s", "dropped s", "queue", "p50 ms",
                   "p99 ms", "events lost"):
        health.add_column(column, justify="left" if column in ("daemon", "host", "state") else "right",
                          no_wrap=True)
    gaps = state.gaps()
    for daemon, _ in state.grouped():
        c = daemon.counters
        age = state.heartbeat_age(daemon, now)
        stale = any(d.id == daemon.id for d, _ in state.stale(now))
        health.add_row(daemon.id, daemon.host, daemon.state,
                       Text(_fmt(age, "{:.1f} s"), style="bold red" if stale else ""),
                       _fmt(c.get("audio_s"), "{:.0f}"), _fmt(c.get("dropped_s"), "{:.1f}"),
                       _fmt(c.get("queue_depth"), "{:.0f}"), _fmt(c.get("inference_ms_p50")),
                       _fmt(c.get("inference_ms_p99")),
                       Text(str(gaps.get(daemon.id, 0)), style="bold yellow" if gaps.get(daemon.id) else ""))
    parts.append(health)

    log = Table(title="alerts (newest last)", title_justify="left", expand=True)
    for column in ("time", "daemon", "stream", "score", "span s", "early", "latency ms"):
        log.add_column(column, justify="right" if column in ("score", "latency ms") else "left", no_wrap=True)
    for alert in list(state.alerts)[-alert_lines:]:
        log.add_row(time.strftime("%H:%M:%S", time.localtime(alert.ts)), alert.daemon, alert.stream,
                    Text(f"{alert.score:.2f}", style="bold red"), f"{alert.start_s:.1f}-{alert.end_s:.1f}",
                    "yes" if alert.early else "", _fmt(alert.latency_ms, "{:.1f}"))
    if not state.alerts:
        log.add_row(Text("no alerts yet", style="dim"), "", "", "", "", "", "")
    parts.append(log)
    footer = Text(f"{state.events} events, {state.malformed} malformed skipped · q or Ctrl-C quits", style="dim")
    parts.append(footer)
    return Panel(Group(*parts), title=title, border_style="blue")
