"""The cascade's verifier off the hot path: ``VerifierWorker`` runs ``OnnxVerifier`` on a thread of its own.

``VerifierWorker`` owns one thread and a bounded queue of utterances. ``submit`` never blocks: when the queue is
full it returns False (and counts it), and the caller lets the filter's verdict stand, so capture and the filter
never wait for the heavier model. ``then`` queues a callable behind the jobs already waiting (a stream's end
event, so that it follows that stream's last verdict) without counting against the bound.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxwatch.pipeline.decision import DecisionSettings, Judgement
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier

log = logging.getLogger(__name__)


@dataclass
class VerifyJob:
    """One gated utterance: the filter's verdict, the audio, and the rules in force when it was gated."""

    stream: str
    verdict: Judgement
    audio: np.ndarray
    decision: DecisionSettings
    rule: Any  # voxwatch.pipeline.cascade.CascadeRule
    t_ready: float
    t_submit: float = 0.0


class VerifierWorker:
    """One thread scoring queued utterances; ``on_result(job, score, seconds)`` runs on that thread."""

    def __init__(self, verifier: OnnxVerifier, capacity: int,
                 on_result: Callable[[VerifyJob, float], None]) -> None:
        self.verifier = verifier
        self.capacity = capacity
        self._on_result = on_result
        self._items: deque = deque()
        self._jobs_waiting = 0
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name="voxwatch-verifier", daemon=True)
        # counters (each written by one thread: submitted/queue_full by the submitter, the rest by the worker)
        self.submitted = 0
        self.queue_full = 0
        self.verified = 0
        self.cpu_seconds = 0.0
        self._latencies: deque[float] = deque(maxlen=2048)  # ms from submit to result

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: VerifyJob) -> bool:
        """Queue a gated utterance; False (counted) when ``capacity`` utterances already wait."""
        with self._cond:
            if self._jobs_waiting >= self.capacity or self._closing:
                self.queue_full += 1
                return False
            job.t_submit = time.monotonic()
            self._items.append(job)
            self._jobs_waiting += 1
            self.submitted += 1
            self._cond.notify()
        return True

    def then(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the worker after the jobs queued so far (not bounded: for rare events only)."""
        with self._cond:
            if self._closing and not self._thread.is_alive():
                action()
                return
            self._items.append(action)
            self._cond.notify()

    def close(self, timeout: float | None = None) -> bool:
        """Judge what is queued, then end the thread; True if it finished within ``timeout``."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    @property
    def depth(self) -> int:
        return self._jobs_waiting

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closing:
                    self._cond.wait()
                if not self._items:
                    return
                item = self._items.popleft()
                if isinstance(item, VerifyJob):
                    self._jobs_waiting -= 1
            if not isinstance(item, VerifyJob):
                item()
                continue
            c0 = time.thread_time()
            try:
                score = self.verifier.score(item.audio)
                self.cpu_seconds += time.thread_time() - c0
                self.verified += 1
                self._on_result(item, score)
            except Exception:  # one bad utterance must not end the verifier for every stream
                log.exception("verifier failed on an utterance of stream %s", item.stream)
                continue
            self._latencies.append((time.monotonic() - item.t_submit) * 1000)

    def stats(self) -> dict[str, Any]:
        lat = sorted(self._latencies)
        return {
            "verifier_submitted": self.submitted,
            "verifier_verified": self.verified,
            "verifier_queue_full": self.queue_full,
            "verifier_queue_depth": self.depth,
            "verifier_cpu_s": round(self.cpu_seconds, 6),  # the worker's own CPU for features and scoring
            "verifier_ms_p50": round(lat[len(lat) // 2], 3) if lat else None,
            "verifier_ms_p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 3) if lat else None,
        }
