"""Incremental features for one stream: compute each frame once, slice overlapping windows out of the cache.

With the default 2 s windows and 1 s hop every frame belongs to two windows; computing windows from scratch
does the FFT work twice. ``StreamFeatureBuffer`` keeps the stream's recent audio and a ring of frame rows keyed
by absolute frame index, and builds a window's features from those rows. The result is identical to
``features(audio[start:end])`` (``tests/test_framecache.py`` proves it) because frame rows carry no context
(see voxwatch.pipeline.stages.filter.features). Cases where rows cannot be shared fall back to computing from scratch:
a window that does not start on a frame boundary of the stream, a padded (short) window, or ``preemph != 0``
(pre-emphasis links each frame to the sample before it).
"""

from __future__ import annotations

import numpy as np

from voxwatch.pipeline.ringbuffer import RingBuffer
from voxwatch.pipeline.stages.filter.features import FeatureSettings, features, frame_features, normalize
from voxwatch.pipeline.windower import WindowSpec, tile_to_length


class StreamFeatureBuffer:
    def __init__(self, settings: FeatureSettings, window_samples: int, history_samples: int | None = None) -> None:
        self.settings = settings
        self.window_samples = window_samples
        history = history_samples or 2 * window_samples + settings.frame_len
        self.audio = RingBuffer(history, dtype=np.float32)
        self._step = settings.frame_step
        self._n_frames = settings.n_frames(window_samples)
        cap = history // self._step + 2
        self._rows = np.zeros((cap, settings.n_features), dtype=np.float32)
        self._row_index = np.full(cap, -1, dtype=np.int64)
        self._cap = cap
        self.frames_computed = 0

    def append(self, start_sample: int, samples: np.ndarray) -> None:
        """Add a block whose first sample has absolute index ``start_sample`` (gaps are filled with zeros)."""
        gap = start_sample - self.audio.written
        if gap < 0:
            raise ValueError("audio must be appended in order")
        if gap > self.audio.capacity:
            self.audio.restart_at(start_sample)
            self._row_index[:] = -1
        elif gap:
            self.audio.write(np.zeros(gap, dtype=np.float32))
        self.audio.write(np.asarray(samples, dtype=np.float32))

    def window(self, spec: WindowSpec) -> np.ndarray:
        """Features of the window ``spec`` (its audio must still be in the history)."""
        if spec.padded:
            audio = self.audio.peek(spec.start, spec.end)
            return features(tile_to_length(audio, self.window_samples), self.settings)
        if spec.start % self._step or self.settings.preemph:
            return features(self.audio.peek(spec.start, spec.end), self.settings)
        first = spec.start // self._step
        index = np.arange(first, first + self._n_frames)
        slots = index % self._cap
        missing = index[self._row_index[slots] != index]
        if missing.size:
            lo, hi = int(missing[0]), int(missing[-1])
            audio = self.audio.peek(lo * self._step, hi * self._step + self.settings.frame_len)
            rows = frame_features(audio, self.settings)
            span = np.arange(lo, hi + 1)
            self._rows[span % self._cap] = rows
            self._row_index[span % self._cap] = span
            self.frames_computed += len(span)
        return normalize(self._rows[slots], self.settings)
