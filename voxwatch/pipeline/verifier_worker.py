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

from voxwatch.pipeline.queue_items import VerifyJob
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.pipeline.stats import p50_p99

log = logging.getLogger(__name__)


class VerifierWorker:
    """One thread scoring queued requests; ``on_result(job, score)`` runs on that thread (score None: the verifier
    failed on that audio, logged, and the request counts as unverified)."""

    def __init__(self, verifier: OnnxVerifier, capacity: int,
                 on_result: Callable[[VerifyJob, float | None], None]) -> None:
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
                score: float | None = self.verifier.score(item.audio)
                self.cpu_seconds += time.thread_time() - c0
                self.verified += 1
            except Exception:  # one bad utterance must not end the verifier for every stream
                log.exception("verifier failed on audio of stream %s", item.stream)
                score = None
            self._on_result(item, score)
            if score is None:
                continue
            self._latencies.append((time.monotonic() - item.t_submit) * 1000)

    def latency_ms(self) -> tuple[float | None, float | None]:
        """(p50, p99) of the time from queueing to the answer, ms."""
        return p50_p99(list(self._latencies))
