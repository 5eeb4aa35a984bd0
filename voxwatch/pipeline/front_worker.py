"""The front worker: reads every stream's ring buffer, runs its ``StreamFront`` (VAD, windowing, incremental
features) and hands windows, utterance ends and stream ends to inference on the bounded window queue.

What one pass over the streams produces goes as one list (one queue operation, and windows of different streams
reach inference together, so they share an onnxruntime call); a pass longer than ``MIN_PASS_S`` hands its windows
on every ``MIN_PASS_S``, so inference overlaps it; at most ``queue_windows`` windows wait (a semaphore of slots).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import numpy as np

from voxwatch.pipeline.front import FrontOutput, FrontWindow, StreamFront
from voxwatch.pipeline.queue_items import FrontItem, QueueEntry, StreamEndItem, UtteranceItem, WindowItem
from voxwatch.pipeline.ringbuffer import RingBuffer
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import Source
from voxwatch.pipeline.types import PipelineSettings

MIN_PASS_S = 0.005  # live audio is gathered for at least this long between passes


class WakingRing(RingBuffer):
    """A stream's ring buffer that wakes the front worker when audio arrives, so it need not poll."""

    def __init__(self, capacity: int, wake: threading.Event) -> None:
        super().__init__(capacity)
        self._wake_event = wake

    def write(self, samples: np.ndarray) -> int:
        lost = super().write(samples)
        if not self._wake_event.is_set():
            self._wake_event.set()
        return lost


class StreamState:
    """One stream: its source, ring buffer and front (only the front worker touches the front after start; the
    front's audio history is locked, so the inference worker may read spans of it for the verifier)."""

    def __init__(self, stream_id: str, source: Source, settings: PipelineSettings, wake: threading.Event,
                 stage_seconds: dict[str, float], keep_audio_s: float = 0.0) -> None:
        self.id = stream_id
        self.source = source
        self.ring = WakingRing(int(settings.ring_seconds * SAMPLE_RATE), wake)
        self.front = StreamFront(settings.features, settings.vad, settings.window, stage_seconds, keep_audio_s,
                                 bounded_lead=True)
        self.source_done = threading.Event()
        self.failure: str | None = None
        self.closed = False
        self.thread: threading.Thread | None = None


class FrontWorker:
    """The thread that turns the streams' audio into queue entries for inference."""

    def __init__(self, settings: PipelineSettings, out: queue.Queue[QueueEntry],
                 streams: Callable[[], list[StreamState]], wake: threading.Event, stop: threading.Event,
                 closing: threading.Event, inference_alive: Callable[[], bool], read_block_s: float = 0.5) -> None:
        self.settings = settings
        self._out = out
        self._streams = streams
        self._wake = wake  # set by ring writes, new streams, ended sources and finish
        self._stop = stop  # stop sources now
        self._closing = closing  # no new streams: exit once every stream is closed
        self._inference_alive = inference_alive
        self._read_block = int(read_block_s * SAMPLE_RATE)
        self.slots = threading.Semaphore(settings.queue_windows)  # bounds the windows waiting for inference
        self._pending: list[FrontItem] = []  # this pass's items, not yet on the queue
        self._pending_windows = 0
        self._backlog = False  # a stream had more audio than one read in this pass
        self.throttled = False  # a stream waited in this pass for the inference worker's routing (routing_lead)
        self.windows_put = 0
        self.beat = time.monotonic()  # when the last pass began (liveness)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="voxwatch-front", daemon=True)

    def _loop(self) -> None:
        try:
            while True:
                self._wake.clear()  # before the pass: audio written during it makes the wait below return at once
                started = time.monotonic()
                self.beat = started
                self._backlog = False
                self.throttled = False
                streams = [s for s in self._streams() if not s.closed]
                busy = False
                flushed = started
                for state in streams:
                    busy |= self.service(state)
                    if self._pending_windows and time.monotonic() - flushed > MIN_PASS_S:
                        # a long pass (many streams' blocks arriving together) hands its windows on every
                        # MIN_PASS_S, so inference overlaps the rest of the pass and early windows do not wait
                        self.flush()
                        flushed = time.monotonic()
                self.flush()
                if self._backlog:
                    continue  # some stream has more audio than one read: go on at once
                if not busy and self._closing.is_set() and all(s.closed for s in self._streams()):
                    break
                # Sleep until audio arrives, but start passes at most every MIN_PASS_S: live streams then share a
                # pass instead of each source block costing a wake-up of its own (docs/performance.md)
                self._wake.wait(0.05)
                rest = started + MIN_PASS_S - time.monotonic()
                if rest > 0:
                    time.sleep(rest)
        finally:
            self.done.set()
            self.flush()
            self._out.put(None)  # tells the inference worker that nothing more comes

    def service(self, state: StreamState) -> bool:
        """One read of one stream: True if it had something to do."""
        done = state.source_done.is_set()  # read before the ring, so no audio written before "done" is missed
        if not done and state.ring.written == state.front.expected:
            return False  # nothing new: skip the locked read (a lock-free look; `written` only moves forward)
        lead = state.front.lead
        upto = state.front.expected + self._read_block
        if lead is not None and not lead.room(upto):
            self.throttled = True  # the inference worker wakes us when it has routed more (routing_lead) ...
            if not lead.room(upto):  # ... looking at this flag after counting: so look again after setting it
                return False
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
            self._stage(StreamEndItem(state.id, kind, detail or ""))
            state.closed = True
            return True
        return False

    def _hand_on(self, state: StreamState, items: list[FrontOutput], t_ready: float) -> None:
        for item in items:
            if isinstance(item, FrontWindow):
                self._stage(WindowItem(state.id, item.spec, item.feats, t_ready))
            else:
                self._stage(UtteranceItem(state.id, item, t_ready))

    def _stage(self, item: FrontItem) -> None:
        """Add an item to this pass's list; a window first takes one of the ``queue_windows`` slots."""
        window = isinstance(item, WindowItem)
        if window and not self.slots.acquire(blocking=False):
            self.flush()  # what we hold must reach inference before slots can come back
            while not self.slots.acquire(timeout=0.1):
                if self._stop.is_set() and not self._inference_alive():
                    return
        self._pending.append(item)
        if window:
            self._pending_windows += 1
            if self._pending_windows >= self.settings.max_batch:
                self.flush()

    def flush(self) -> None:
        if self._pending:
            items, self._pending = self._pending, []
            self.windows_put += self._pending_windows
            self._pending_windows = 0
            self.put(items)

    def put(self, entry: QueueEntry) -> None:
        # blocking put: when inference falls behind, the front worker waits and the ring buffers absorb (or drop,
        # counted) live audio; replay sources wait for room, so replays lose nothing
        while True:
            try:
                self._out.put(entry, timeout=0.1)
                return
            except queue.Full:
                if self._stop.is_set() and not self._inference_alive():
                    return
