"""``StreamFront``: one stream's front end, VAD gate -> windower -> feature frame cache, fed blocks in order.

It holds everything a stream needs before the classifier, so ``Pipeline`` (many streams on worker threads) and
``Detector`` (one stream, synchronous) cut the same windows with the same features from the same audio. It owns
no thread and no queue: feed it ``process(start, block)`` and, at the end of the stream, ``flush()``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from voxwatch.pipeline.framecache import StreamFeatureBuffer
from voxwatch.pipeline.routing_lead import RoutingLead
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.stages.filter.features import FeatureSettings
from voxwatch.pipeline.utterance_audio import UtteranceAudio
from voxwatch.pipeline.vad import SpeechEvent, VadGate, VadSettings
from voxwatch.pipeline.windower import UtteranceEnd, Windower, WindowSettings, WindowSpec


@dataclass(frozen=True)
class FrontWindow:
    """A window ready to score: where it lies in the stream, and its features (n_frames x n_features)."""

    spec: WindowSpec
    feats: np.ndarray


FrontOutput = FrontWindow | UtteranceEnd


class StreamFront:
    """Per-stream VAD, windowing and incremental features. Blocks must come in order (gaps are allowed).

    ``stage_seconds`` (optional) is a dict whose ``"vad"`` and ``"features"`` entries get this front's thread CPU
    time added, so a runner can report the cost per stage. ``keep_audio_s`` > 0 keeps that much of each
    utterance's audio for the cascade's verifier (``utterance_audio``); ``bounded_lead`` (for a front whose items
    another thread routes) keeps note of how far it runs ahead of that routing (``lead``, ``routing_lead``).
    """

    def __init__(self, features: FeatureSettings, vad: VadSettings, window: WindowSettings,
                 stage_seconds: dict[str, float] | None = None, keep_audio_s: float = 0.0,
                 bounded_lead: bool = False) -> None:
        self.vad = VadGate(vad)
        self.windower = Windower(window)
        hang = vad.hangover_ms * SAMPLE_RATE // 1000
        history = 2 * window.window_samples + 2 * SAMPLE_RATE + hang  # a window, an onset and a hangover back
        self.feats = StreamFeatureBuffer(features, window.window_samples, history)
        self.stage_seconds = stage_seconds if stage_seconds is not None else {"vad": 0.0, "features": 0.0}
        self.expected = 0  # absolute index of the sample after the last one fed
        self.samples_in = 0
        self.windows = 0
        self.utterances = 0
        self.audio = UtteranceAudio(keep_audio_s) if keep_audio_s > 0 else None
        self.lead: RoutingLead | None = None  # None: nothing to bound (no audio kept, or routed on this thread)
        if self.audio is not None and bounded_lead:  # a span may end a window before the item that asks for it
            self.lead = RoutingLead(self.audio.capacity - self.audio.keep - window.window_samples)

    def process(self, start: int, audio: np.ndarray) -> list[FrontOutput]:
        """Feed a block whose first sample has absolute index ``start``; returns the windows and utterance ends
        that its audio completes, in stream order."""
        t0 = time.thread_time()
        events = self.vad.process(audio, start)
        self.stage_seconds["vad"] += time.thread_time() - t0
        self.feats.append(start, audio)
        if self.audio is not None:
            self.audio.append(start, audio)
        self.samples_in += len(audio)
        self.expected = start + len(audio)
        return self._cut(events)

    def flush(self) -> list[FrontOutput]:
        """The stream has ended: close the utterance in progress (its last windows and its end)."""
        t0 = time.thread_time()
        events = self.vad.flush()
        self.stage_seconds["vad"] += time.thread_time() - t0
        return self._cut(events)

    def audio_span(self, start: int, end: int) -> np.ndarray | None:
        """The last ``keep_audio_s`` of the stream's audio [start, end) (None when no audio is kept): what the
        verifier judges of an utterance or a segment. Older audio is overwritten as the stream goes on (a margin of
        seconds is kept), so ask soon after the span's end has come out of ``process``/``flush``; another thread
        may ask (the history is locked)."""
        return None if self.audio is None else self.audio.span(start, end)

    def _cut(self, events: list[SpeechEvent]) -> list[FrontOutput]:
        out: list[FrontOutput] = []
        for item in self.windower.update(events, self.expected):
            if isinstance(item, WindowSpec):
                t0 = time.thread_time()
                feats = self.feats.window(item)
                self.stage_seconds["features"] += time.thread_time() - t0
                self.windows += 1
                out.append(FrontWindow(item, feats))
            else:
                if item.windows:
                    self.utterances += 1
                out.append(item)
            if self.lead is not None:
                self.lead.note(item.end)
        return out
