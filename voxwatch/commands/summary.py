"""Per-stream results of a replay run, collected from pipeline events; printed as a Rich table or JSON."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from voxwatch.pipeline.stages.filter.session import OnnxClassifier
from voxwatch.pipeline.types import JudgementEvent, PipelineEvent, StreamEvent


@dataclass
class StreamSummary:
    source: str
    utterances: int = 0
    fake: int = 0
    uncertain: int = 0
    verified: int = 0  # verdicts the cascade's verifier gave
    alerts: int = 0
    max_score: float | None = None
    state: str = "running"
    detail: str = ""


class SummaryCollector:
    """Collects per-stream results from pipeline events (called from pipeline threads, so it locks)."""

    def __init__(self) -> None:
        self.streams: dict[str, StreamSummary] = {}
        self._lock = threading.Lock()

    def __call__(self, event: PipelineEvent) -> None:
        with self._lock:
            if isinstance(event, StreamEvent):
                summary = self.streams.setdefault(event.stream, StreamSummary(event.source))
                summary.state = event.state
                summary.detail = event.detail
            elif isinstance(event, JudgementEvent):
                summary = self.streams.setdefault(event.stream, StreamSummary(""))
                j = event.judgement
                if j.kind == "alert":
                    summary.alerts += 1
                else:
                    summary.utterances += 1
                    summary.fake += j.verdict == "fake"
                    summary.uncertain += j.verdict == "uncertain"
                    summary.verified += j.stage == "verifier"
                    summary.max_score = j.score if summary.max_score is None else max(summary.max_score, j.score)


def summary_rows(collector: SummaryCollector) -> list[dict]:
    rows = []
    for stream, s in collector.streams.items():
        rows.append({
            "stream": stream, "source": s.source, "state": s.state, "utterances": s.utterances, "fake": s.fake,
            "uncertain": s.uncertain, "verified": s.verified,
            "alerts": s.alerts, "max_score": None if s.max_score is None else round(s.max_score, 4),
            "error": s.detail if s.state == "error" else "",
        })
    return rows


def print_summary(collector: SummaryCollector, classifier: OnnxClassifier, as_json: bool = False,
                  console: Console | None = None) -> None:
    rows = summary_rows(collector)
    if as_json:
        print(json.dumps({"model": classifier.model_id, "threshold": classifier.threshold, "streams": rows}))
        return
    console = console or Console()
    cascade = any(row["verified"] or row["uncertain"] for row in rows)  # columns only where they say something
    columns = ["stream", "file", "utterances", "fake", "alerts", "max", "status"]
    if cascade:
        columns[4:4] = ["uncertain", "verifier"]
    # every row one line, every header whole, light borders: the table reads at 80 columns (a terminal, or piped,
    # which Rich draws at $COLUMNS or 80). Where it would be wider, the file goes first if it only repeats the
    # stream id (made of its name), then long names end in "…" (never folded onto more lines)
    table = _table(classifier.model_id, rows, columns, {})
    excess = _excess(console, table)
    if excess > 0 and all(Path(row["source"]).stem == row["stream"] for row in rows):
        columns.remove("file")
        table = _table(classifier.model_id, rows, columns, {})
        excess = _excess(console, table)
    if excess > 0:
        table = _table(classifier.model_id, rows, columns, _name_widths(rows, columns, excess))
    console.print(table)


def _cells(row: dict) -> dict[str, str]:
    return {"stream": row["stream"], "file": Path(row["source"]).name, "utterances": str(row["utterances"]),
            "fake": str(row["fake"]), "uncertain": str(row["uncertain"]), "verifier": str(row["verified"]),
            "alerts": str(row["alerts"]), "max": "-" if row["max_score"] is None else f"{row['max_score']:.3f}",
            "status": row["state"]}


def _excess(console: Console, table: Table) -> int:
    """How many characters wider than the console the table is at its natural width."""
    return Measurement.get(console, console.options.update_width(100_000), table).maximum - console.width


NAME_COLUMNS = ("stream", "file")


def _table(model_id: str, rows: list[dict], columns: list[str], widths: dict[str, int]) -> Table:
    table = Table(title=f"voxwatch replay — model {model_id}", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    for column in columns:
        table.add_column(column, justify="left" if column in (*NAME_COLUMNS, "status") else "right", no_wrap=True,
                         overflow="ellipsis", min_width=len(column), max_width=widths.get(column))
    for row in rows:
        cells = _cells(row)
        table.add_row(*(Text(cells[column], style="red") if column == "status" and row["state"] == "error"
                        else cells[column] for column in columns))
    return table


def _name_widths(rows: list[dict], columns: list[str], excess: int) -> dict[str, int]:
    """Widths for the name columns that take ``excess`` characters off the table: the widest name gives way
    first, never below its header."""
    from voxwatch.monitor.view import narrowed

    widths = {column: max([len(column)] + [cell_len(_cells(row)[column]) for row in rows])
              for column in columns if column in NAME_COLUMNS}
    return narrowed(widths, {column: len(column) for column in widths}, excess)
