"""``Pipeline``: runs the stages for many streams at once, joined by bounded queues.

Threads and what each owns:

* one **source thread per stream** (a file replay or a device): writes into that stream's ``RingBuffer``;
* the **front worker**: reads every ring buffer, runs each stream's ``StreamFront`` (VAD, windowing, incremental
  features) and puts ``_WindowItem``/``_UtteranceItem``/``_StreamEndItem`` on the bounded window queue, in stream
  order;
  what one pass over the streams produces goes as one list (one queue operation, and windows of different
  streams reach inference together, so they share an onnxruntime call; a pass longer than 5 ms hands its
  windows on every 5 ms, so inference overlaps it); at most ``queue_windows`` windows wait;
* the **inference worker**: takes up to ``max_batch`` windows from the queue (from any streams), scores them in one
  onnxruntime call, then runs each stream's ``UtteranceDecider`` in order and hands events to ``emit``;
* with a verifier (the cascade, voxwatch.pipeline.cascade), the **verifier worker**: the front worker keeps each
  stream's last seconds of audio and hands an ended utterance's audio on with its end; an utterance whose filter
  score reaches the gate goes to the verifier's bounded queue (never waiting: when it is full the filter's verdict
  stands, counted as ``verifier_queue_full``) and the verifier worker emits its verdict and any alert. Verdicts
  of one stream may then come out of utterance order (``utterance`` orders them); a stream's end event follows
  its last verdict.

``emit`` receives ``StreamEvent``/``JudgementEvent`` objects and must not block (the daemon's publisher puts
them on its own bounded queue). ``stats()`` gives a snapshot of the counters for heartbeats and the benchmark.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.cascade import (
    CascadeRule,
    VerifierAlerts,
    VerifierSettings,
    below_gate,
    filter_settings,
    gated,
    resolve_rule,
    verified,
)
from voxwatch.pipeline.decision import DecisionSettings, Judgement, UtteranceDecider, resolve_threshold
from voxwatch.pipeline.front import FrontOutput, FrontWindow, StreamFront
from voxwatch.pipeline.ringbuffer import RingBuffer
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import Source
from voxwatch.pipeline.stages.filter.session import OnnxClassifier
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.pipeline.types import JudgementEvent, PipelineEvent, PipelineSettings, StreamEvent
from voxwatch.pipeline.verifier_worker import VerifierWorker, VerifyJob
from voxwatch.pipeline.windower import UtteranceEnd, WindowSpec

log = logging.getLogger(__name__)
_MIN_PASS_S = 0.005  # live audio is gathered for at least this long between front-worker passes


@dataclass
class _WindowItem:
    stream: str
    spec: WindowSpec
    feats: np.ndarray
    t_ready: float


@dataclass
class _UtteranceItem:
    stream: str
    end: UtteranceEnd
    t_ready: float
    audio: np.ndarray | None = None  # its last seconds, kept for the verifier (None without one)


@dataclass
class _StreamEndItem:
    stream: str
    state: str
    detail: str


@dataclass
class _ReconfigureItem:
    decision: DecisionSettings
    stream_decisions: tuple[tuple[str, DecisionSettings], ...] | None
    verifier: VerifierSettings | None = None
    stream_verifiers: tuple[tuple[str, VerifierSettings], ...] | None = None


class _WakingRing(RingBuffer):
    """A stream's ring buffer that wakes the front worker when audio arrives, so it need not poll."""

    def __init__(self, capacity: int, wake: threading.Event) -> None:
        super().__init__(capacity)
        self._wake_event = wake

    def write(self, samples: np.ndarray) -> int:
        lost = super().write(samples)
        if not self._wake_event.is_set():
            self._wake_event.set()
        return lost


class _StreamState:
    """Everything the front worker keeps for one stream (only the front worker touches it after start)."""

    def __init__(self, stream_id: str, source: Source, settings: PipelineSettings, wake: threading.Event,
                 stage_seconds: dict[str, float], keep_audio_s: float = 0.0) -> None:
        self.id = stream_id
        self.source = source
        self.ring = _WakingRing(int(settings.ring_seconds * SAMPLE_RATE), wake)
        self.front = StreamFront(settings.features, settings.vad, settings.window, stage_seconds, keep_audio_s)
        self.source_done = threading.Event()
        self.failure: str | None = None
        self.closed = False
        self.thread: threading.Thread | None = None


