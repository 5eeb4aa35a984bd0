"""Rendering of a ``MonitorState`` snapshot with Rich: warnings, streams grouped by daemon, health, alert log.

One function, ``render(state, now, ...)``, returns a Rich renderable; the live dashboard and ``--once`` both use it,
and tests print it to a recording console. The layout follows the width it is drawn at: from ``WIDE_COLUMNS`` on,
every column in a framed panel; below it (an 80-column terminal, or ``--once`` piped into a file, which Rich
draws at 80) a narrow layout of the columns that matter most. Headers are never cut (no ``sc…``): where a table
is too wide, only the columns of names and words (daemon, host, stream, verdict, why) give way, down to their
header's width, and their long values end in ``…``.

The live dashboard also fits the terminal's height (``max_height``): a terminal crops what does not fit at the
bottom, so the alert log lists the newest alert first and, when lines run short, loses its oldest rows first,
then streams beyond the first few (counted under the table); the warnings and the health table always stay.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, JustifyMethod, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from voxwatch.monitor.state import MonitorState, StreamRow, sparkline

STATE_STYLES = {"speech": "bold green", "silence": "dim", "error": "bold red", "ended": "yellow",
                "recovered": "cyan", "started": "cyan"}
VERDICT_STYLES = {"fake": "bold red", "uncertain": "bold yellow", "real": "green"}
WIDE_COLUMNS = 120  # narrower than this, the narrow layout
PANEL_EXTRA = 4  # the wide layout's panel: a border and a space of padding on each side
MIN_ALERT_ROWS = 3  # kept while streams give way to fit the height; below these, the alert log shrinks further
MIN_STREAM_ROWS = 2


def _fmt(value: object, fmt: str = "{:.2f}", missing: str = "-") -> str:
    return missing if not isinstance(value, int | float) or isinstance(value, bool) else fmt.format(value)


def verdict_text(row: StreamRow) -> str:
    """The last verdict, and the cascade stage that gave it where the verifier did; a real one whose utterance raised
    an early alert says so, next to that alert."""
    return ((row.last_verdict or "-") + (" (verifier)" if row.last_stage == "verifier" else "")
            + (" (early alert)" if row.last_early_alert else ""))


def render(state: MonitorState, now: float, endpoints: list[str] | None = None, alert_lines: int = 8,
           title: str = "voxwatch monitor", max_height: int | None = None, live: bool = True) -> RenderableType:
    """The dashboard of ``state`` at monotonic time ``now``; its layout is chosen when it is drawn. ``max_height``:
    the terminal's lines (the live dashboard; None: as tall as it needs); ``live``: the footer says how to quit
    (``--once`` prints a snapshot and has nothing to quit)."""
    return _Dashboard(state, now, endpoints or [], alert_lines, title, max_height, live)


@dataclass(frozen=True)
class _Column:
    header: str
    justify: JustifyMethod = "left"
    flexible: bool = False  # names and words: narrowed (values end in "…") where the table is too wide


class _Dashboard:
    """A snapshot that lays itself out for the width (and, live, the height) Rich gives it."""

    def __init__(self, state: MonitorState, now: float, endpoints: list[str], alert_lines: int, title: str,
                 max_height: int | None = None, live: bool = True) -> None:
        self.state, self.now, self.endpoints, self.alert_lines, self.title = state, now, endpoints, alert_lines, title
        self.max_height, self.live = max_height, live

    def _layout(self, width: int, narrow: bool, stream_rows: int | None, alert_rows: int) -> RenderableType:
        inner = width if narrow else width - PANEL_EXTRA
        parts = [part for part in (_warnings(self.state, self.now, self.endpoints),
                                   _streams(self.state, self.now, narrow, inner, stream_rows),
                                   _health(self.state, self.now, narrow, inner),
                                   _alerts(self.state, alert_rows, narrow, inner)) if part is not None]
        footer = f"{self.state.events} events, {self.state.malformed} malformed skipped"
        parts.append(Text(footer + (" · q or Ctrl-C quits" if self.live else ""), style="dim"))
        if narrow:
            return Group(Text(self.title, style="bold blue"), *parts)
        return Panel(Group(*parts), title=self.title, border_style="blue")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        narrow = width < WIDE_COLUMNS
        streams = len(self.state.streams)
        alert_rows = max(0, self.alert_lines)
        layout = self._layout(width, narrow, None, alert_rows)
        if self.max_height is not None:
            for _ in range(8):  # each step drops as many rows as the layout has lines too many
                excess = len(console.render_lines(layout, options, pad=False)) - self.max_height
                if excess <= 0:
                    break
                cut = min(excess, max(0, alert_rows - MIN_ALERT_ROWS))
                alert_rows, excess = alert_rows - cut, excess - cut
                if excess > 0 and streams > MIN_STREAM_ROWS:
                    # the first cut adds a line (how many streams are not shown)
                    cut = min(excess + (streams == len(self.state.streams)), streams - MIN_STREAM_ROWS)
                    streams, excess = streams - cut, excess - cut
                if excess > 0:
                    alert_rows = max(0, alert_rows - excess)
                layout = self._layout(width, narrow, streams, alert_rows)
        yield layout


Row = list[str | Text] | None  # None: a section line between groups (wide layout)


def _table(title: str, columns: list[_Column], rows: list[Row], narrow: bool, width: int,
           caption: str | None = None) -> Table:
    """A table of ``columns`` and ``rows``, at most ``width`` wide where its headers allow: every header whole,
    every row one line; where the values make it too wide, the flexible columns narrow, widest first."""
    table = Table(title=title, title_justify="left", expand=not narrow, caption=caption, caption_justify="left",
                  caption_style="dim", box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD, padding=(0, 1),
                  pad_edge=not narrow, show_edge=not narrow)
    natural = [max([cell_len(column.header)] + [cell_len(_plain(row[i])) for row in rows if row and i < len(row)])
               for i, column in enumerate(columns)]
    n = len(columns)
    frame = (n - 1) * 3 if narrow else n * 3 + 1  # padding of 1 each side, and a rule between (and around) columns
    flexible = narrowed({i: natural[i] for i, column in enumerate(columns) if column.flexible},
                        {i: cell_len(column.header) for i, column in enumerate(columns)},
                        sum(natural) + frame - width)
    widths = [flexible.get(i, natural[i]) for i in range(n)]
    for i, column in enumerate(columns):
        table.add_column(column.header, justify=column.justify, no_wrap=True,
                         overflow="ellipsis", min_width=cell_len(column.header),
                         max_width=widths[i] if widths[i] < natural[i] else None)
    for row in rows:
        if row is None:
            table.add_section()
        else:
            table.add_row(*row)
    return table


def narrowed(widths: dict[Any, int], floors: dict[Any, int], excess: int) -> dict[Any, int]:
    """``widths`` with up to ``excess`` characters taken off, one at a time from the widest, none below its floor
    (a header's width): how a table of names fits a terminal without cutting its headers (also the replay
    summary's)."""
    widths = dict(widths)
    while excess > 0:
        shrinkable = [key for key, width in widths.items() if width > floors.get(key, 1)]
        if not shrinkable:
            break
        widths[max(shrinkable, key=widths.__getitem__)] -= 1
        excess -= 1
    return widths


def _plain(cell: str | Text) -> str:
    return cell.plain if isinstance(cell, Text) else cell


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


def _streams(state: MonitorState, now: float, narrow: bool, width: int, limit: int | None = None) -> Table:
    """Streams grouped by daemon; ``limit``: at most that many stream rows (the caption counts the others)."""
    if narrow:
        columns = [_Column("stream", flexible=True), _Column("state"), _Column("score", "right"),
                   _Column("verdict", flexible=True), _Column("alerts", "right"), _Column("dropped s", "right")]
    else:
        columns = [_Column("daemon", flexible=True), _Column("stream", flexible=True), _Column("state", flexible=True),
                   _Column("score", "right"), _Column("recent"), _Column("verdict", flexible=True),
                   _Column("alerts", "right"), _Column("dropped s", "right"), _Column("overflows", "right")]
    stale_ids = {d.id for d, _ in state.stale(now)}
    rows: list[Row] = []
    shown = hidden = 0
    for daemon, streams in state.grouped():
        if limit is not None:
            keep = max(0, limit - shown)
            hidden += max(0, len(streams) - keep)
            streams = streams[:keep]
            shown += len(streams)
            if not streams and hidden:
                continue
        daemon_label = Text(daemon.id, style="bold red" if daemon.id in stale_ids else "bold")
        if not streams:
            note = "(broker)" if daemon.role == "broker" else "(no streams)"
            rows.append([Text(f"{daemon.id} {note}", style="bold")] if narrow
                        else [daemon_label, Text(note, style="dim")])
        for i, row in enumerate(streams):
            state_text = Text(row.state, style=STATE_STYLES.get(row.state, ""))
            if row.state == "error" and row.detail and not narrow:
                state_text.append(f" ({row.detail[:40]})", style="red")
            verdict = Text(verdict_text(row), style=VERDICT_STYLES.get(row.last_verdict, ""))
            alerts = Text(str(row.alerts), style="bold red" if row.alerts else "")
            if narrow:  # one column names daemon and stream; the error detail is in `voxwatch tail`
                rows.append([f"{daemon.id}/{row.stream}", state_text, _fmt(row.last_score), verdict, alerts,
                             _fmt(row.dropped_s, "{:.1f}")])
            else:
                rows.append([daemon_label if i == 0 else "", row.stream, state_text, _fmt(row.last_score),
                             sparkline(row.scores), verdict, alerts, _fmt(row.dropped_s, "{:.1f}"), str(row.overflows)])
        if not narrow:
            rows.append(None)
    if rows and rows[-1] is None:
        rows.pop()
    caption = f"… and {hidden} more stream(s): a taller terminal shows them" if hidden else None
    return _table("streams", columns, rows, narrow, width, caption)


def _health(state: MonitorState, now: float, narrow: bool, width: int) -> Table:
    if narrow:
        columns = [_Column("daemon", flexible=True), _Column("state"), _Column("heartbeat", "right"),
                   _Column("audio s", "right"), _Column("queue", "right"), _Column("p99 ms", "right"),
                   _Column("lost", "right")]
    else:
        columns = [_Column("daemon", flexible=True), _Column("host", flexible=True), _Column("state"),
                   _Column("heartbeat", "right"), _Column("audio s", "right"), _Column("dropped s", "right"),
                   _Column("queue", "right"), _Column("p50 ms", "right"), _Column("p99 ms", "right"),
                   _Column("verified", "right"), _Column("lost", "right")]
    gaps = state.gaps()
    stale_ids = {d.id for d, _ in state.stale(now)}
    rows: list[Row] = []
    for daemon, _ in state.grouped():
        c = daemon.counters
        age = Text(_fmt(state.heartbeat_age(daemon, now), "{:.1f} s"), style="bold red" if daemon.id in stale_ids
                   else "")
        lost = Text(str(gaps.get(daemon.id, 0)), style="bold yellow" if gaps.get(daemon.id) else "")
        if narrow:
            rows.append([daemon.id, daemon.state, age, _fmt(c.get("audio_s"), "{:.0f}"),
                         _fmt(c.get("queue_depth"), "{:.0f}"), _fmt(c.get("inference_ms_p99")), lost])
        else:
            rows.append([daemon.id, daemon.host, daemon.state, age, _fmt(c.get("audio_s"), "{:.0f}"),
                         _fmt(c.get("dropped_s"), "{:.1f}"), _fmt(c.get("queue_depth"), "{:.0f}"),
                         _fmt(c.get("inference_ms_p50")), _fmt(c.get("inference_ms_p99")), _verifier_cell(c), lost])
    return _table("health", columns, rows, narrow, width)


def _alerts(state: MonitorState, alert_lines: int, narrow: bool, width: int) -> Table:
    """The newest ``alert_lines`` alerts, newest first (what a terminal cuts at the bottom is the oldest), with
    the events' ``why`` where they carry one (narrow: in place of the latency)."""
    newest = list(state.alerts)[-alert_lines:][::-1] if alert_lines > 0 else []
    why = any(alert.why for alert in newest)
    if narrow:
        columns = [_Column("time"), _Column("stream", flexible=True), _Column("score", "right"), _Column("span s"),
                   _Column("early")] + ([_Column("why", flexible=True)] if why else [_Column("latency ms", "right")])
    else:
        columns = [_Column("time"), _Column("daemon", flexible=True), _Column("stream", flexible=True),
                   _Column("score", "right"), _Column("span s"), _Column("early"), _Column("stage"),
                   _Column("latency ms", "right")] + ([_Column("why", flexible=True)] if why else [])
    rows: list[Row] = []
    for alert in newest:
        stream = [f"{alert.daemon}/{alert.stream}"] if narrow else [alert.daemon, alert.stream]
        stage = [] if narrow else [alert.stage if alert.verdict == "fake" else f"{alert.stage}, {alert.verdict}"]
        latency = [] if narrow and why else [_fmt(alert.latency_ms, "{:.1f}")]
        rows.append([time.strftime("%H:%M:%S", time.localtime(alert.ts)), *stream,
                     Text(f"{alert.score:.2f}", style=VERDICT_STYLES.get(alert.verdict, "bold red")),
                     f"{alert.start_s:.1f}-{alert.end_s:.1f}", "yes" if alert.early else "", *stage, *latency,
                     *([alert.why] if why else [])])
    if not state.alerts:
        rows.append([Text("no alerts yet", style="dim")])
    shown = "newest first" if len(newest) == len(state.alerts) else \
        f"newest first, {len(newest)} of {len(state.alerts)}"
    return _table(f"alerts ({shown})", columns, rows, narrow, width)


def _verifier_cell(counters: dict) -> Text:
    """Utterances the cascade's verifier judged, and those left to the filter because its queue was full."""
    if "verifier_verified" not in counters:
        return Text("-", style="dim")
    full = counters.get("verifier_queue_full", 0)
    return Text(f"{counters['verifier_verified']} ({full} full)", style="bold yellow" if full else "")
