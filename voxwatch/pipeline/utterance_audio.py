"""``UtteranceAudio``: the recent audio of one stream, so the cascade's verifier can see a whole utterance.

The filter only ever needs a 2-second window; the verifier judges the last ``keep_s`` seconds of an utterance or
of a suspicious run of windows inside one. A fixed circular buffer of ``keep_s`` plus a margin holds them: the
margin covers what may lie between a span's end and the newest audio by the time the span is asked for (the VAD's
hangover, a read block, and the windows waiting for inference in the daemon, whose inference worker asks while the
front worker writes: hence the lock). Memory per stream is bounded whatever the utterance length, and nothing is
allocated at all when no verifier is in use.
"""

from __future__ import annotations

import threading

import numpy as np

from voxwatch.pipeline.samplerate import SAMPLE_RATE

_MARGIN_S = 8.0  # hangover (0.4 s by default) + a read block (0.5 s) + windows waiting for inference


class UtteranceAudio:
    """Circular history of a stream's audio by absolute sample index (blocks in order; gaps read as zeros)."""

    def __init__(self, keep_s: float) -> None:
        self.keep = int(round(keep_s * SAMPLE_RATE))
        self.capacity = self.keep + int(_MARGIN_S * SAMPLE_RATE)
        self._buf = np.zeros(self.capacity, np.float32)
        self._end = 0  # absolute index after the newest sample held
        self._lock = threading.Lock()

    def append(self, start: int, audio: np.ndarray) -> None:
        with self._lock:
            self._append(start, audio)

    def _append(self, start: int, audio: np.ndarray) -> None:
        if start > self._end:  # a gap: what it covers reads as silence
            self._write(self._end, np.zeros(min(start - self._end, self.capacity), np.float32))
            self._end = start
        self._write(start, np.asarray(audio, np.float32))
        self._end = max(self._end, start + len(audio))

    def _write(self, start: int, audio: np.ndarray) -> None:
        if len(audio) > self.capacity:
            start, audio = start + len(audio) - self.capacity, audio[-self.capacity :]
        pos = start % self.capacity
        first = min(len(audio), self.capacity - pos)
        self._buf[pos : pos + first] = audio[:first]
        self._buf[: len(audio) - first] = audio[first:]

    def span(self, start: int, end: int) -> np.ndarray:
        """Audio [start, end) of the stream, at most its last ``keep_s`` seconds and only what is still held."""
        with self._lock:
            start = max(start, end - self.keep, self._end - self.capacity)
            end = min(end, self._end)
            if end <= start:
                return np.zeros(0, np.float32)
            return self._copy(start, end - start)

    def _copy(self, start: int, n: int) -> np.ndarray:
        """A copy of ``n`` held samples from absolute index ``start``: one or two slices of the circle (an index
        array of every sample would cost ten times as much for seconds of audio)."""
        pos = start % self.capacity
        first = min(n, self.capacity - pos)
        if first == n:
            return self._buf[pos : pos + n].copy()
        return np.concatenate((self._buf[pos:], self._buf[: n - first]))
