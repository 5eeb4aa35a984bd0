"""The inference worker: scores windows from any streams in shared onnxruntime calls and drives each stream's
``CascadeRouter``; with a verifier, hands the router's requests to the ``VerifierWorker`` and feeds its answers
back. With clone watch (``voices``: a ``VoiceChecker``), the routers' voice checks go to a second worker of the same
kind (its own bounded queue: a check it cannot take is counted as ``voice_queue_full`` and the verdict goes out
without ``voice``).

A stream's router is used from two threads (this one, and the verifier's with its answers), so each router has a
lock of its own; the calls are short and the two rarely meet. A request whose audio is no longer held, or that the
verifier's queue cannot take, is answered ``unverified`` at once (counted as ``verifier_queue_full``). A stream's
end event goes out behind its last verdict: it is queued behind the verifier's and the voice checks' requests
already waiting.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from voxwatch.pipeline.cascade import CascadeRule, resolve_rule
from voxwatch.pipeline.decision import Judgement, resolve_threshold
from voxwatch.pipeline.front_worker import StreamState
from voxwatch.pipeline.queue_items import (
    FrontItem,
    QueueEntry,
    ReconfigureItem,
    StreamEndItem,
    UtteranceItem,
    VerifyJob,
    VoiceJob,
    WindowItem,
)
from voxwatch.pipeline.router import CascadeRouter, RouterOutput, VerifyRequest, VoiceWatch
from voxwatch.pipeline.stages.filter.session import OnnxClassifier
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.pipeline.types import JudgementEvent, PipelineEvent, PipelineSettings, StreamEvent
from voxwatch.pipeline.verifier_worker import ScoringWorker, VerifierWorker
from voxwatch.voices.fusion import for_verifier

if TYPE_CHECKING:
    from voxwatch.voices.check import VoiceMatch
    from voxwatch.voices.watch import VoiceChecker


class _Routed:
    """A stream's router and the lock that the inference and verifier threads take around it."""

    def __init__(self, router: CascadeRouter) -> None:
        self.router = router
        self.lock = threading.Lock()
        self.alerts = 0


