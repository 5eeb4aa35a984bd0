"""Cuts speech segments into fixed-length, overlapping windows, as soon as the audio for each is there.

Rules (also in configs/default.toml):
* windows start at the segment start and every ``hop_s`` after it, and are emitted mid-utterance as soon as
  their last sample has arrived (that is what makes early alerts possible);
* when the segment ends, a last window aligned to the segment's end is added if more than ``tail_min_s`` of
  speech after the last window would otherwise go unscored;
* a segment shorter than one window but at least ``min_segment_s`` long gives one window, padded to full length
  by repeating the segment (no zero padding: digital silence is a shortcut the model must not see);
  a shorter segment is dropped and counted, it is not an utterance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxwatch.errors import ConfigError
from voxwatch.pipeline.vad import SAMPLE_RATE, SpeechEnd, SpeechEvent, SpeechStart


def tile_to_length(audio: np.ndarray, length: int) -> np.ndarray:
    """The padding rule for short segments (and short training clips): repeat the audio until ``length``."""
    audio = np.asarray(audio)
    if len(audio) == 0:
        raise ValueError("cannot pad empty audio")
    return np.resize(audio, length) if len(audio) != length else audio


@dataclass(frozen=True)
class WindowSettings:
    window_s: float = 2.0
    hop_s: float = 1.0
    min_segment_s: float = 0.5
    tail_min_s: float = 0.25

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.hop_s <= 0:
            raise ConfigError("window.window_s and window.hop_s must be positive")
        if self.hop_s > self.window_s:
            raise ConfigError("window.hop_s must not exceed window.window_s")
        if not 0 <= self.min_segment_s <= self.window_s:
            raise ConfigError("window.min_segment_s must be between 0 and window.window_s")

    @property
    def window_samples(self) -> int:
        return int(round(self.window_s * SAMPLE_RATE))

    @property
    def hop_samples(self) -> int:
        return int(round(self.hop_s * SAMPLE_RATE))


@dataclass(frozen=True)
class WindowSpec:
    """A window to score: audio [start, end) of utterance ``utterance``; ``padded`` means end-start < window."""

    utterance: int
    start: int
    end: int
    padded: bool = False


@dataclass(frozen=True)
class UtteranceEnd:
    """The utterance is over; ``windows`` counts its windows (0: too short, dropped)."""

    utterance: int
    start: int
    end: int
    windows: int


WindowerOutput = WindowSpec | UtteranceEnd


class Windower:
    """Per-stream state: feed it VAD events and the current end of audio; it returns windows and utterance ends."""

    def __init__(self, settings: WindowSettings) -> None:
        self.settings = settings
        self._win = settings.window_samples
        self._hop = settings.hop_samples
        self._min = int(round(settings.min_segment_s * SAMPLE_RATE))
        self._tail = int(round(settings.tail_min_s * SAMPLE_RATE))
        self._utterance = -1
        self._seg_start: int | None = None
        self._next_start = 0
        self._last_end = 0
        self._count = 0

    def update(self, events: list[SpeechEvent], audio_end: int) -> list[WindowerOutput]:
        """Apply VAD events (in order), then emit every full window whose audio ends by ``audio_end``."""
        out: list[WindowerOutput] = []
        for event in events:
            if isinstance(event, SpeechStart):
                if self._seg_start is not None:  # defensive: close before reopening
                    out.extend(self._close(event.sample))
                self._open(event.sample)
            elif isinstance(event, SpeechEnd) and self._seg_start is not None:
                out.extend(self._emit_full(event.sample))
                out.extend(self._close(event.sample))
        if self._seg_start is not None:
            out.extend(self._emit_full(audio_end))
        return out

    def _open(self, start: int) -> None:
        self._utterance += 1
        self._seg_start = start
        self._next_start = start
        self._last_end = start
        self._count = 0

    def _emit_full(self, limit: int) -> list[WindowerOutput]:
        out: list[WindowerOutput] = []
        while self._next_start + self._win <= limit:
            out.append(WindowSpec(self._utterance, self._next_start, self._next_start + self._win))
            self._last_end = self._next_start + self._win
            self._next_start += self._hop
            self._count += 1
        return out

    def _close(self, end: int) -> list[WindowerOutput]:
        start = self._seg_start
        assert start is not None
        out: list[WindowerOutput] = []
        length = end - start
        if self._count == 0:
            if length >= self._min and length > 0:  # else too short for a window: ends unjudged (0 windows)
                out.append(WindowSpec(self._utterance, start, end, padded=length < self._win))
                self._count = 1
        elif end - self._last_end > self._tail:
            out.append(WindowSpec(self._utterance, end - self._win, end))
            self._count += 1
        out.append(UtteranceEnd(self._utterance, start, end, self._count))
        self._seg_start = None
        return out
