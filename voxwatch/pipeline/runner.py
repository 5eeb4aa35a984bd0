"""``Pipeline``: runs the stages for many streams at once, joined by bounded queues.

Threads and what each owns:

* one **source thread per stream** (a file replay or a device): writes into that stream's ring buffer;
* the **front worker** (voxwatch.pipeline.front_worker): reads every ring buffer, runs each stream's
  ``StreamFront`` and puts typed items (voxwatch.pipeline.queue_items) on the bounded window queue;
* the **inference worker** (voxwatch.pipeline.inference): scores windows from any streams in shared calls and
  drives each stream's ``CascadeRouter`` (voxwatch.pipeline.router), the one place of the decision rules;
* with a verifier, the **verifier worker** (voxwatch.pipeline.verifier_worker): judges what the routers ask on a
  bounded queue of its own, never making capture or the filter wait;
* with clone watch (``voices``), the **voice worker** (the same kind of worker): the routers' voice checks.

``emit`` receives ``StreamEvent``/``JudgementEvent`` objects and must not block (the daemon's publisher puts them
on its own bounded queue). ``stats()`` gives a typed snapshot of the counters (voxwatch.pipeline.stats) for
heartbeats, metrics and the benchmark.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.cascade import VerifierSettings
from voxwatch.pipeline.decision import DecisionSettings
from voxwatch.pipeline.front_worker import FrontWorker, StreamState
from voxwatch.pipeline.inference import InferenceWorker
from voxwatch.pipeline.queue_items import QueueEntry, ReconfigureItem
from voxwatch.pipeline.router import VOICE_MAX_S
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import Source
from voxwatch.pipeline.stages.filter.session import OnnxClassifier
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.pipeline.stats import PipelineStats, StreamStats, VerifierStats, VoiceStats, p50_p99
from voxwatch.pipeline.types import PipelineEvent, PipelineSettings, StreamEvent

if TYPE_CHECKING:
    from voxwatch.voices.watch import VoiceChecker

log = logging.getLogger(__name__)


class Pipeline:
    """Many streams, one classifier (and optionally one verifier behind it). ``add_stream`` any time; ``stop``
    drains and joins everything."""

    def __init__(self, settings: PipelineSettings, classifier: OnnxClassifier, emit: Callable[[PipelineEvent], None],
                 read_block_s: float = 0.5, verifier: OnnxVerifier | None = None,
                 voices: VoiceChecker | None = None) -> None:
        self.settings = settings
        self.classifier = classifier
        self.verifier = verifier
        self.voices = voices  # clone watch (voxwatch.voices.watch), None: off
        self._emit = emit
        self._streams: dict[str, StreamState] = {}
        self._streams_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closing = threading.Event()
        self._started = False
        self._queue: queue.Queue[QueueEntry] = queue.Queue(maxsize=settings.queue_windows)
        self.front = FrontWorker(settings, self._queue, self._snapshot, self._wake, self._stop, self._closing,
                                 lambda: self.inference.thread.is_alive(), read_block_s)
        self.inference = InferenceWorker(settings, classifier, self._queue, self.front.slots, emit, self._state,
                                         verifier, voices, routed=self._wake_held_front)

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if not self._started:
            self._started = True
            self.front.thread.start()
            self.inference.thread.start()
            if self.inference.verifier_worker is not None:
                self.inference.verifier_worker.start()
            if self.inference.voice_worker is not None:
                self.inference.voice_worker.start()

    def add_stream(self, stream_id: str, source: Source) -> None:
        if self._closing.is_set():
            raise VoxwatchError("pipeline is stopping; cannot add streams")
        with self._streams_lock:
            if stream_id in self._streams:
                raise VoxwatchError(f"stream id {stream_id!r} is already in use")
            keep = self.verifier.card.features.max_s if self.verifier is not None else 0.0
            if self.voices is not None:  # a voice check hears up to an utterance's last VOICE_MAX_S
                keep = max(keep, VOICE_MAX_S)
            state = StreamState(stream_id, source, self.settings, self._wake, self.inference.stage_seconds, keep)
            self._streams[stream_id] = state
        self._emit(StreamEvent(stream_id, "started", source=source.description))
        state.thread = threading.Thread(target=self._source_loop, args=(state,), name=f"src-{stream_id}", daemon=True)
        state.thread.start()
        self._wake.set()

    def finish(self, timeout: float | None = None) -> bool:
        """Wait until every source has ended and all its windows are judged (replay). True if all done."""
        self._closing.set()
        self._wake.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in (self.front.thread, self.inference.thread):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if thread.is_alive():
                thread.join(remaining)
        workers_done = not (self.front.thread.is_alive() or self.inference.thread.is_alive())
        checks_done = True
        for worker in (self.inference.verifier_worker, self.inference.voice_worker):
            if worker is not None and workers_done:  # inference has handed on its last request
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                checks_done = worker.close(remaining) and checks_done
        return workers_done and checks_done

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop sources now, then drain what was already captured (final verdicts), within ``timeout``."""
        self._stop.set()
        return self.finish(timeout)

    def reconfigure(self, decision: DecisionSettings,
                    stream_decisions: tuple[tuple[str, DecisionSettings], ...] | None = None,
                    verifier: VerifierSettings | None = None,
                    stream_verifiers: tuple[tuple[str, VerifierSettings], ...] | None = None,
                    stream_voices: tuple[tuple[str, str], ...] | None = None) -> None:
        """New decision settings (thresholds etc.) and cascade gate/threshold without touching audio; applied in
        order by the inference worker. ``stream_decisions``/``stream_verifiers`` replace the per-stream overrides,
        ``verifier`` the common verifier settings (None keeps them; its model and queue need a restart);
        ``stream_voices`` the streams' ``expect_voice``. Clone watch is decided anew for every stream (after
        ``voices.replace``: voices enrolled or removed)."""
        self._queue.put(ReconfigureItem(decision, stream_decisions, verifier, stream_verifiers, stream_voices))

    # ----------------------------------------------------------------- source threads
    def _source_loop(self, stream: StreamState) -> None:
        def report(state: str, detail: str = "") -> None:
            self._emit(StreamEvent(stream.id, state, detail, stream.source.description))

        try:
            stream.source.run(stream.ring, self._stop, report)
        except VoxwatchError as exc:
            stream.failure = str(exc)
        except Exception as exc:  # a source bug must not take the other streams down
            log.exception("source %s crashed", stream.id)
            stream.failure = f"{exc.__class__.__name__}: {exc}"
        finally:
            stream.source_done.set()
            self._wake.set()

    def _snapshot(self) -> list[StreamState]:
        with self._streams_lock:
            return list(self._streams.values())

    def _wake_held_front(self) -> None:
        if self.front.throttled:
            self._wake.set()

    def _state(self, stream_id: str) -> StreamState:
        with self._streams_lock:
            return self._streams[stream_id]

    # ----------------------------------------------------------------- health and counters
    def stalled_s(self) -> float:
        """How long the pipeline has shown no progress: the front worker begins a pass at least every 50 ms while
        it runs, and one inference batch takes milliseconds; a worker stuck (a hung model call, a deadlock) makes
        this grow without bound. 0 once the front worker has finished (drained or stopped)."""
        now = time.monotonic()
        front = 0.0 if self.front.done.is_set() else now - self.front.beat
        busy_since = self.inference.busy_since
        return max(front, 0.0 if busy_since is None else now - busy_since)

    @property
    def threshold(self) -> float:
        """The common threshold (``[decision]``); a stream with its own settings may differ (``threshold_for``)."""
        return self.inference.threshold

    def threshold_for(self, stream: str) -> float:
        return self.inference.threshold_for(stream)

    @property
    def windows_scored(self) -> int:
        return self.inference.windows_scored

    @property
    def stage_seconds(self) -> dict[str, float]:
        """CPU seconds of the worker threads spent in each stage (thread CPU clock: each stage's own cost)."""
        return self.inference.stage_seconds

    @property
    def batch_observers(self) -> list[Callable[[float, int], None]]:
        """Called by the inference worker after each batch with (seconds, windows); must not block."""
        return self.inference.batch_observers

    @property
    def worker_threads(self) -> dict[str, threading.Thread]:
        """The worker threads by name (the benchmark reads their CPU clocks)."""
        threads = {"front": self.front.thread, "inference": self.inference.thread}
        if self.inference.verifier_worker is not None:
            threads["verifier"] = self.inference.verifier_worker.thread
        if self.inference.voice_worker is not None:
            threads["voice"] = self.inference.voice_worker.thread
        return threads

    def stats(self) -> PipelineStats:
        """A consistent-enough snapshot of the counters (no locks on hot paths)."""
        inference = self.inference
        streams = {s.id: StreamStats(
            audio_s=round(s.front.samples_in / SAMPLE_RATE, 3),
            speech_s=round(s.front.vad.speech_samples / SAMPLE_RATE, 3),
            windows=s.front.windows, utterances=s.front.utterances, alerts=inference.alerts.get(s.id, 0),
            dropped_s=round(s.ring.dropped / SAMPLE_RATE, 3), ring_fill=round(s.ring.available() / s.ring.capacity, 3),
            threshold=round(self.threshold_for(s.id), 6),
            state="ended" if s.closed else ("speech" if s.front.vad.in_speech else "silence"))
            for s in self._snapshot()}
        p50, p99 = p50_p99(list(inference.latencies))
        verifier = None
        worker = inference.verifier_worker
        if worker is not None:
            v50, v99 = worker.latency_ms()
            verifier = VerifierStats(inference.gated, inference.checks, worker.submitted, worker.verified,
                                     worker.queue_full, worker.depth, worker.cpu_seconds, v50, v99)
        voice = None
        voice_worker = inference.voice_worker
        if voice_worker is not None:
            c50, c99 = voice_worker.latency_ms()
            voice = VoiceStats(inference.voice_checks, voice_worker.submitted, voice_worker.scored,
                               voice_worker.queue_full, voice_worker.depth, inference.clone_alerts,
                               voice_worker.cpu_seconds, c50, c99)
        return PipelineStats(inference.windows_scored, inference.batches,
                             max(0, self.front.windows_put - inference.windows_taken), p50, p99, streams, verifier,
                             voice)
