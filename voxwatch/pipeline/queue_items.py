"""What the pipeline's workers hand each other: typed items on the bounded queues.

The front worker puts lists of ``WindowItem``/``UtteranceItem``/``StreamEndItem`` (one list per pass over the
streams) on the window queue, ``Pipeline.reconfigure`` puts a ``ReconfigureItem``, and ``None`` says that nothing
more comes; the inference worker hands ``VerifyJob``s to the verifier's queue and ``VoiceJob``s to clone watch's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxwatch.pipeline.cascade import VerifierSettings
from voxwatch.pipeline.decision import DecisionSettings
from voxwatch.pipeline.router import VerifyRequest
from voxwatch.pipeline.windower import UtteranceEnd, WindowSpec


@dataclass(frozen=True)
class WindowItem:
    """A window ready to score. ``t_ready``: the monotonic time its audio was read (latency is counted from it)."""

    stream: str
    spec: WindowSpec
    feats: np.ndarray
    t_ready: float


@dataclass(frozen=True)
class UtteranceItem:
    stream: str
    end: UtteranceEnd
    t_ready: float


@dataclass(frozen=True)
class StreamEndItem:
    """A stream's source has ended (``state`` "ended") or failed ("error", ``detail`` says why)."""

    stream: str
    state: str
    detail: str


@dataclass(frozen=True)
class ReconfigureItem:
    """New decision and cascade settings, applied in order with the audio (None keeps the current ones)."""

    decision: DecisionSettings
    stream_decisions: tuple[tuple[str, DecisionSettings], ...] | None
    verifier: VerifierSettings | None = None
    stream_verifiers: tuple[tuple[str, VerifierSettings], ...] | None = None
    stream_voices: tuple[tuple[str, str], ...] | None = None  # [streams.<id>] expect_voice; None: keep them


FrontItem = WindowItem | UtteranceItem | StreamEndItem
QueueEntry = list[FrontItem] | ReconfigureItem | None


@dataclass
class VerifyJob:
    """One verifier request of a stream with its audio; ``t_submit`` is set when it is queued."""

    stream: str
    request: VerifyRequest
    audio: np.ndarray
    t_ready: float
    t_submit: float = 0.0


@dataclass
class VoiceJob:
    """One voice check (clone watch) of a stream's utterance with its audio; ``t_submit`` is set when it is queued."""

    stream: str
    request: VerifyRequest
    audio: np.ndarray
    t_ready: float
    t_submit: float = 0.0
