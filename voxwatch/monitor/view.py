"""Rendering of a ``MonitorState`` snapshot with Rich: warnings, streams grouped by daemon, health, alert log.

One function, ``render(state, now, ...)``, returns a Rich renderable; the live dashboard and ``--once`` both use it,
and tests print it to a recording console. The layout follows the width it is drawn at: from ``WIDE_COLUMNS`` on,
every column in a framed panel; below it (an 80-column terminal, or ``--once`` piped into a file, which Rich
draws at 80) a narrow layout of the columns that matter most, each header whole, so nothing reads ``sc…``.
"""

from __future__ import annotations

import time

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from voxwatch.monitor.state import MonitorState, StreamRow, sparkline

STATE_STYLES = {"speech": "bold green", "silence": "dim", "error": "bold red", "ended": "yellow",
                "recovered": "cyan", "started": "cyan"}
VERDICT_STYLES = {"fake": "bold red", "uncertain": "bold yellow", "real": "green"}


def _fmt(value: object, fmt: str = "{:.2f}", missing: str = "-") -> str:
    return missing if not isinstance(value, int | float) or isinstance(value, bool) else fmt.format(value)


def verdict_text(row: StreamRow) -> str:
    """The last verdict, and the cascade stage that gave it where the verifier did; a real one whose utterance raised
    an early alert says so, next to that alert."""
    return ((row.last_verdict or "-") + (" (verifier)" if row.last_stage == "verifier" else "")
            + (" (early alert)" if row.last_early_alert else ""))


WIDE_COLUMNS = 120  # narrower than this, the narrow layout


def render(state: MonitorState, now: float, endpoints: list[str] | None = None, alert_lines: int = 8,
           title: str = "voxwatch monitor") -> RenderableType:
    """The dashboard of ``state`` at monotonic time ``now``; its layout is chosen when it is drawn."""
    return _Dashboard(state, now, endpoints or [], alert_lines, title)


class _Dashboard:
    """A snapshot that lays itself out for the width Rich gives it."""

    def __init__(self, state: MonitorState, now: float, endpoints: list[str], alert_lines: int, title: str) -> None:
        self.state, self.now, self.endpoints, self.alert_lines, self.title = state, now, endpoints, alert_lines, title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        narrow = options.max_width < WIDE_COLUMNS
        parts = [part for part in (_warnings(self.state, self.now, self.endpoints),
                                   _streams(self.state, self.now, narrow), _health(self.state, self.now, narrow),
                                   _alerts(self.state, self.alert_lines, narrow)) if part is not None]
        parts.append(Text(f"{self.state.events} events, {self.state.malformed} malformed skipped · q or Ctrl-C quits",
                          style="dim"))
        if narrow:
            yield Group(Text(self.title, style="bold blue"), *parts)
        else:
            yield Panel(Group(*parts), title=self.title, border_style="blue")


def _table(title: str, columns: list[tuple[str, str]], narrow: bool) -> Table:
    """A table of (header, justify) columns; narrow: a lighter frame, and no header cut short."""
    table = Table(title=title, title_justify="left", expand=not narrow,
                  box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD, padding=(0, 1), pad_edge=not narrow,
                  show_edge=not narrow)
    for header, justify in columns:
        table.add_column(header, justify=justify, no_wrap=True, min_width=len(header) if narrow else None,
                         overflow="ellipsis")  # type: ignore[arg-type]
    return table


def _warnings(state: MonitorState, now: float, endpoints: list[str]) -> Text | None:
    warnings = Text()
    for daemon, age in state.stale(now):
        warnings.append(f"⚠ no heartbeat from {daemon.id} for {age:.0f} s\n", style="bold red")
    for daemon_id, missed in sorted(state.gaps().items()):
        warnings.append(f"⚠ {daemon_id}: {missed} event(s) lost (seq gaps)\n", style="bold yellow")
    if not state.daemons:
        where = ", ".join(endpoints) or "the configured endpoints"
        warnings.append(f"waiting for events from {where} ...\n", style="yellow")
    if not warnings.plain:
        return None
    warnings.rstrip()
    return warnings


