"""The heavier stages off the hot path: ``ScoringWorker`` runs one scoring callable on a thread of its own.

A ``ScoringWorker`` owns one thread and a bounded queue of jobs. ``submit`` never blocks: when the queue is full it
returns False (and counts it), and the caller answers the request as lost at once, so capture and the filter never
wait for a heavier model. ``then`` queues a callable behind the jobs already waiting (a stream's end event, so that
it follows that stream's last verdict) without counting against the bound.

Two run in the daemon, each with its own queue and counters: the cascade's verifier (``VerifierWorker``:
``OnnxVerifier.judge`` of a ``VerifyJob``'s audio) and clone watch's voice checks (a ``VoiceJob`` scored by
``voxwatch.voices.watch.VoiceChecker``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from voxwatch.pipeline.queue_items import VerifyJob
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.pipeline.stats import p50_p99

log = logging.getLogger(__name__)


class _Job(Protocol):
    stream: str
    t_submit: float


J = TypeVar("J", bound=_Job)
R = TypeVar("R")


class ScoringWorker(Generic[J, R]):
    """One thread running ``score(job)`` on queued jobs; ``on_result(job, result)`` runs on that thread (result
    None: ``score`` raised on that job, logged, and the request counts as lost; a scorer may also return None
    itself for "no answer")."""

    def __init__(self, score: Callable[[J], R | None], capacity: int, on_result: Callable[[J, R | None], None],
                 name: str = "voxwatch-worker", what: str = "worker") -> None:
        self.capacity = capacity
        self._score = score
        self._on_result = on_result
        self._what = what
        self._items: deque[tuple[J | None, Callable[[], None] | None]] = deque()
        self._jobs_waiting = 0
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        # counters (each written by one thread: submitted/queue_full by the submitter, the rest by the worker)
        self.submitted = 0
        self.queue_full = 0
        self.scored = 0
        self.cpu_seconds = 0.0
        self._latencies: deque[float] = deque(maxlen=2048)  # ms from submit to result

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: J) -> bool:
        """Queue a job; False (counted) when ``capacity`` jobs already wait."""
        with self._cond:
            if self._jobs_waiting >= self.capacity or self._closing:
                self.queue_full += 1
                return False
            job.t_submit = time.monotonic()
            self._items.append((job, None))
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
            self._items.append((None, action))
            self._cond.notify()

    def close(self, timeout: float | None = None) -> bool:
        """Score what is queued, then end the thread; True if it finished within ``timeout``."""
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
                job, action = self._items.popleft()
                if job is not None:
                    self._jobs_waiting -= 1
            if job is None:
                assert action is not None
                action()
                continue
            c0 = time.thread_time()
            failed = False
            try:
                result: R | None = self._score(job)
                self.cpu_seconds += time.thread_time() - c0
                self.scored += 1
            except Exception:  # one bad utterance must not end the worker for every stream
                log.exception("%s failed on audio of stream %s", self._what, job.stream)
                result, failed = None, True
            try:
                self._on_result(job, result)
            except Exception:  # a bug in the caller's handling must not end the worker for every stream
                log.exception("%s: handling the answer for stream %s failed", self._what, job.stream)
            if not failed:
                self._latencies.append((time.monotonic() - job.t_submit) * 1000)

    def latency_ms(self) -> tuple[float | None, float | None]:
        """(p50, p99) of the time from queueing to the answer, ms."""
        return p50_p99(list(self._latencies))


class VerifierWorker(ScoringWorker[VerifyJob, tuple[float, bool]]):
    """The cascade's verifier: ``OnnxVerifier.judge`` of each job's audio (its score, and whether it was in the
    telephone band)."""

    def __init__(self, verifier: OnnxVerifier, capacity: int,
                 on_result: Callable[[VerifyJob, tuple[float, bool] | None], None]) -> None:
        super().__init__(lambda job: verifier.judge(job.audio), capacity, on_result, "voxwatch-verifier", "verifier")
        self.verifier = verifier

    @property
    def verified(self) -> int:
        return self.scored
