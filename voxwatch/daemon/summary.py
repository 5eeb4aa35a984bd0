"""End-of-run summary of a replay or score run: a Rich table for people, JSON for scripts."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from voxwatch.daemon.app import SummaryCollector
from voxwatch.pipeline.classifier import OnnxClassifier


def summary_rows(collector: SummaryCollector) -> list[dict]:
    rows = []
    for stream, s in collector.streams.items():
        rows.append({
            "stream": stream, "source": s.source, "state": s.state, "utterances": s.utterances, "fake": s.fake,
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
    table = Table(title=f"voxwatch replay — model {classifier.model_id}")
    for column in ("stream", "utterances", "fake verdicts", "alerts", "max score", "status"):
        table.add_column(column, justify="right" if column not in ("stream", "status") else "left")
    for row in rows:
        status = "[red]error[/red]" if row["state"] == "error" else row["state"]
        max_score = "-" if row["max_score"] is None else f"{row['max_score']:.3f}"
        table.add_row(row["stream"], str(row["utterances"]), str(row["fake"]), str(row["alerts"]), max_score, status)
    (console or Console()).print(table)