def _streams(state: MonitorState, now: float, narrow: bool) -> Table:
    wide_columns = [("daemon", "left"), ("stream", "left"), ("state", "left"), ("score", "right"),
                    ("recent", "left"), ("verdict", "left"), ("alerts", "right"), ("dropped s", "right"),
                    ("overflows", "right")]
    narrow_columns = [("stream", "left"), ("state", "left"), ("score", "right"), ("verdict", "left"),
                      ("alerts", "right"), ("dropped s", "right")]
    table = _table("streams", narrow_columns if narrow else wide_columns, narrow)
    for daemon, rows in state.grouped():
        stale = any(d.id == daemon.id for d, _ in state.stale(now))
        daemon_label = Text(daemon.id, style="bold red" if stale else "bold")
        if not rows:
            note = Text("(broker)" if daemon.role == "broker" else "(no streams)", style="dim")
            table.add_row(*([Text(f"{daemon.id} ", style="bold") + note] if narrow else [daemon_label, note]))
        for i, row in enumerate(rows):
            verdict_style = VERDICT_STYLES.get(row.last_verdict, "")
            state_text = Text(row.state, style=STATE_STYLES.get(row.state, ""))
            if row.state == "error" and row.detail and not narrow:
                state_text.append(f" ({row.detail[:40]})", style="red")
            verdict = Text(verdict_text(row), style=verdict_style)
            alerts = Text(str(row.alerts), style="bold red" if row.alerts else "")
            if narrow:  # one column names daemon and stream; the error detail is in `voxwatch tail`
                table.add_row(f"{daemon.id}/{row.stream}", state_text, _fmt(row.last_score), verdict, alerts,
                              _fmt(row.dropped_s, "{:.1f}"))
            else:
                table.add_row(daemon_label if i == 0 else "", row.stream, state_text, _fmt(row.last_score),
                              sparkline(row.scores), verdict, alerts, _fmt(row.dropped_s, "{:.1f}"),
                              str(row.overflows))
        if not narrow:
            table.add_section()
    return table


def _health(state: MonitorState, now: float, narrow: bool) -> Table:
    wide_columns = [("daemon", "left"), ("host", "left"), ("state", "left"), ("heartbeat age", "right"),
                    ("audio s", "right"), ("dropped s", "right"), ("queue", "right"), ("p50 ms", "right"),
                    ("p99 ms", "right"), ("verified", "right"), ("events lost", "right")]
    narrow_columns = [("daemon", "left"), ("state", "left"), ("heartbeat", "right"), ("audio s", "right"),
                      ("queue", "right"), ("p99 ms", "right"), ("lost", "right")]
    table = _table("health", narrow_columns if narrow else wide_columns, narrow)
    gaps = state.gaps()
    for daemon, _ in state.grouped():
        c = daemon.counters
        stale = any(d.id == daemon.id for d, _ in state.stale(now))
        age = Text(_fmt(state.heartbeat_age(daemon, now), "{:.1f} s"), style="bold red" if stale else "")
        lost = Text(str(gaps.get(daemon.id, 0)), style="bold yellow" if gaps.get(daemon.id) else "")
        if narrow:
            table.add_row(daemon.id, daemon.state, age, _fmt(c.get("audio_s"), "{:.0f}"),
                          _fmt(c.get("queue_depth"), "{:.0f}"), _fmt(c.get("inference_ms_p99")), lost)
        else:
            table.add_row(daemon.id, daemon.host, daemon.state, age, _fmt(c.get("audio_s"), "{:.0f}"),
                          _fmt(c.get("dropped_s"), "{:.1f}"), _fmt(c.get("queue_depth"), "{:.0f}"),
                          _fmt(c.get("inference_ms_p50")), _fmt(c.get("inference_ms_p99")), _verifier_cell(c), lost)
    return table


def _alerts(state: MonitorState, alert_lines: int, narrow: bool) -> Table:
    wide_columns = [("time", "left"), ("daemon", "left"), ("stream", "left"), ("score", "right"),
                    ("span s", "left"), ("early", "left"), ("stage", "left"), ("latency ms", "right")]
    narrow_columns = [("time", "left"), ("stream", "left"), ("score", "right"), ("span s", "left"),
                      ("early", "left"), ("latency ms", "right")]
    table = _table("alerts (newest last)", narrow_columns if narrow else wide_columns, narrow)
    for alert in list(state.alerts)[-alert_lines:]:
        stream = [f"{alert.daemon}/{alert.stream}"] if narrow else [alert.daemon, alert.stream]
        stage = [] if narrow else [alert.stage if alert.verdict == "fake" else f"{alert.stage}, {alert.verdict}"]
        table.add_row(time.strftime("%H:%M:%S", time.localtime(alert.ts)), *stream,
                      Text(f"{alert.score:.2f}", style=VERDICT_STYLES.get(alert.verdict, "bold red")),
                      f"{alert.start_s:.1f}-{alert.end_s:.1f}", "yes" if alert.early else "", *stage,
                      _fmt(alert.latency_ms, "{:.1f}"))
    if not state.alerts:
        table.add_row(Text("no alerts yet", style="dim"))
    return table


def _verifier_cell(counters: dict) -> Text:
    """Utterances the cascade's verifier judged, and those left to the filter because its queue was full."""
    if "verifier_verified" not in counters:
        return Text("-", style="dim")
    full = counters.get("verifier_queue_full", 0)
    return Text(f"{counters['verifier_verified']} ({full} full)", style="bold yellow" if full else "")
