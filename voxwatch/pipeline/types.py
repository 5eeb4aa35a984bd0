"""The pipeline's data types: its settings and the events it emits.

They live apart from ``runner.py`` because most of their users (the config loader, the publisher, evidence,
metrics, the replay summary) only describe or consume what a pipeline does and have no business importing the
threads that do it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from voxwatch.errors import ConfigError
from voxwatch.pipeline.cascade import VerifierSettings
from voxwatch.pipeline.decision import DecisionSettings, Judgement
from voxwatch.pipeline.stages.filter.features import FeatureSettings
from voxwatch.pipeline.vad import VadSettings
from voxwatch.pipeline.windower import WindowSettings


@dataclass(frozen=True)
class PipelineSettings:
    features: FeatureSettings = field(default_factory=FeatureSettings)
    vad: VadSettings = field(default_factory=VadSettings)
    window: WindowSettings = field(default_factory=WindowSettings)
    decision: DecisionSettings = field(default_factory=DecisionSettings)
    ring_seconds: float = 10.0
    queue_windows: int = 512
    max_batch: int = 8
    inference_threads: int = 1
    # (stream id, its own decision settings): a noisy room and a quiet headset need not share one threshold
    stream_decisions: tuple[tuple[str, DecisionSettings], ...] = ()
    verifier: VerifierSettings = field(default_factory=VerifierSettings)  # the cascade (voxwatch.pipeline.cascade)
    stream_verifiers: tuple[tuple[str, VerifierSettings], ...] = ()  # [streams.<id>.verifier]
    stream_voices: tuple[tuple[str, str], ...] = ()  # [streams.<id>] expect_voice: the voice each stream must be
    voice_queue: int = 8  # clone watch's voice checks waiting at most (more are counted as voice_queue_full)
    # which clone matches alert: "expected" (only on streams with expect_voice: a caller whose identity the line
    # claims) or "nearest" (any speech nearest to an enrolled voice; other people who merely sound alike alert too)
    clone_alerts: str = "expected"

    def __post_init__(self) -> None:
        if self.ring_seconds <= 0 or self.queue_windows <= 0 or self.max_batch <= 0 or self.inference_threads <= 0 \
                or self.voice_queue <= 0:
            raise ConfigError("pipeline.ring_seconds, queue_windows, max_batch, inference_threads and voice_queue "
                              "must be > 0")
        if self.clone_alerts not in ("expected", "nearest"):
            raise ConfigError(f'pipeline.clone_alerts must be "expected" or "nearest", not {self.clone_alerts!r}')

    def decision_for(self, stream: str) -> DecisionSettings:
        """The stream's own decision settings where it has some, else the common ``decision``."""
        return dict(self.stream_decisions).get(stream, self.decision)

    def verifier_for(self, stream: str) -> VerifierSettings:
        """The stream's own verifier settings where it has some, else the common ``verifier``."""
        return dict(self.stream_verifiers).get(stream, self.verifier)

    def clone_alerts_for(self, stream: str) -> bool:
        """Whether a clone match on this stream raises an alert (its verdict carries the match either way)."""
        return self.clone_alerts == "nearest" or self.voice_for(stream) is not None

    def voice_for(self, stream: str) -> str | None:
        """The voice the stream must be (``expect_voice``), None where it has none."""
        return dict(self.stream_voices).get(stream)


@dataclass(frozen=True)
class StreamEvent:
    """A stream's life: ``started``, ``ended``, ``error`` (detail says why) or ``recovered``."""

    stream: str
    state: str
    detail: str = ""
    source: str = ""


@dataclass(frozen=True)
class JudgementEvent:
    """An alert or verdict for a stream. ``t_ready`` is the monotonic time the deciding audio was read."""

    stream: str
    judgement: Judgement
    model_id: str
    model_sha256: str
    t_ready: float
    verifier_id: str = ""  # the verifier's model id where it decided


PipelineEvent = StreamEvent | JudgementEvent


def fan_out(*sinks: Callable[[PipelineEvent], None]) -> Callable[[PipelineEvent], None]:
    """One emit callable that calls every sink (none of them may block)."""

    def emit(event: PipelineEvent) -> None:
        for sink in sinks:
            sink(event)

    return emit
