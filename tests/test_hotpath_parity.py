"""Parity of the hot path's faster code with straightforward references (docs/performance.md, 2026-12-05):
each optimised function must give what the plain formula gives, on synthetic audio."""

from __future__ import annotations

import numpy as np

from voxwatch.pipeline.utterance_audio import UtteranceAudio


def _reference_span(keep: UtteranceAudio, start: int, end: int) -> np.ndarray:
    """The span as an index array of every sample around the circle (the first implementation)."""
    start = max(start, end - keep.keep, keep._end - keep.capacity)
    end = min(end, keep._end)
    if end <= start:
        return np.zeros(0, np.float32)
    return keep._buf[np.arange(start, end) % keep.capacity]


def test_utterance_audio_span_equals_the_index_array_reference():
    rng = np.random.default_rng(7)
    keep = UtteranceAudio(1.0)  # 1 s kept + the margin: a few passes around the circle below
    position = 0
    for _ in range(400):
        position += int(rng.integers(0, 3000)) if rng.random() < 0.1 else 0  # gaps now and then
        block = rng.standard_normal(int(rng.integers(1, 9000))).astype(np.float32)
        keep.append(position, block)
        position += len(block)
        for _ in range(3):
            end = position - int(rng.integers(0, 20000))
            start = end - int(rng.integers(0, 40000))
            got = keep.span(start, end)
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, _reference_span(keep, start, end))
    # the span is a copy: later audio does not change what was handed out
    got = keep.span(position - 1000, position)
    before = got.copy()
    keep.append(position, np.zeros(keep.capacity, np.float32))
    np.testing.assert_array_equal(got, before)
