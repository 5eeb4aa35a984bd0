"""The pipeline's counters as typed snapshots: what heartbeats, metrics, the monitor and the benchmark read.

``PipelineStats.as_dict`` is the heartbeat's JSON form (the wire format the monitor and metrics read), so the
field names of the wire stay in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def p50_p99(values: Iterable[float], ndigits: int = 3) -> tuple[float | None, float | None]:
    """(median, 99th percentile) of latencies in ms, one rule for the filter and the verifier: nearest rank on the
    sorted values (no interpolation: a reported figure is a latency that happened), the sorted values at ``n // 2``
    and ``min(n - 1, int(0.99 n))``, rounded to microseconds; ``None`` for both when nothing was measured yet."""
    ordered = sorted(values)
    if not ordered:
        return None, None
    n = len(ordered)
    return round(ordered[n // 2], ndigits), round(ordered[min(n - 1, int(n * 0.99))], ndigits)


@dataclass(frozen=True)
class StreamStats:
    audio_s: float
    speech_s: float
    windows: int
    utterances: int
    alerts: int
    dropped_s: float
    ring_fill: float
    threshold: float
    state: str  # "speech", "silence" or "ended"


@dataclass(frozen=True)
class VerifierStats:
    gated: int  # utterances whose filter score reached the gate
    checks: int  # requests of every kind (utterances, suspicious runs, early checks)
    submitted: int
    verified: int
    queue_full: int
    queue_depth: int
    cpu_s: float  # the worker's own CPU for features and scoring
    ms_p50: float | None  # from queueing to the answer
    ms_p99: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"gated": self.gated, "verifier_checks": self.checks, "verifier_submitted": self.submitted,
                "verifier_verified": self.verified, "verifier_queue_full": self.queue_full,
                "verifier_queue_depth": self.queue_depth, "verifier_cpu_s": round(self.cpu_s, 6),
                "verifier_ms_p50": self.ms_p50, "verifier_ms_p99": self.ms_p99}


@dataclass(frozen=True)
class VoiceStats:
    """Clone watch's voice checks (one per judged utterance of a watched stream)."""

    checks: int  # asked for by the routers
    submitted: int
    checked: int  # answered by the worker (with a match, or none: too little speech)
    queue_full: int
    queue_depth: int
    clone_alerts: int
    cpu_s: float
    ms_p50: float | None  # from queueing to the answer
    ms_p99: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"voice_checks": self.checks, "voice_submitted": self.submitted, "voice_checked": self.checked,
                "voice_queue_full": self.queue_full, "voice_queue_depth": self.queue_depth,
                "clone_alerts": self.clone_alerts, "voice_cpu_s": round(self.cpu_s, 6),
                "voice_ms_p50": self.ms_p50, "voice_ms_p99": self.ms_p99}


@dataclass(frozen=True)
class PipelineStats:
    windows_scored: int
    batches: int
    queue_depth: int  # windows waiting for inference
    inference_ms_p50: float | None
    inference_ms_p99: float | None
    streams: dict[str, StreamStats] = field(default_factory=dict)
    verifier: VerifierStats | None = None
    voice: VoiceStats | None = None  # clone watch, where it runs

    @property
    def audio_s(self) -> float:
        return round(sum(s.audio_s for s in self.streams.values()), 3)

    @property
    def speech_s(self) -> float:
        return round(sum(s.speech_s for s in self.streams.values()), 3)

    @property
    def dropped_s(self) -> float:
        return round(sum(s.dropped_s for s in self.streams.values()), 3)

    def as_dict(self) -> dict[str, Any]:
        """The heartbeat's counters (per-stream dicts are fresh, so a caller may add its own keys to them)."""
        return {
            "streams": {stream_id: dict(vars(s)) for stream_id, s in self.streams.items()},
            "audio_s": self.audio_s, "speech_s": self.speech_s, "dropped_s": self.dropped_s,
            "windows_scored": self.windows_scored, "batches": self.batches, "queue_depth": self.queue_depth,
            "inference_ms_p50": self.inference_ms_p50, "inference_ms_p99": self.inference_ms_p99,
            **(self.verifier.as_dict() if self.verifier is not None else {}),
            **(self.voice.as_dict() if self.voice is not None else {}),
        }