class InferenceWorker:
    """The thread that scores windows and turns scores into events."""

    def __init__(self, settings: PipelineSettings, classifier: OnnxClassifier, entries: queue.Queue[QueueEntry],
                 slots: threading.Semaphore, emit: Callable[[PipelineEvent], None],
                 stream: Callable[[str], StreamState], verifier: OnnxVerifier | None = None,
                 voices: VoiceChecker | None = None, routed: Callable[[], None] = lambda: None) -> None:
        self.settings = settings
        self.classifier = classifier
        self.verifier = verifier
        self.voices = voices
        self._entries = entries
        self._slots = slots
        self._emit = emit
        self._stream = stream
        self._routed_more = routed  # after each batch: a front held back by routing_lead may read on
        self.verifier_worker = (VerifierWorker(verifier, settings.verifier.queue_utterances, self._answered)
                                if verifier is not None else None)
        self.voice_worker: ScoringWorker[VoiceJob, VoiceMatch] | None = None
        if voices is not None:
            self.voice_worker = ScoringWorker(lambda job: voices.check_audio(job.audio, job.request.expect),
                                              settings.voice_queue, self._voiced, "voxwatch-voice", "voice check")
        self._routers: dict[str, _Routed] = {}
        self.threshold = resolve_threshold(settings.decision, classifier.threshold)
        self.busy_since: float | None = None  # liveness: since when a batch is being handled
        # counters (written by this thread; ``alerts`` per stream also by the verifier's)
        self.windows_taken = 0
        self.windows_scored = 0
        self.batches = 0
        self.gated = 0
        self.checks = 0
        self.voice_checks = 0
        self.clone_alerts = 0
        self.alerts: dict[str, int] = {}
        self.latencies: deque[float] = deque(maxlen=2048)  # inference ms per batch
        self.batch_observers: list[Callable[[float, int], None]] = []  # (seconds, windows); must not block
        self.stage_seconds = {"vad": 0.0, "features": 0.0, "inference": 0.0, "decision": 0.0}
        self.thread = threading.Thread(target=self._loop, name="voxwatch-infer", daemon=True)

    # ----------------------------------------------------------------- the loop
    def _loop(self) -> None:
        finished = False
        while not finished:
            items, reconfigure, finished = self._take(self._entries.get())
            while not finished and reconfigure is None and self._windows(items) < self.settings.max_batch:
                try:
                    more, reconfigure, finished = self._take(self._entries.get_nowait())
                except queue.Empty:
                    break
                items += more
            self.busy_since = time.monotonic()
            self._handle(items)
            self._routed_more()
            if reconfigure is not None:
                self._reconfigure(reconfigure)
            self.busy_since = None

    @staticmethod
    def _windows(items: list[FrontItem]) -> int:
        return sum(isinstance(i, WindowItem) for i in items)

    def _take(self, entry: QueueEntry) -> tuple[list[FrontItem], ReconfigureItem | None, bool]:
        """A queue entry as (items, a reconfiguration, the end); its windows give their slots back."""
        if entry is None:
            return [], None, True
        if isinstance(entry, ReconfigureItem):
            return [], entry, False
        windows = self._windows(entry)
        if windows:
            self.windows_taken += windows
            self._slots.release(windows)
        return list(entry), None, False

    def _handle(self, items: list[FrontItem]) -> None:
        window_items = [i for i in items if isinstance(i, WindowItem)]
        scores = np.zeros(0, dtype=np.float32)
        if window_items:
            size = self.settings.max_batch  # a pass's list can make a batch a little longer: score in chunks
            scores = np.concatenate([self._score(window_items[i : i + size])
                                     for i in range(0, len(window_items), size)])
        t0 = time.thread_time()
        next_score = iter(scores)
        for item in items:
            if isinstance(item, WindowItem):
                routed = self._routed(item.stream)
                with routed.lock:
                    outputs = routed.router.on_window(item.spec, float(next(next_score)))
                self._dispatch(item.stream, routed, outputs, item.t_ready)
                self._count_routed(item.stream)
            elif isinstance(item, UtteranceItem):
                routed = self._routed(item.stream)
                with routed.lock:
                    outputs = routed.router.on_end(item.end)
                self._dispatch(item.stream, routed, outputs, item.t_ready)
                self._count_routed(item.stream)
            else:
                self._ended(item)
        self.stage_seconds["decision"] += time.thread_time() - t0

    def _score(self, window_items: list[WindowItem]) -> np.ndarray:
        t0, c0 = time.perf_counter(), time.thread_time()
        scores = self.classifier.score(np.stack([w.feats for w in window_items]))
        elapsed = time.perf_counter() - t0
        self.stage_seconds["inference"] += time.thread_time() - c0
        self.latencies.append(elapsed * 1000)
        for observe in self.batch_observers:
            observe(elapsed, len(window_items))
        self.windows_scored += len(window_items)
        self.batches += 1
        return scores

    def _count_routed(self, stream: str) -> None:
        """The item's spans are copied out (``_dispatch``): its front may overwrite that audio now."""
        lead = self._stream(stream).front.lead
        if lead is not None:
            lead.routed += 1

    def _ended(self, item: StreamEndItem) -> None:
        event = StreamEvent(item.stream, item.state, item.detail, self._stream(item.stream).source.description)

        def finish() -> None:
            self._routers.pop(item.stream, None)
            self._emit(event)

        action = finish
        for worker in (self.voice_worker, self.verifier_worker):  # after the verdicts still waiting for either
            if worker is not None:
                action = (lambda w, a: lambda: w.then(a))(worker, action)
        action()

    # ----------------------------------------------------------------- routing
    def _routed(self, stream: str) -> _Routed:
        routed = self._routers.get(stream)
        if routed is None:
            decision = self.settings.decision_for(stream)
            router = CascadeRouter(decision, resolve_threshold(decision, self.classifier.threshold),
                                   self._rule(stream), self._voice_watch(stream))
            routed = self._routers[stream] = _Routed(router)
        return routed

    def _voice_watch(self, stream: str) -> VoiceWatch | None:
        """Clone watch on a stream: where voices are enrolled, or the stream expects one (``expect_voice``)."""
        if self.voices is None:
            return None
        expect = self.settings.voice_for(stream)
        if expect is None and not self.voices.voiceprints:
            return None
        fusion = for_verifier(self.verifier.sha256 if self.verifier is not None else None)
        return VoiceWatch(expect, alerts=self.settings.clone_alerts_for(stream), fusion=fusion)

    def _rule(self, stream: str) -> CascadeRule | None:
        if self.verifier is None:
            return None
        return resolve_rule(self.settings.verifier_for(stream), self.verifier.card)

    def _dispatch(self, stream: str, routed: _Routed, outputs: list[RouterOutput], t_ready: float) -> None:
        """Emit the router's judgements; queue its verifier requests (a request that cannot be queued is
        answered unverified at once)."""
        for output in outputs:
            if not isinstance(output, VerifyRequest):
                self._judged(stream, routed, output, t_ready)
                continue
            audio = self._stream(stream).front.audio_span(output.start, output.end)
            if output.kind == "voice":
                self.voice_checks += 1
                voice = self.voice_worker
                queued = voice is not None and audio is not None and len(audio) > 0 and \
                    voice.submit(VoiceJob(stream, output, audio, t_ready))
            else:
                self.checks += 1
                self.gated += output.kind == "utterance"
                worker = self.verifier_worker
                queued = worker is not None and audio is not None and len(audio) > 0 and \
                    worker.submit(VerifyJob(stream, output, audio, t_ready))
            if not queued:
                with routed.lock:
                    fallback = routed.router.on_unverified(output)
                self._dispatch(stream, routed, list(fallback), t_ready)

    def _answered(self, job: VerifyJob, answer: tuple[float, bool] | None) -> None:
        """On the verifier's thread: an answer (score, telephone band) goes back to its stream's router."""
        routed = self._routers.get(job.stream)
        if routed is None:
            return
        with routed.lock:
            if answer is None:
                outputs = routed.router.on_unverified(job.request)
            else:
                outputs = routed.router.on_verified(job.request, *answer)
        for judgement in outputs:
            self._judged(job.stream, routed, judgement, job.t_ready)

    def _voiced(self, job: VoiceJob, match: VoiceMatch | None) -> None:
        """On the voice worker's thread: a voice check's answer goes back to its stream's router."""
        routed = self._routers.get(job.stream)
        if routed is None:
            return
        with routed.lock:
            outputs = routed.router.on_voice(job.request, match)
        for judgement in outputs:
            self._judged(job.stream, routed, judgement, job.t_ready)

    def _judged(self, stream: str, routed: _Routed, judgement: Judgement, t_ready: float) -> None:
        if judgement.kind == "alert" and judgement.reason == "clone":
            self.clone_alerts += 1
        if judgement.kind == "alert":
            with routed.lock:
                routed.alerts += 1
                self.alerts[stream] = routed.alerts
        verifier_id = self.verifier.model_id if judgement.stage == "verifier" and self.verifier else ""
        self._emit(JudgementEvent(stream, judgement, self.classifier.model_id, self.classifier.sha256, t_ready,
                                  verifier_id))

    # ----------------------------------------------------------------- settings
    def _reconfigure(self, item: ReconfigureItem) -> None:
        overrides = self.settings.stream_decisions if item.stream_decisions is None else item.stream_decisions
        verifier = self.settings.verifier if item.verifier is None else item.verifier
        verifiers = self.settings.stream_verifiers if item.stream_verifiers is None else item.stream_verifiers
        voices = self.settings.stream_voices if item.stream_voices is None else item.stream_voices
        self.settings = replace(self.settings, decision=item.decision, stream_decisions=overrides,
                                verifier=verifier, stream_verifiers=verifiers, stream_voices=voices)
        self.threshold = resolve_threshold(item.decision, self.classifier.threshold)
        for stream, routed in list(self._routers.items()):
            decision = self.settings.decision_for(stream)
            with routed.lock:
                routed.router.reconfigure(decision, resolve_threshold(decision, self.classifier.threshold),
                                          self._rule(stream))
                routed.router.watch_voice(self._voice_watch(stream))

    def threshold_for(self, stream: str) -> float:
        return resolve_threshold(self.settings.decision_for(stream), self.classifier.threshold)
