"""The benchmark's audio: a speech-like signal that webrtcvad takes for speech, conversations of it with pauses,
and ``LoopSource``, a pipeline ``Source`` that loops one long signal for many streams.

``speech_like`` is also what the tests feed the pipeline, so bench and tests exercise the same kind of audio.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from voxwatch.pipeline.samplerate import SAMPLE_RATE


def speech_like(seconds: float, level: float = 0.3, seed: int = 0, f0: float = 140.0) -> np.ndarray:
    """A voiced, syllable-modulated harmonic signal that webrtcvad takes for speech (as in tests/helpers)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = f0 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, np.pi))
    x = voiced * envelope + rng.standard_normal(len(t)) * 0.02
    return (level * x / np.abs(x).max()).astype(np.float32)


def conversation(seconds: float, seed: int = 0) -> np.ndarray:
    """Utterances of 1.5-6 s (varying pitch and level) separated by 0.6-1.5 s of faint noise."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    total = 0
    while total < seconds * SAMPLE_RATE:
        speech = speech_like(rng.uniform(1.5, 6.0), level=rng.uniform(0.05, 0.5), seed=int(rng.integers(1 << 30)),
                             f0=rng.uniform(90, 240))
        pause = (rng.standard_normal(int(rng.uniform(0.6, 1.5) * SAMPLE_RATE)) * 0.0005).astype(np.float32)
        parts += [speech, pause]
        total += len(speech) + len(pause)
    return np.concatenate(parts)[: int(seconds * SAMPLE_RATE)]


def audio_pool(files: list[str] | None, seconds: float = 120.0) -> np.ndarray:
    """One long signal that every stream loops through, each from its own offset (memory stays small)."""
    if files:
        from voxwatch.pipeline.sources import load_audio

        pause = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
        return np.concatenate([x for f in files for x in (load_audio(f), pause)])
    return conversation(seconds, seed=1234)


class LoopSource:
    """A stream that plays ``samples`` samples of ``pool`` from ``offset`` (wrapping), paced or as fast as taken.

    Fast mode fills the ring and sleeps 50 ms whenever less than half of it is free (nothing is dropped,
    and feeding costs little, so the figures are the pipeline's); real-time mode writes ``block_ms`` blocks on the
    clock (like a capture callback; the bench passes ``[capture] block_ms`` or ``--block-ms``).
    """

    def __init__(self, pool: np.ndarray, offset: int, samples: int, realtime: bool, block_ms: int = 20) -> None:
        self.pool = pool
        self.offset = offset % len(pool)
        self.samples = samples
        self.realtime = realtime
        self.block = SAMPLE_RATE * block_ms // 1000
        self.description = f"bench:{offset}"

    def _chunk(self, position: int, n: int) -> np.ndarray:
        start = (self.offset + position) % len(self.pool)
        if start + n <= len(self.pool):
            return self.pool[start : start + n]
        return np.take(self.pool, np.arange(start, start + n), mode="wrap")

    def run(self, ring, stop: threading.Event, report) -> None:  # noqa: ARG002 (Source protocol)
        position = 0
        t0 = time.monotonic()
        while position < self.samples and not stop.is_set():
            if self.realtime:
                delay = t0 + position / SAMPLE_RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # a plain sleep costs a third of Event.wait's CPU (stop is checked per block)
                n = min(self.block, self.samples - position)
            else:
                free = ring.free()
                if free < ring.capacity // 2 and free < self.samples - position:
                    stop.wait(0.05)
                    continue
                n = min(free, self.samples - position)
            ring.write(self._chunk(position, n))
            position += n