class Pipeline:
    """Many streams, one classifier (and optionally one verifier behind it). ``add_stream`` any time; ``stop``
    drains and joins everything."""

    def __init__(
        self,
        settings: PipelineSettings,
        classifier: OnnxClassifier,
        emit: Callable[[PipelineEvent], None],
        read_block_s: float = 0.5,
        verifier: OnnxVerifier | None = None,
    ) -> None:
        self.settings = settings
        self.classifier = classifier
        self.verifier = verifier
        self._verifier_worker = (VerifierWorker(verifier, settings.verifier.queue_utterances, self._verified)
                                 if verifier is not None else None)
        self._rules: dict[str, CascadeRule | None] = {}  # inference worker: each stream's resolved cascade rule
        self._verifier_alerts: dict[str, VerifierAlerts] = {}  # verifier worker only
        self._verifier_alert_counts: dict[str, int] = {}  # verifier worker only
        self.gated = 0  # utterances that reached the gate (inference worker)
        self._emit = emit
        self._read_block = int(read_block_s * SAMPLE_RATE)
        self._streams: dict[str, _StreamState] = {}
        self._streams_lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=settings.queue_windows)  # lists of items (one per pass)
        self._window_slots = threading.Semaphore(settings.queue_windows)  # bounds the windows waiting for inference
        self._pending: list = []  # front worker: this pass's items, not yet on the queue
        self._pending_windows = 0
        self._windows_put = 0  # written by the front worker only
        self._windows_taken = 0  # written by the inference worker only
        self._wake = threading.Event()  # set by ring writes, new streams, ended sources and finish
        self._backlog = False  # front worker: a stream had more audio than one read in this pass
        self._stop = threading.Event()  # stop sources now
        self._front_done = threading.Event()
        self._closing = threading.Event()  # no new streams; front worker exits when all streams are closed
        self._threshold = self._resolve_threshold(settings.decision)
        self._deciders: dict[str, UtteranceDecider] = {}
        self._front = threading.Thread(target=self._front_loop, name="voxwatch-front", daemon=True)
        self._infer = threading.Thread(target=self._infer_loop, name="voxwatch-infer", daemon=True)
        self._started = False
        # liveness (``stalled_s``): when the front worker last began a pass, since when inference is busy
        self._front_beat = time.monotonic()
        self._infer_busy_since: float | None = None
        # counters
        self.windows_scored = 0
        self.batches = 0
        self.judgements = 0
        self._alerts: dict[str, int] = {}
        self._latencies: deque[float] = deque(maxlen=2048)  # inference ms per batch
        # called by the inference worker after each batch with (seconds, windows); must not block (metrics use it)
        self.batch_observers: list[Callable[[float, int], None]] = []
        # CPU seconds of the worker thread spent in each stage (thread CPU clock: unlike wall time it does not
        # count waiting for the GIL or for a core, so it is each stage's own cost; the benchmark reports it)
        self.stage_seconds = {"vad": 0.0, "features": 0.0, "inference": 0.0, "decision": 0.0}

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if not self._started:
            self._started = True
            self._front.start()
            self._infer.start()
            if self._verifier_worker is not None:
                self._verifier_worker.start()

    def add_stream(self, stream_id: str, source: Source) -> None:
        if self._closing.is_set():
            raise VoxwatchError("pipeline is stopping; cannot add streams")
        with self._streams_lock:
            if stream_id in self._streams:
                raise VoxwatchError(f"stream id {stream_id!r} is already in use")
            keep = self.verifier.card.features.max_s if self.verifier is not None else 0.0
            state = _StreamState(stream_id, source, self.settings, self._wake, self.stage_seconds, keep)
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
        for thread in (self._front, self._infer):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if thread.is_alive():
                thread.join(remaining)
        workers_done = not (self._front.is_alive() or self._infer.is_alive())
        verifier_done = True
        if self._verifier_worker is not None and workers_done:  # inference has handed on its last utterance
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            verifier_done = self._verifier_worker.close(remaining)
        return workers_done and verifier_done

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop sources now, then drain what was already captured (final verdicts), within ``timeout``."""
        self._stop.set()
        return self.finish(timeout)

    def reconfigure(self, decision: DecisionSettings,
                    stream_decisions: tuple[tuple[str, DecisionSettings], ...] | None = None,
                    verifier: VerifierSettings | None = None,
                    stream_verifiers: tuple[tuple[str, VerifierSettings], ...] | None = None) -> None:
        """New decision settings (thresholds etc.) and cascade gate/threshold without touching audio; applied in
        order by the inference worker. ``stream_decisions``/``stream_verifiers`` replace the per-stream overrides,
        ``verifier`` the common verifier settings (None keeps them; its model and queue need a restart)."""
        self._queue.put(_ReconfigureItem(decision, stream_decisions, verifier, stream_verifiers))

    # ----------------------------------------------------------------- source threads
    def _source_loop(self, state: _StreamState) -> None:
        def report(kind: str, detail: str = "") -> None:
            self._emit(StreamEvent(state.id, kind, detail, state.source.description))

        try:
            state.source.run(state.ring, self._stop, report)
        except VoxwatchError as exc:
            state.failure = str(exc)
        except Exception as exc:  # a source bug must not take the other streams down
            log.exception("source %s crashed", state.id)
            state.failure = f"{exc.__class__.__name__}: {exc}"
        finally:
            state.source_done.set()
            self._wake.set()

    # ----------------------------------------------------------------- front worker
    def _front_loop(self) -> None:
        try:
            while True:
                self._wake.clear()  # before the pass: audio written during it makes the wait below return at once
                started = time.monotonic()
                self._front_beat = started
                self._backlog = False
                with self._streams_lock:
                    streams = [s for s in self._streams.values() if not s.closed]
                busy = False
                flushed = started
                for state in streams:
                    busy |= self._service(state)
                    if self._pending_windows and time.monotonic() - flushed > _MIN_PASS_S:
                        # a long pass (many streams' blocks arriving together) hands its windows on every
                        # _MIN_PASS_S, so inference overlaps the rest of the pass and early windows do not
                        # wait for the last stream's work
                        self._flush()
                        flushed = time.monotonic()
                self._flush()
                if self._backlog:
                    continue  # some stream has more audio than one read: go on at once
                if not busy and self._closing.is_set() and all(s.closed for s in self._snapshot()):
                    break
                # Sleep until audio arrives (ring writes set _wake; so do new streams, ended sources and finish),
                # but start passes at most every _MIN_PASS_S: live streams then share a pass instead of each
                # source block costing a wake-up of its own (more CPU than the block's work; docs/performance.md)
                self._wake.wait(0.05)
                rest = started + _MIN_PASS_S - time.monotonic()
                if rest > 0:
                    time.sleep(rest)
        finally:
            self._front_done.set()
            self._flush()
            self._queue.put(None)  # tells the inference worker that nothing more comes

    def stalled_s(self) -> float:
        """How long the pipeline has shown no progress: the front worker begins a pass at least every 50 ms while
        it runs, and one inference batch takes milliseconds; a worker stuck (a hung model call, a deadlock) makes
        this grow without bound. 0 once the front worker has finished (drained or stopped)."""
        now = time.monotonic()
        front = 0.0 if self._front_done.is_set() else now - self._front_beat
        busy_since = self._infer_busy_since
        return max(front, 0.0 if busy_since is None else now - busy_since)

    def _snapshot(self) -> list[_StreamState]:
        with self._streams_lock:
            return list(self._streams.values())

    def _service(self, state: _StreamState) -> bool:
        done = state.source_done.is_set()  # read before the ring, so no audio written before "done" is missed
        if not done and state.ring.written == state.front.expected:
            return False  # nothing new: skip the locked read (a lock-free look; `written` only moves forward)
        start, audio = state.ring.read(self._read_block)
        t_ready = time.monotonic()
        if len(audio) == self._read_block:
            self._backlog = True
        if len(audio):
            self._hand_on(state, state.front.process(start, audio), t_ready)
            return True
        if done:
            self._hand_on(state, state.front.flush(), t_ready)
            kind, detail = ("error", state.failure) if state.failure else ("ended", "")
            self._stage(_StreamEndItem(state.id, kind, detail))
            state.closed = True
            return True
        return False

    def _hand_on(self, state: _StreamState, items: list[FrontOutput], t_ready: float) -> None:
        for item in items:
            if isinstance(item, FrontWindow):
                self._stage(_WindowItem(state.id, item.spec, item.feats, t_ready))
            else:
                self._stage(_UtteranceItem(state.id, item, t_ready, state.front.utterance_audio(item)))

    def _stage(self, item: object) -> None:
        """Add an item to this pass's list; a window first takes one of the ``queue_windows`` slots."""
        window = isinstance(item, _WindowItem)
        if window and not self._window_slots.acquire(blocking=False):
            self._flush()  # what we hold must reach inference before slots can come back
            while not self._window_slots.acquire(timeout=0.1):
                if self._stop.is_set() and self._infer_failed():
                    return
        self._pending.append(item)
        if window:
            self._pending_windows += 1
            if self._pending_windows >= self.settings.max_batch:
                self._flush()

    def _flush(self) -> None:
        if self._pending:
            items, self._pending = self._pending, []
            self._windows_put += self._pending_windows
            self._pending_windows = 0
            self._put(items)

    def _put(self, item: object) -> None:
        # blocking put: when inference falls behind, the front worker waits and the ring buffers absorb (or drop,
        # counted) live audio; replay sources wait for room, so replays lose nothing
        while True:
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if self._stop.is_set() and self._infer_failed():
                    return

    def _infer_failed(self) -> bool:
        return not self._infer.is_alive()

    # ----------------------------------------------------------------- inference worker
    def _infer_loop(self) -> None:
        finished = False
        while not finished:
            items = self._take(self._queue.get())
            windows = sum(isinstance(i, _WindowItem) for i in items)
            while windows < self.settings.max_batch:
                try:
                    more = self._take(self._queue.get_nowait())
                except queue.Empty:
                    break
                items.extend(more)
                windows += sum(isinstance(i, _WindowItem) for i in more)
            if any(i is None for i in items):
                finished = True
                items = [i for i in items if i is not None]
            self._infer_busy_since = time.monotonic()
            self._handle(items)
            self._infer_busy_since = None

    def _take(self, got: object) -> list:
        """A queue entry as a list of items; its windows give their slots back (they no longer wait)."""
        if not isinstance(got, list):
            return [got]  # None (end) or a _ReconfigureItem
        windows = sum(isinstance(i, _WindowItem) for i in got)
        if windows:
            self._windows_taken += windows
            self._window_slots.release(windows)
        return got

    def _handle(self, items: list) -> None:
        window_items = [i for i in items if isinstance(i, _WindowItem)]
        scores = np.zeros(0, dtype=np.float32)
        if window_items:
            size = self.settings.max_batch  # a pass's list can make a batch a little longer: score in chunks
            scores = np.concatenate([self._score(window_items[i : i + size])
                                     for i in range(0, len(window_items), size)])
        t0 = time.thread_time()
        next_score = iter(scores)
        for item in items:
            if isinstance(item, _WindowItem):
                score = float(next(next_score))
                for judgement in self._decider(item.stream).on_score(item.spec, score):
                    self._judged(item.stream, judgement, item.t_ready)
            elif isinstance(item, _UtteranceItem):
                self._route(item, self._decider(item.stream).on_end(item.end))
            elif isinstance(item, _StreamEndItem):
                self._deciders.pop(item.stream, None)
                self._rules.pop(item.stream, None)
                with self._streams_lock:
                    source = self._streams[item.stream].source.description
                event = StreamEvent(item.stream, item.state, item.detail, source)
                if self._verifier_worker is not None:  # after the stream's verdicts still waiting for the verifier
                    self._verifier_worker.then(lambda event=event: self._emit(event))
                else:
                    self._emit(event)
            elif isinstance(item, _ReconfigureItem):
                self._reconfigure(item)
        self.stage_seconds["decision"] += time.thread_time() - t0

    def _reconfigure(self, item: _ReconfigureItem) -> None:
        self._threshold = self._resolve_threshold(item.decision)
        overrides = self.settings.stream_decisions if item.stream_decisions is None else item.stream_decisions
        verifier = self.settings.verifier if item.verifier is None else item.verifier
        verifiers = self.settings.stream_verifiers if item.stream_verifiers is None else item.stream_verifiers
        self.settings = replace(self.settings, decision=item.decision, stream_decisions=overrides,
                                verifier=verifier, stream_verifiers=verifiers)
        for stream, decider in self._deciders.items():
            self._rules[stream] = self._resolve_rule(stream)
            settings = filter_settings(self.settings.decision_for(stream), self._rules[stream])
            decider.reconfigure(settings, self._resolve_threshold(settings))

    def _resolve_rule(self, stream: str) -> CascadeRule | None:
        if self.verifier is None:
            return None
        card = self.verifier.card
        return resolve_rule(self.settings.verifier_for(stream), card)

    def _rule(self, stream: str) -> CascadeRule | None:
        if stream not in self._rules:
            self._rules[stream] = self._resolve_rule(stream)
        return self._rules[stream]

    def _route(self, item: _UtteranceItem, judgements: list[Judgement]) -> None:
        """An utterance's filter judgements: as they are, under the gate, or to the verifier."""
        rule = self._rule(item.stream)
        verdict = next((j for j in judgements if j.kind == "verdict"), None)
        if rule is None or verdict is None or self._verifier_worker is None:
            for judgement in judgements:
                self._judged(item.stream, judgement, item.t_ready)
            return
        decision = self.settings.decision_for(item.stream)
        if not gated(verdict, rule):
            self._judged(item.stream, below_gate(verdict, rule, decision), item.t_ready)
            return
        self.gated += 1
        if item.audio is not None and len(item.audio) and self._verifier_worker.submit(
                VerifyJob(item.stream, verdict, item.audio, decision, rule, item.t_ready)):
            return
        for judgement in judgements:  # queue full: the filter's verdict (and alert) stands
            self._judged(item.stream, judgement, item.t_ready)

    def _verified(self, job: VerifyJob, score: float) -> None:
        """On the verifier worker: the verifier's verdict on a gated utterance, and its alert if any."""
        verdict = verified(job.verdict, score, job.rule, job.decision)
        alerts = self._verifier_alerts.setdefault(job.stream, VerifierAlerts())
        alert = alerts.alert_for(verdict, job.decision)
        if alert is not None:
            self._verifier_alert_counts[job.stream] = self._verifier_alert_counts.get(job.stream, 0) + 1
            self._emit_judgement(job.stream, alert, job.t_ready)
        self._emit_judgement(job.stream, verdict, job.t_ready)

    def _score(self, window_items: list[_WindowItem]) -> np.ndarray:
        t0, c0 = time.perf_counter(), time.thread_time()
        scores = self.classifier.score(np.stack([w.feats for w in window_items]))
        elapsed = time.perf_counter() - t0
        self.stage_seconds["inference"] += time.thread_time() - c0
        self._latencies.append(elapsed * 1000)
        for observe in self.batch_observers:
            observe(elapsed, len(window_items))
        self.windows_scored += len(window_items)
        self.batches += 1
        return scores

    def _decider(self, stream: str) -> UtteranceDecider:
        decider = self._deciders.get(stream)
        if decider is None:
            settings = filter_settings(self.settings.decision_for(stream), self._rule(stream))
            decider = self._deciders[stream] = UtteranceDecider(settings, self._resolve_threshold(settings))
        return decider

    def _judged(self, stream: str, judgement: Judgement, t_ready: float) -> None:
        self.judgements += 1
        if judgement.kind == "alert":
            self._alerts[stream] = self._alerts.get(stream, 0) + 1
        self._emit_judgement(stream, judgement, t_ready)

    def _emit_judgement(self, stream: str, judgement: Judgement, t_ready: float) -> None:
        self._emit(JudgementEvent(stream, judgement, self.classifier.model_id, self.classifier.sha256, t_ready,
                                  self.verifier.model_id if judgement.stage == "verifier" and self.verifier else ""))

    def _resolve_threshold(self, decision: DecisionSettings) -> float:
        return resolve_threshold(decision, self.classifier.threshold)

    @property
    def threshold(self) -> float:
        """The common threshold (``[decision]``); a stream with its own settings may differ (``threshold_for``)."""
        return self._threshold

    def threshold_for(self, stream: str) -> float:
        return self._resolve_threshold(self.settings.decision_for(stream))

    @property
    def worker_threads(self) -> dict[str, threading.Thread]:
        """The worker threads by name (the benchmark reads their CPU clocks)."""
        threads = {"front": self._front, "inference": self._infer}
        if self._verifier_worker is not None:
            threads["verifier"] = self._verifier_worker.thread
        return threads

    # ----------------------------------------------------------------- stats
    def stats(self) -> dict:
        """Counters for heartbeats, metrics and the benchmark (a consistent-enough snapshot, no locks on hot paths)."""
        streams = {}
        for s in self._snapshot():
            streams[s.id] = {
                "audio_s": round(s.front.samples_in / SAMPLE_RATE, 3),
                "speech_s": round(s.front.vad.speech_samples / SAMPLE_RATE, 3),
                "windows": s.front.windows,
                "utterances": s.front.utterances,
                "alerts": self._alerts.get(s.id, 0) + self._verifier_alert_counts.get(s.id, 0),
                "dropped_s": round(s.ring.dropped / SAMPLE_RATE, 3),
                "ring_fill": round(s.ring.available() / s.ring.capacity, 3),
                "threshold": round(self.threshold_for(s.id), 6),
                "state": "ended" if s.closed else ("speech" if s.front.vad.in_speech else "silence"),
            }
        lat = sorted(self._latencies)
        verifier = {"gated": self.gated, **self._verifier_worker.stats()} if self._verifier_worker else {}
        return {
            "streams": streams,
            "audio_s": round(sum(v["audio_s"] for v in streams.values()), 3),
            "speech_s": round(sum(v["speech_s"] for v in streams.values()), 3),
            "dropped_s": round(sum(v["dropped_s"] for v in streams.values()), 3),
            "windows_scored": self.windows_scored,
            "batches": self.batches,
            "queue_depth": max(0, self._windows_put - self._windows_taken),  # windows waiting for inference
            "inference_ms_p50": round(lat[len(lat) // 2], 3) if lat else None,
            "inference_ms_p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 3) if lat else None,
            **verifier,
        }
