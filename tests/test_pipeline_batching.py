"""The front worker hands each pass's windows over together (issue 5): windows of different streams share an
onnxruntime call, no call exceeds ``max_batch``, every window is scored once, and ``queue_depth`` counts windows."""

import threading
import time
from dataclasses import replace

import numpy as np
from helpers import LOUDNESS_FEATURES, build_mean_model, silence, speech_like

from voxwatch.bench.workload import LoopSource
from voxwatch.pipeline.runner import Pipeline
from voxwatch.pipeline.stages.filter.session import OnnxClassifier
from voxwatch.pipeline.types import JudgementEvent, PipelineSettings


class RecordingClassifier(OnnxClassifier):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[int] = []
        self.lock = threading.Lock()

    def score(self, batch):
        with self.lock:
            self.batches.append(len(batch))
        time.sleep(0.01)  # a slow model: lists of several passes pile up and are taken together
        return super().score(batch)


def test_windows_of_many_streams_share_calls_within_max_batch(tmp_path):
    settings = replace(PipelineSettings(features=LOUDNESS_FEATURES), max_batch=3, queue_windows=8)
    model = build_mean_model(tmp_path / "m.onnx")
    clf = RecordingClassifier(model, settings.features, 2.0)
    events = []
    pipeline = Pipeline(settings, clf, events.append)
    audio = np.concatenate([silence(0.5), speech_like(6.0, 0.3), silence(1.0)] * 3)
    pipeline.start()
    for i in range(8):
        pipeline.add_stream(f"s{i}", LoopSource(audio, 0, len(audio), realtime=False))
    assert pipeline.finish(timeout=60)
    stats = pipeline.stats().as_dict()
    assert stats["windows_scored"] == sum(s["windows"] for s in stats["streams"].values()) == sum(clf.batches) > 0
    assert max(clf.batches) == 3  # shared calls, never beyond max_batch (a longer take is scored in chunks)
    assert stats["queue_depth"] == 0
    # identical streams get identical verdicts, each stream's in order
    verdicts = {}
    for e in events:
        if isinstance(e, JudgementEvent) and e.judgement.kind == "verdict":
            verdicts.setdefault(e.stream, []).append((e.judgement.utterance, e.judgement.verdict))
    assert len(verdicts) == 8 and len({tuple(v) for v in verdicts.values()}) == 1
    assert [u for u, _ in verdicts["s0"]] == sorted(u for u, _ in verdicts["s0"]) and len(verdicts["s0"]) == 3


def test_a_long_pass_hands_windows_on_before_it_ends(tmp_path, monkeypatch):
    """Many streams' blocks arriving together make one long pass; its first windows must not wait for the last
    stream's work (real-time latency at 100 streams): the pass flushes what it has every few milliseconds."""
    from voxwatch.pipeline.queue_items import WindowItem

    settings = replace(PipelineSettings(features=LOUDNESS_FEATURES), max_batch=64)
    model = build_mean_model(tmp_path / "m.onnx")
    pipeline = Pipeline(settings, OnnxClassifier(model, settings.features, 2.0), lambda e: None)
    entries: list[tuple[int, float]] = []  # (windows in the queue entry, time it was put)
    put = pipeline.front.put

    def recording_put(item):
        if isinstance(item, list):
            entries.append((sum(isinstance(i, WindowItem) for i in item), time.monotonic()))
        put(item)

    service = pipeline.front.service

    def slow_service(state):
        busy = service(state)
        if busy:
            time.sleep(0.004)  # each stream's share of a pass: 4 streams take > 2 x MIN_PASS_S
        return busy

    monkeypatch.setattr(pipeline.front, "put", recording_put)
    monkeypatch.setattr(pipeline.front, "service", slow_service)
    audio = np.concatenate([speech_like(2.5, 0.3), silence(0.5)])
    pipeline.start()
    for i in range(4):
        pipeline.add_stream(f"s{i}", LoopSource(audio, 0, len(audio), realtime=False))
    assert pipeline.finish(timeout=60)
    with_windows = [n for n, _ in entries if n]
    assert sum(with_windows) == pipeline.windows_scored >= 4
    assert max(with_windows) < 4  # the four streams' windows did not all wait for the end of their pass
