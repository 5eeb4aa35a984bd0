"""How soon an alert comes after synthetic speech starts: the cascade's early checks, measured in real time.

Each trial is a stream of its own that starts with synthetic speech at stream time 0, replayed on the clock in
capture-sized blocks. For its first alert we record where its span ends in the stream (``end_s``: how much fake
speech the rules needed) and when it arrived, in wall time, after the stream's first sample was written (the
delay a person waiting for the alert feels), then the delay beyond ``end_s`` (what processing and the verifier's
queue add; the replay hands each capture block over at the start of its slot, as soon as the clock allows, so
this can be a little below zero). Trials run as concurrent streams, so the verifier is shared as in a daemon
with several streams.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxwatch.pipeline.runner import Pipeline
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import load_audio, write_blocks
from voxwatch.pipeline.stages.filter.session import OnnxClassifier
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.pipeline.types import JudgementEvent, PipelineEvent, PipelineSettings

MONOLOGUE = ("Good morning, this is a message from your bank. We have noticed unusual activity on your account and "
             "we need you to confirm a few details before we can release your payment. Please read out the code we "
             "have just sent to your phone, then stay on the line while we secure your funds.")


NO_SYNTHESISER = ("alert latency: skipped, espeak-ng is not installed (apt-get install espeak-ng), or give --fake "
                  "FILE with synthetic speech from its first second")


def synthetic_monologue() -> np.ndarray | None:
    """A synthetic monologue from espeak-ng (None when it is not installed)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "monologue.wav"
        subprocess.run([espeak, "-w", str(path), MONOLOGUE], check=True, capture_output=True, timeout=60)
        return load_audio(path)


class _StartsAtOnce:
    """A source that writes ``audio`` on the clock and notes the monotonic time of its first block."""

    description = "bench:fake"

    def __init__(self, audio: np.ndarray, block: int) -> None:
        self.audio = audio
        self.block = block
        self.started: float | None = None

    def run(self, ring, stop: threading.Event, report) -> None:  # noqa: ARG002 (Source protocol)
        self.started = time.monotonic()
        write_blocks(self.audio, ring, stop, self.block, realtime=True)


@dataclass(frozen=True)
class Trial:
    end_s: float | None  # where the first alert's span ends in the stream (None: no alert)
    wall_s: float | None  # from the stream's first sample to the alert's arrival
    stage: str = ""

    @property
    def delay_s(self) -> float | None:
        return None if self.end_s is None or self.wall_s is None else self.wall_s - self.end_s


def _percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95))}


def alert_latency(settings: PipelineSettings, classifier: OnnxClassifier, verifier: OnnxVerifier | None,
                  fake: np.ndarray, trials: int = 4, seconds: float = 12.0, block_ms: int = 20) -> dict[str, Any]:
    """``trials`` concurrent real-time streams of ``fake`` (its first ``seconds``): first-alert figures."""
    audio = np.asarray(fake, np.float32)[: int(seconds * SAMPLE_RATE)]
    first: dict[str, tuple[float, str, float]] = {}  # stream -> (arrival, stage, end_s)
    lock = threading.Lock()

    def emit(event: PipelineEvent) -> None:
        if isinstance(event, JudgementEvent) and event.judgement.kind == "alert":
            with lock:
                first.setdefault(event.stream, (time.monotonic(), event.judgement.stage, event.judgement.end_s))

    pipeline = Pipeline(settings, classifier, emit, verifier=verifier)
    sources = {f"fake-{i}": _StartsAtOnce(audio, SAMPLE_RATE * block_ms // 1000) for i in range(trials)}
    pipeline.start()
    for stream, source in sources.items():
        pipeline.add_stream(stream, source)
    pipeline.finish(timeout=len(audio) / SAMPLE_RATE + 60)
    results = []
    for stream, source in sources.items():
        got = first.get(stream)
        if got is None or source.started is None:
            results.append(Trial(None, None))
        else:
            results.append(Trial(got[2], got[0] - source.started, got[1]))
    alerted = [t for t in results if t.end_s is not None]
    return {
        "trials": trials, "seconds": len(audio) / SAMPLE_RATE, "alerted": len(alerted),
        "cascade": verifier is not None, "stages": sorted({t.stage for t in alerted}),
        "end_s": _percentiles([t.end_s for t in alerted if t.end_s is not None]),
        "wall_s": _percentiles([t.wall_s for t in alerted if t.wall_s is not None]),
        "delay_s": _percentiles([t.delay_s for t in alerted if t.delay_s is not None]),
    }
