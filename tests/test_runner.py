"""The Pipeline with many streams: order, one verdict per utterance, batching, errors, draining."""

import threading

import numpy as np
from helpers import LOUDNESS_FEATURES, silence, speech_like

from voxwatch.errors import AudioDecodeError
from voxwatch.pipeline.decision import DecisionSettings
from voxwatch.pipeline.runner import Pipeline
from voxwatch.pipeline.sources import write_blocks
from voxwatch.pipeline.stages.filter.session import OnnxClassifier
from voxwatch.pipeline.types import JudgementEvent, PipelineSettings, StreamEvent

SETTINGS = PipelineSettings(features=LOUDNESS_FEATURES, decision=DecisionSettings(early_windows=0))


class ArraySource:
    """A source over an in-memory array (what a test or a custom integration can plug in)."""

    def __init__(self, audio, fail: str | None = None):
        self.audio = audio
        self.fail = fail
        self.description = "array"

    def run(self, ring, stop, report):
        if self.fail:
            raise AudioDecodeError(self.fail)
        write_blocks(self.audio, ring, stop, block=320, realtime=False)


class Collector:
    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def __call__(self, event):
        with self.lock:
            self.events.append(event)

    def of(self, stream, kind=None):
        out = []
        for e in self.events:
            if e.stream != stream:
                continue
            if isinstance(e, JudgementEvent) and kind in (None, e.judgement.kind):
                out.append(e.judgement)
            elif isinstance(e, StreamEvent) and kind in (None, "stream"):
                out.append(e)
        return out


def run_streams(model, sources, settings=SETTINGS):
    events = Collector()
    pipeline = Pipeline(settings, OnnxClassifier(model, settings.features, 2.0), events)
    pipeline.start()
    for name, source in sources.items():
        pipeline.add_stream(name, source)
    assert pipeline.finish(timeout=60)
    return pipeline, events


def utterances(*levels):
    parts = [silence(0.5)]
    for i, level in enumerate(levels):
        parts += [speech_like(3.0, level, seed=i), silence(1.5)]
    return np.concatenate(parts)


def test_many_streams_each_get_their_own_verdicts(loud_model):
    sources = {f"s{i}": ArraySource(utterances(*([0.3, 0.02] if i % 2 else [0.02, 0.3, 0.3]))) for i in range(6)}
    pipeline, events = run_streams(loud_model, sources)
    for i in range(6):
        verdicts = events.of(f"s{i}", "verdict")
        expected = ["fake", "real"] if i % 2 else ["real", "fake", "fake"]
        assert [v.verdict for v in verdicts] == expected, i
        assert [v.utterance for v in verdicts] == sorted({v.utterance for v in verdicts})
        assert all(v.windows >= 2 for v in verdicts)
        stream_events = [e.state for e in events.of(f"s{i}", "stream")]
        assert stream_events == ["started", "ended"]
        # "ended" comes after the stream's last verdict
        kinds = [type(e).__name__ for e in events.events if e.stream == f"s{i}"]
        assert kinds[-1] == "StreamEvent"
    stats = pipeline.stats().as_dict()
    assert stats["windows_scored"] == sum(s["windows"] for s in stats["streams"].values())
    assert stats["batches"] < stats["windows_scored"]  # windows of different streams shared calls
    assert stats["dropped_s"] == 0 and stats["audio_s"] > 6 * 10


def test_a_failing_stream_reports_error_and_others_go_on(loud_model):
    sources = {"good": ArraySource(utterances(0.3)), "bad": ArraySource(None, fail="bad.wav: cannot decode")}
    _, events = run_streams(loud_model, sources)
    assert [e.state for e in events.of("bad", "stream")] == ["started", "error"]
    assert events.of("bad", "stream")[-1].detail == "bad.wav: cannot decode"
    assert [v.verdict for v in events.of("good", "verdict")] == ["fake"]


def test_alert_precedes_verdict_for_fake_utterance(loud_model):
    _, events = run_streams(loud_model, {"a": ArraySource(utterances(0.3))})
    kinds = [j.kind for j in events.of("a") if not isinstance(j, StreamEvent)]
    assert kinds == ["alert", "verdict"]


def test_early_alert_mid_utterance(loud_model):
    settings = PipelineSettings(features=LOUDNESS_FEATURES, decision=DecisionSettings(early_windows=2))
    audio = np.concatenate([silence(0.5), speech_like(8.0, 0.3), silence(1.0)])
    _, events = run_streams(loud_model, {"a": ArraySource(audio)}, settings)
    alerts = events.of("a", "alert")
    verdict = events.of("a", "verdict")[0]
    assert len(alerts) == 1 and alerts[0].early
    assert alerts[0].end < verdict.end  # raised before the utterance ended


def test_stop_drains_and_emits_final_verdicts(loud_model):
    events = Collector()
    pipeline = Pipeline(SETTINGS, OnnxClassifier(loud_model, LOUDNESS_FEATURES, 2.0), events)
    pipeline.start()

    class Endless:
        description = "endless"

        def run(self, ring, stop, report):
            audio = speech_like(4.0, 0.3)
            while not stop.is_set():
                write_blocks(audio, ring, stop, 320, realtime=False)

    pipeline.add_stream("live", Endless())
    import time

    time.sleep(1.0)
    assert pipeline.stop(timeout=10)
    states = [e.state for e in events.of("live", "stream")]
    assert states == ["started", "ended"]
    assert events.of("live", "verdict"), "the open utterance got its final verdict"


def test_reconfigure_applies_new_threshold(loud_model):
    events = Collector()
    pipeline = Pipeline(SETTINGS, OnnxClassifier(loud_model, LOUDNESS_FEATURES, 2.0), events)
    pipeline.start()
    pipeline.reconfigure(DecisionSettings(threshold=0.0, early_windows=0))
    pipeline.add_stream("q", ArraySource(utterances(0.02)))
    pipeline.finish(30)
    assert [v.verdict for v in events.of("q", "verdict")] == ["fake"]
    assert pipeline.threshold == 0.0


def test_each_stream_decides_with_its_own_settings_and_reconfigure_replaces_them(loud_model):
    strict = DecisionSettings(threshold=0.999, early_windows=0)
    settings = PipelineSettings(features=LOUDNESS_FEATURES, decision=DecisionSettings(early_windows=0),
                                stream_decisions=(("room", strict),))
    audio = utterances(0.3)
    pipeline, events = run_streams(loud_model, {"room": ArraySource(audio), "headset": ArraySource(audio)},
                                   settings)
    room, headset = events.of("room", "verdict"), events.of("headset", "verdict")
    assert [(v.verdict, v.threshold) for v in room] == [("real", 0.999)]  # the same loud speech, a stricter room
    assert [v.verdict for v in headset] == ["fake"] and headset[0].score == room[0].score
    stats = pipeline.stats().as_dict()["streams"]
    assert stats["room"]["threshold"] == 0.999 and stats["headset"]["threshold"] == pipeline.threshold

    events = Collector()
    pipeline = Pipeline(settings, OnnxClassifier(loud_model, LOUDNESS_FEATURES, 2.0), events)
    pipeline.start()
    pipeline.reconfigure(DecisionSettings(early_windows=0), (("headset", strict),))  # what SIGHUP does
    pipeline.add_stream("room", ArraySource(audio))
    pipeline.add_stream("headset", ArraySource(audio))
    pipeline.finish(30)
    assert [v.verdict for v in events.of("room", "verdict")] == ["fake"]
    assert [v.verdict for v in events.of("headset", "verdict")] == ["real"]
