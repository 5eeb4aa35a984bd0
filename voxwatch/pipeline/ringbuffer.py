"""A fixed-size, preallocated audio ring buffer per stream.

The writer (a capture callback or a replay thread) must never block: when the reader falls behind, a write
overwrites the oldest unread audio and counts it in ``dropped``. Samples carry absolute indices (samples since
the stream started), so stream time stays right across drops. The lock is held only for a memcpy.
"""

from __future__ import annotations

import threading

import numpy as np


class RingBuffer:
    """Single-producer, single-consumer ring of samples with absolute indexing and overflow accounting."""

    def __init__(self, capacity: int, dtype: np.dtype | type = np.float32) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self._buf = np.zeros(capacity, dtype=dtype)
        self._capacity = capacity
        self._lock = threading.Lock()
        self._written = 0  # absolute index one past the last sample written
        self._read = 0  # absolute index of the next sample the reader will get
        self._dropped = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def written(self) -> int:
        """Total samples ever written (the absolute index of the next sample)."""
        return self._written

    @property
    def dropped(self) -> int:
        """Samples overwritten before the reader got them."""
        return self._dropped

    def available(self) -> int:
        with self._lock:
            return self._written - self._read

    def free(self) -> int:
        """How many samples can be written now without dropping unread audio."""
        with self._lock:
            return self._capacity - (self._written - self._read)

    def write(self, samples: np.ndarray) -> int:
        """Append samples; never blocks. Returns how many unread samples this write dropped."""
        samples = np.asarray(samples)
        n = len(samples)
        if n == 0:
            return 0
        with self._lock:
            if n > self._capacity:  # only the newest `capacity` samples can survive
                skipped = n - self._capacity
                samples = samples[skipped:]
                self._written += skipped
                n = self._capacity
            start = self._written % self._capacity
            first = min(n, self._capacity - start)
            self._buf[start : start + first] = samples[:first]
            if first < n:
                self._buf[: n - first] = samples[first:]
            self._written += n
            lost = max(0, self._written - self._read - self._capacity)
            if lost:
                self._read += lost
                self._dropped += lost
            return lost

    def read(self, max_samples: int | None = None) -> tuple[int, np.ndarray]:
        """Take unread samples (oldest first). Returns (absolute index of the first, a copy of the samples)."""
        with self._lock:
            n = self._written - self._read
            if max_samples is not None:
                n = min(n, max_samples)
            start = self._read
            out = self._copy(start, start + n)
            self._read += n
            return start, out

    def peek(self, start: int, end: int) -> np.ndarray:
        """Copy of the samples with absolute indices [start, end), read or not, if still held."""
        with self._lock:
            if start < self._written - self._capacity or end > self._written or start > end:
                raise IndexError(f"samples [{start}, {end}) are not in the buffer")
            return self._copy(start, end)

    def restart_at(self, index: int) -> None:
        """Forget all held audio and continue at absolute ``index`` (after a gap longer than the buffer)."""
        with self._lock:
            if index < self._written:
                raise ValueError("cannot move back in time")
            self._written = self._read = index

    def oldest(self) -> int:
        """Absolute index of the oldest sample still held."""
        with self._lock:
            return max(0, self._written - self._capacity)

    def _copy(self, start: int, end: int) -> np.ndarray:
        n = end - start
        out = np.empty(n, dtype=self._buf.dtype)
        if n == 0:
            return out
        s = start % self._capacity
        first = min(n, self._capacity - s)
        out[:first] = self._buf[s : s + first]
        if first < n:
            out[first:] = self._buf[: n - first]
        return out
