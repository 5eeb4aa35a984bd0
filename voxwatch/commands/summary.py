"""Per-stream results of a replay run, collected from pipeline events; printed as a Rich table or JSON."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

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
    scores: list[float] = field(default_factory=list)
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
                    summary.scores.append(j.score)
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
    cascade = any(row["verified"] or row["uncertain"] for row in rows)  # columns only where they say something
    # Headers never cut (no_wrap: only the names shrink) and light borders: the table reads whole at 80 columns;
    # the stream and file names fold instead.
    table = Table(title=f"voxwatch replay — model {classifier.model_id}", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    columns = ["stream", "file", "utterances", "fake", "alerts", "max", "status"]
    if cascade:
        columns[4:4] = ["uncertain", "verifier"]
    for column in columns:
        text = column in ("stream", "file", "status")
        table.add_column(column, justify="left" if text else "right", overflow="fold",
                         **({"max_width": 14} if column in ("stream", "file") else {"no_wrap": True}))
    for row in rows:
        status = "[red]error[/red]" if row["state"] == "error" else row["state"]
        max_score = "-" if row["max_score"] is None else f"{row['max_score']:.3f}"
        cells = [row["stream"], escape(Path(row["source"]).name), str(row["utterances"]), str(row["fake"]),
                 str(row["alerts"]), max_score, status]
        if cascade:
            cells[4:4] = [str(row["uncertain"]), str(row["verified"])]
        table.add_row(*cells)
    (console or Console()).print(table)
