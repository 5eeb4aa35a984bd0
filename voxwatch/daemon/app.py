"""Pieces shared by the commands that run the pipeline: model resolution, stream naming, result collection."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from voxwatch.config import Config
from voxwatch.daemon.events import safe_stream_id
from voxwatch.errors import ModelError
from voxwatch.models import default_model_path
from voxwatch.pipeline.classifier import OnnxClassifier
from voxwatch.pipeline.runner import JudgementEvent, PipelineEvent, StreamEvent


def resolve_model(cli_model: str | None, config: Config) -> Path:
    """--model beats the config's [model] path, which beats the bundled default."""
    chosen = cli_model or config.model
    if chosen:
        return Path(chosen)
    bundled = default_model_path()
    if bundled is None:
        raise ModelError("no model is bundled with this install; pass --model PATH (a .onnx with its .json card)")
    return bundled


def load_classifier(cli_model: str | None, config: Config) -> OnnxClassifier:
    settings = config.pipeline
    return OnnxClassifier(
        resolve_model(cli_model, config), settings.features, settings.window.window_s, settings.inference_threads
    )


def unique_stream_ids(paths: list[str]) -> list[str]:
    """File stems as stream ids, made topic-safe and unique (``a``, ``a-2``, ...)."""
    seen: dict[str, int] = {}
    ids = []
    for path in paths:
        base = safe_stream_id(Path(path).stem)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


@dataclass
class StreamSummary:
    source: str
    utterances: int = 0
    fake: int = 0
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
                    summary.scores.append(j.score)
                    summary.max_score = j.score if summary.max_score is None else max(summary.max_score, j.score)


def fan_out(*sinks):
    """One emit callable that calls every sink (none of them may block)."""

    def emit(event: PipelineEvent) -> None:
        for sink in sinks:
            sink(event)

    return emit
