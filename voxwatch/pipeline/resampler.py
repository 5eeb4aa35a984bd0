"""A streaming polyphase resampler: the block-by-block twin of ``scipy.signal.resample_poly``.

A microphone delivers audio at its native rate in small blocks; resampling each block on its own with
``resample_poly`` would put edge artefacts at every block boundary. ``StreamResampler`` keeps the filter's history
between blocks and uses the same anti-aliasing FIR (Kaiser window, beta 5, ``10 * max(up, down)`` half length) and
the same delay compensation as ``resample_poly``, so its output equals ``resample_poly`` of the whole signal (except
for the last few samples, which it emits once the following audio arrives). It allocates per block, so it runs in
the source's thread, never in the audio callback.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from voxwatch.pipeline.samplerate import SAMPLE_RATE


class StreamResampler:
    """Resample an unbounded stream from ``rate`` to ``target`` Hz, block by block."""

    def __init__(self, rate: int, target: int = SAMPLE_RATE) -> None:
        ratio = Fraction(target, rate).limit_denominator(1000)
        self.up, self.down = ratio.numerator, ratio.denominator
        self.passthrough = self.up == self.down == 1
        if self.passthrough:
            return
        from scipy.signal import firwin

        max_rate = max(self.up, self.down)
        self.half = 10 * max_rate
        taps = firwin(2 * self.half + 1, 1.0 / max_rate, window=("kaiser", 5.0)) * self.up
        self.k = -(-len(taps) // self.up)  # taps per phase
        padded = np.zeros(self.k * self.up)
        padded[: len(taps)] = taps
        # phases[p, j] = h[p + j*up]: output at upsampled position P uses x[P//up - j] * phases[P % up, j]
        self.phases = padded.reshape(self.k, self.up).T.astype(np.float64)
        self._buf = np.zeros(self.k, dtype=np.float64)  # input history; _buf[i] is input index _buf_start + i
        self._buf_start = -self.k
        self._n_in = 0
        self._next_out = 0

    def process(self, block: np.ndarray) -> np.ndarray:
        """Feed input samples; returns every output sample that is now fully determined (float32)."""
        block = np.asarray(block, dtype=np.float32)
        if self.passthrough:
            return block.copy()
        self._buf = np.concatenate([self._buf, block.astype(np.float64)])
        self._n_in += len(block)
        # output m needs inputs up to (m*down + half) // up
        last = (self._n_in * self.up - 1 - self.half) // self.down  # largest m with all inputs present
        if last < self._next_out:
            return np.zeros(0, dtype=np.float32)
        m = np.arange(self._next_out, last + 1)
        pos = m * self.down + self.half
        base = pos // self.up - self._buf_start  # index into _buf of the newest input used
        idx = base[:, None] - np.arange(self.k)[None, :]
        valid = idx >= 0  # inputs before the stream started are zeros (as resample_poly pads)
        values = np.where(valid, self._buf[np.maximum(idx, 0)], 0.0)
        out = np.einsum("ij,ij->i", values, self.phases[pos % self.up])
        self._next_out = last + 1
        # keep only the history the next output can need
        keep_from = (self._next_out * self.down + self.half) // self.up - (self.k - 1)
        drop = max(0, keep_from - self._buf_start)
        if drop:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        return out.astype(np.float32)
