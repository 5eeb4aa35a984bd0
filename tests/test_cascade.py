"""The cascade: a verifier behind the filter, in ``Pipeline`` and ``Detector``, with tiny hand-built ONNX models.

The filter and the verifier both follow loudness here (tests/helpers), with different offsets: an utterance at
level 0.3 is "fake" to the filter (~0.89) but "real" to the verifier (~0.05); at 0.9 (~0.96) both say fake;
at 0.02 the filter says real (~0.002) and the verifier is never asked. So each verdict shows what decided it.
"""

import dataclasses
import threading

import numpy as np
import pytest
from helpers import LOUDNESS_FEATURES, build_mean_model, build_verifier_model, silence, speech_like

from voxwatch.config import Config, config_from_dict, load_config
from voxwatch.daemon.service import reload_decision
from voxwatch.detector import Detector
from voxwatch.errors import ConfigError
from voxwatch.model_loading import load_verifier
from voxwatch.pipeline.cascade import CascadeRule, VerifierSettings
from voxwatch.pipeline.decision import DecisionSettings, verdict_for
from voxwatch.pipeline.queue_items import VerifyJob
from voxwatch.pipeline.router import CascadeRouter, VerifyRequest
from voxwatch.pipeline.runner import Pipeline
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import write_blocks
from voxwatch.pipeline.stages.filter.session import OnnxClassifier
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.pipeline.types import JudgementEvent, PipelineSettings, StreamEvent
from voxwatch.pipeline.utterance_audio import UtteranceAudio
from voxwatch.pipeline.verifier_worker import VerifierWorker
from voxwatch.pipeline.windower import UtteranceEnd, WindowSpec
from voxwatch.transport.events import decode_message, encode, event_fields


def route_one(scores, verifier_score, rule, decision, threshold):
    """One utterance of windows (1 s apart) through a ``CascadeRouter``, every verifier request answered with
    ``verifier_score``: its judgements in order."""
    router = CascadeRouter(decision, threshold, rule)
    outputs = [o for i, score in enumerate(scores)
               for o in router.on_window(WindowSpec(0, i * SAMPLE_RATE, (i + 2) * SAMPLE_RATE), score)]
    outputs += router.on_end(UtteranceEnd(0, 0, (len(scores) + 1) * SAMPLE_RATE, len(scores)))
    judgements = []
    for output in outputs:
        judgements += router.on_verified(output, verifier_score) if isinstance(output, VerifyRequest) else [output]
    return judgements


class ArraySource:
    description = "array"

    def __init__(self, audio):
        self.audio = audio

    def run(self, ring, stop, report):  # noqa: ARG002 (Source protocol)
        write_blocks(self.audio, ring, stop, block=320, realtime=False)


def utterances(*levels, seconds=3.0):
    parts = [silence(0.5)]
    for i, level in enumerate(levels):
        parts += [speech_like(seconds, level, seed=i), silence(1.5)]
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cascade")
    return (build_mean_model(folder / "filter.onnx", scale=2.0, offset=-9.5),
            build_verifier_model(folder / "verifier.onnx", scale=2.0, offset=-7.0, gate=0.5, threshold=0.5))


def settings(**verifier) -> PipelineSettings:
    return PipelineSettings(features=LOUDNESS_FEATURES, decision=DecisionSettings(early_windows=2),
                            verifier=VerifierSettings(**verifier))


def run(models, streams, pipeline_settings, verifier=True):
    filter_model, verifier_model = models
    events = []
    lock = threading.Lock()

    def emit(event):
        with lock:
            events.append(event)

    pipeline = Pipeline(pipeline_settings, OnnxClassifier(filter_model, LOUDNESS_FEATURES, 2.0), emit,
                        verifier=OnnxVerifier(verifier_model) if verifier else None)
    pipeline.start()
    for name, audio in streams.items():
        pipeline.add_stream(name, ArraySource(audio))
    assert pipeline.finish(timeout=60)
    return pipeline, events


def judged(events, stream=None, kind=None):
    out = [e.judgement for e in events if isinstance(e, JudgementEvent) and stream in (None, e.stream)
           and kind in (None, e.judgement.kind)]
    return sorted(out, key=lambda j: (j.utterance, j.kind != "alert"))


def test_the_verifier_decides_gated_utterances_and_the_filter_the_rest(models):
    pipeline, events = run(models, {"s": utterances(0.3, 0.9, 0.02)}, settings())
    verdicts = judged(events, kind="verdict")
    assert [(v.verdict, v.stage) for v in verdicts] == [("real", "verifier"), ("fake", "verifier"),
                                                       ("real", "filter")]
    loud_but_real, fake, quiet = verdicts
    assert loud_but_real.filter_score > 0.5 and loud_but_real.verifier_score < 0.5  # the filter was overruled
    assert loud_but_real.score == loud_but_real.verifier_score and loud_but_real.threshold == 0.5
    assert quiet.verifier_score is None and quiet.threshold == 0.5  # under the gate: the gate decided "real"
    alerts = judged(events, kind="alert")
    # the fake utterance alerts mid-utterance: its first windows over the filter's threshold were checked at once
    assert [(a.utterance, a.stage, a.early) for a in alerts] == [(fake.utterance, "verifier", True)]
    assert alerts[0].end < fake.end and alerts[0].refractory_s == settings().decision.refractory_s
    stats = pipeline.stats().as_dict()
    assert stats["gated"] == 2 and stats["verifier_queue_full"] == 0
    assert stats["verifier_verified"] == stats["verifier_checks"] > 2  # utterances, and runs over the threshold
    assert stats["streams"]["s"]["alerts"] == 1
    ends = [e for e in events if isinstance(e, StreamEvent) and e.state == "ended"]
    assert events.index(ends[0]) == len(events) - 1  # the stream's end follows its last (verifier) verdict


def test_without_a_verifier_or_disabled_everything_is_as_before(models, tmp_path):
    audio = utterances(0.3, 0.9, 0.02, 0.6)
    base = PipelineSettings(features=LOUDNESS_FEATURES, decision=DecisionSettings(early_windows=2))

    def as_tuples(events):
        return [(e.stream, dataclasses.astuple(e.judgement)) for e in events if isinstance(e, JudgementEvent)]

    _, plain = run(models, {"s": audio}, base, verifier=False)
    _, disabled = run(models, {"s": audio}, dataclasses.replace(base, verifier=VerifierSettings(enabled=False)))
    assert as_tuples(plain) == as_tuples(disabled)
    assert any(j.kind == "alert" and j.early for _, j in
               [(e.stream, e.judgement) for e in plain if isinstance(e, JudgementEvent)])  # early alerts as before
    assert all(e.judgement.stage == "filter" and e.judgement.verifier_score is None
               for e in plain if isinstance(e, JudgementEvent))
    # the event bodies, too: the same fields as with the filter alone (stage "filter", no verifier score)
    bodies = [event_fields(e.judgement, "m", "sha", e.verifier_id) for e in disabled
              if isinstance(e, JudgementEvent)]
    assert bodies == [event_fields(e.judgement, "m", "sha") for e in plain if isinstance(e, JudgementEvent)]
    assert {b["stage"] for b in bodies} == {"filter"} and all(b["filter_score"] == b["score"] for b in bodies)

    # Detector: no verifier, "none", and enabled = false give the same judgements
    filter_model, verifier_model = models
    config = Config(pipeline=base, model=str(filter_model))
    off = dataclasses.replace(config, pipeline=dataclasses.replace(
        base, verifier=VerifierSettings(enabled=False, model=str(verifier_model))))
    runs = [Detector(config=config).score_audio(audio), Detector(config=config, verifier="none").score_audio(audio),
            Detector(config=off).score_audio(audio)]
    assert runs[0] == runs[1] == runs[2] and runs[0].verified_utterances == 0


def test_the_bundled_verifier_serves_only_the_filter_it_was_made_for(models, tmp_path):
    _, verifier_model = models
    config = Config(pipeline=PipelineSettings(verifier=VerifierSettings(model=str(verifier_model))))
    assert load_verifier(config, None, "any-filter") is not None  # given explicitly: used with any filter
    assert load_verifier(config, "none", "any-filter") is None
    assert load_verifier(Config(pipeline=PipelineSettings(verifier=VerifierSettings(enabled=False)))) is None


def test_a_full_verifier_queue_leaves_the_filter_verdict_standing_and_counts_it(models):
    release = threading.Event()

    class SlowVerifier(OnnxVerifier):
        def score(self, audio):
            release.wait(30)
            return super().score(audio)

    filter_model, verifier_model = models
    events = []
    pipeline = Pipeline(settings(queue_utterances=1), OnnxClassifier(filter_model, LOUDNESS_FEATURES, 2.0),
                        events.append, verifier=SlowVerifier(verifier_model))
    pipeline.start()
    pipeline.add_stream("s", ArraySource(utterances(0.3, 0.3, 0.3, 0.3)))
    while pipeline.stats().as_dict()["verifier_queue_full"] < 2:  # one utterance being scored, one waiting, two refused
        threading.Event().wait(0.05)
    release.set()
    assert pipeline.finish(timeout=60)
    verdicts = judged(events, kind="verdict")
    assert len(verdicts) == 4
    stood = [v for v in verdicts if v.stage == "filter"]  # the utterance check was refused: the filter's verdict
    assert stood and all(v.verdict == "fake" and v.score > 0.8 and "verifier busy" in v.why for v in stood)
    assert all(v.verdict == "real" for v in verdicts if v.stage == "verifier")
    stats = pipeline.stats().as_dict()
    assert stats["gated"] == 4 and stats["verifier_queue_full"] >= len(stood)
    assert stats["verifier_verified"] + stats["verifier_queue_full"] == stats["verifier_checks"]


def test_verifier_worker_submit_never_blocks():
    release = threading.Event()
    results = []

    class Blocking:
        def judge(self, audio):
            release.wait(10)
            return float(audio.mean()), False

    worker = VerifierWorker(Blocking(), 2, lambda job, score: results.append(score))
    worker.start()
    request = VerifyRequest(0, 0, 10, 0.9, 1, "utterance", 1)
    job = VerifyJob("s", request, np.ones(10, np.float32), 0.0)
    accepted = [worker.submit(dataclasses.replace(job)) for _ in range(5)]
    assert accepted.count(True) in (2, 3) and worker.queue_full == accepted.count(False)
    release.set()
    assert worker.close(10)
    assert len(results) == accepted.count(True) and worker.verified == len(results)


def test_uncertain_band_gives_uncertain_verdicts_and_alerts_only_when_asked(models):
    assert verdict_for(0.55, 0.5, 0.1) == "uncertain" and verdict_for(0.65, 0.5, 0.1) == "fake"
    assert verdict_for(0.35, 0.5, 0.1) == "real" and verdict_for(0.55, 0.5, 0.0) == "fake"
    rule = CascadeRule(gate=0.5, threshold=0.4)
    band = DecisionSettings(uncertain_band=0.1)
    assert route_one([0.95], 0.45, rule, band, 0.9)[-1].verdict == "uncertain"  # around the verifier's threshold
    # under the gate the filter decides, and the band lies around the filter's threshold (0.9), never the gate
    assert route_one([0.45], 0.45, rule, band, 0.9)[-1].verdict == "real"
    assert route_one([0.45], 0.45, rule, band, 0.5)[-1].verdict == "uncertain"

    # this first utterance (level 0.6) scores ~0.33 on the verifier: at threshold 0.3 with a band of 0.1, uncertain
    audio = utterances(0.6, 0.02)
    quiet = settings(threshold=0.3)
    for alert_on_uncertain, alerts in ((False, 0), (True, 1)):
        decision = DecisionSettings(early_windows=2, uncertain_band=0.1, alert_on_uncertain=alert_on_uncertain)
        _, events = run(models, {"s": audio}, dataclasses.replace(quiet, decision=decision))
        assert [(v.verdict, v.stage) for v in judged(events, kind="verdict")] == [("uncertain", "verifier"),
                                                                                 ("real", "filter")]
        assert [a.verdict for a in judged(events, kind="alert")] == ["uncertain"] * alerts
        body = event_fields(judged(events, kind="verdict")[0], "m", "sha", "v")
        topic, decoded = decode_message(encode("voxwatch.verdict.s", {
            "schema": 1, "type": "verdict", "daemon": {"id": "d"}, "stream": "s", "seq": 0, "ts": 1.0,
            "latency_ms": 1.0, **body}))
        assert decoded["verdict"] == "uncertain" and decoded["stage"] == "verifier"
        assert decoded["model"]["verifier"] == "v" and 0.28 < decoded["verifier_score"] < 0.38


def test_each_stream_has_its_own_verifier_settings_and_sighup_reloads_them(models, tmp_path):
    filter_model, verifier_model = models
    config_path = tmp_path / "c.toml"
    config_path.write_text('[features]\nkind = "logfbank"\nnfilt = 40\nnormalize = "none"\n'
                           '[verifier]\nthreshold = 0.2\n'
                           '[streams.strict.verifier]\nthreshold = 0.9\n'
                           '[streams.plain.verifier]\nenabled = false\n')
    config = load_config(config_path)
    assert config.pipeline.verifier_for("strict").threshold == 0.9
    audio = utterances(0.6)  # verifier ~0.33: fake at 0.2, real at 0.9
    _, events = run(models, {"strict": audio, "loose": audio, "plain": audio}, config.pipeline)
    strict, loose, plain = (judged(events, s, "verdict")[0] for s in ("strict", "loose", "plain"))
    assert (strict.verdict, strict.threshold, strict.stage) == ("real", 0.9, "verifier")
    assert (loose.verdict, loose.threshold, loose.stage) == ("fake", 0.2, "verifier")
    assert plain.stage == "filter" and plain.verifier_score is None

    # SIGHUP: the reloaded file's gate and thresholds apply to the next utterances, the audio path untouched
    events = []
    pipeline = Pipeline(config.pipeline, OnnxClassifier(filter_model, LOUDNESS_FEATURES, 2.0), events.append,
                        verifier=OnnxVerifier(verifier_model))
    pipeline.start()
    config_path.write_text('[features]\nkind = "logfbank"\nnfilt = 40\nnormalize = "none"\n'
                           '[verifier]\nthreshold = 0.95\ngate = 0.99999\nsegment_windows = 3\n'
                           '[streams.strict.verifier]\nthreshold = 0.1\ngate = 0.5\n')
    reload_decision(str(config_path), pipeline)
    pipeline.add_stream("strict", ArraySource(audio))
    pipeline.add_stream("loose", ArraySource(utterances(0.6, 0.3)))
    assert pipeline.finish(timeout=60)
    assert [(v.verdict, v.stage, v.threshold) for v in judged(events, "strict", "verdict")] == \
        [("fake", "verifier", 0.1)]
    # the common gate is now above the filter's scores: no utterance check on the loose stream; the run of windows
    # over the filter's threshold in its first utterance is still checked (a segment), and the verifier (~0.33)
    # says real against the reloaded threshold 0.95; the second, too short for a run of the reloaded 3 windows,
    # stays under the gate: real
    assert [(v.verdict, v.stage, v.threshold) for v in judged(events, "loose", "verdict")] == \
        [("real", "verifier", 0.95), ("real", "filter", 0.99999)]


def test_detector_and_pipeline_agree_on_the_cascade(models):
    filter_model, verifier_model = models
    audio = utterances(0.3, 0.9, 0.02, 0.6, seconds=4.0)
    pipeline_settings = settings(model=str(verifier_model))
    _, events = run(models, {"s": audio}, pipeline_settings)
    detector = Detector(config=Config(pipeline=pipeline_settings, model=str(filter_model)))
    out = [j for i in range(0, len(audio), 4000) for j in detector.process(audio[i : i + 4000])] + detector.flush()
    mine = sorted(((j.kind, j.utterance, j.start, j.end, j.verdict, j.stage) for j in out if j.kind != "window"),
                  key=lambda t: (t[1], t[0] != "alert"))
    theirs = [(j.kind, j.utterance, j.start, j.end, j.verdict, j.stage) for j in judged(events)]
    assert mine == theirs and any(t[-1] == "verifier" for t in mine)
    scores = {j.utterance: j.verifier_score for j in out if j.kind == "verdict"}
    for j in judged(events, kind="verdict"):
        assert scores[j.utterance] == pytest.approx(j.verifier_score, abs=1e-6) if j.verifier_score else True
    result = detector.score_audio(audio)
    assert result.verdict == "fake" and result.verified_utterances == 3


def test_utterance_audio_keeps_the_last_seconds_of_an_utterance():
    keep = UtteranceAudio(1.0)
    signal = np.arange(15 * SAMPLE_RATE, dtype=np.float32)
    for start in range(0, len(signal), 7000):
        keep.append(start, signal[start : start + 7000])
    got = keep.span(11 * SAMPLE_RATE, 13 * SAMPLE_RATE)
    np.testing.assert_array_equal(got, signal[12 * SAMPLE_RATE : 13 * SAMPLE_RATE])
    assert len(keep.span(0, SAMPLE_RATE)) == 0  # long overwritten
    gap = UtteranceAudio(1.0)
    gap.append(0, np.ones(100, np.float32))
    gap.append(300, np.ones(100, np.float32))
    np.testing.assert_array_equal(gap.span(0, 400), np.r_[np.ones(100), np.zeros(200), np.ones(100)])


def test_verifier_config_sections_and_errors(tmp_path):
    config = config_from_dict({"verifier": {"gate": 0.2, "threshold": "model", "queue_utterances": 8},
                               "streams": {"a": {"threshold": 0.7, "verifier": {"gate": 0.4}}},
                               "decision": {"uncertain_band": 0.05, "alert_on_uncertain": True}})
    assert config.pipeline.verifier == VerifierSettings(gate=0.2, queue_utterances=8)
    assert config.pipeline.verifier_for("a").gate == 0.4 and config.pipeline.verifier_for("b").gate == 0.2
    assert config.pipeline.decision_for("a").threshold == 0.7
    assert config.pipeline.decision.uncertain_band == 0.05 and config.pipeline.decision.alert_on_uncertain
    for bad, match in (({"verifier": {"gate": 2}}, "gate"), ({"verifier": {"gates": 1}}, "unknown"),
                       ({"verifier": {"threshold": "high"}}, "threshold"),
                       ({"streams": {"a": {"verifier": {"model": "x"}}}}, "takes enabled"),
                       ({"decision": {"uncertain_band": 0.7}}, "uncertain_band")):
        with pytest.raises(ConfigError, match=match):
            config_from_dict(bad)
    path = tmp_path / "c.toml"
    path.write_text('[verifier]\nmodel = "v/verifier.onnx"\n')
    assert load_config(path).pipeline.verifier.model == str(tmp_path / "v" / "verifier.onnx")


def test_heartbeat_counters_reach_prometheus(models):
    from prometheus_client import CollectorRegistry, generate_latest

    from voxwatch.daemon.metrics import _StatsCollector

    pipeline, _ = run(models, {"s": utterances(0.3, 0.02)}, settings())
    stats = pipeline.stats().as_dict()
    assert {"gated", "verifier_verified", "verifier_queue_full", "verifier_queue_depth"} <= set(stats)
    registry = CollectorRegistry()
    registry.register(_StatsCollector(lambda: stats))
    text = generate_latest(registry).decode()
    assert "voxwatch_gated_total 1.0" in text
    assert f"voxwatch_verifier_verified_total {float(stats['verifier_verified'])}" in text
    assert "voxwatch_verifier_queue_full_total 0.0" in text and "voxwatch_verifier_queue_depth 0.0" in text


def test_score_and_replay_run_the_cascade_from_the_command_line(models, tmp_path, capsys):
    import json

    from helpers import LOUDNESS_TOML, write_wav

    from voxwatch.cli import main

    filter_model, verifier_model = models
    config = tmp_path / "c.toml"
    config.write_text(LOUDNESS_TOML + "[decision]\nearly_windows = 2\n")
    wav = write_wav(tmp_path / "call.wav", utterances(0.3, 0.9, 0.02))
    common = ["--config", str(config), "--model", str(filter_model), "--verifier", str(verifier_model)]
    assert main(["score", *common, "--json", str(wav)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["verifier"] == "test-verifier" and record["verified_utterances"] == 2
    assert [(s["verdict"], s["stage"]) for s in record["spans"]] == [("real", "verifier"), ("fake", "verifier"),
                                                                    ("real", "filter")]
    assert record["verdict"] == "fake" and record["spans"][2]["verifier_score"] is None
    assert main(["replay", *common, "--no-publish", "--json", str(wav)]) == 0
    (row,) = json.loads(capsys.readouterr().out)["streams"]
    assert (row["utterances"], row["fake"], row["verified"], row["alerts"]) == (3, 1, 2, 1)
    assert main(["score", *common[:4], "--verifier", "none", "--json", str(wav)]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "verifier" not in plain  # the filter alone: each span says so, as its events do
    assert {(s["stage"], s["verifier_score"]) for s in plain["spans"]} == {("filter", None)}


def test_a_card_fusion_makes_the_verifier_decide_with_the_filters_evidence(tmp_path):
    from voxwatch.pipeline.cascade import fused_score
    from voxwatch.pipeline.stages.verifier.card import VerifierCard
    from voxwatch.training.verifier.operating import fit_fusion

    assert fused_score(0.9, 0.3, None) == 0.3  # no fusion: the network decides alone
    assert fused_score(0.5, 0.5, (1.0, 1.0, 0.0)) == pytest.approx(0.5)
    assert fused_score(0.9, 0.5, (1.0, 1.0, 0.0)) == pytest.approx(0.9)  # logit(0.9) + logit(0.5) = logit(0.9)
    fused = route_one([0.9], 0.5, CascadeRule(0.5, 0.8, (1.0, 1.0, 0.0)), DecisionSettings(), 0.95)[-1]
    assert fused.verdict == "fake" and fused.score == pytest.approx(0.9) and fused.verifier_score == 0.5
    assert route_one([0.9], 0.5, CascadeRule(0.5, 0.8), DecisionSettings(), 0.95)[-1].verdict == "real"

    path = build_verifier_model(tmp_path / "v.onnx")
    card = VerifierCard.load(path.with_suffix(".json"))
    assert card.fusion_weights is None
    dataclasses.replace(card, fusion={"filter": 1.5, "verifier": 0.5, "bias": -0.2}).save(path.with_suffix(".json"))
    assert OnnxVerifier(path).card.fusion_weights == (1.5, 0.5, -0.2)

    rng = np.random.default_rng(0)  # labels that follow the filter's score more than the network's
    labels = rng.integers(0, 2, 400)
    filter_scores = 1 / (1 + np.exp(-(3 * (labels - 0.5) + rng.normal(0, 1, 400))))
    network_scores = 1 / (1 + np.exp(-(1 * (labels - 0.5) + rng.normal(0, 1, 400))))
    a, b, _ = fit_fusion(filter_scores, network_scores, labels)
    assert a > b > 0


def test_a_failing_answer_handler_does_not_end_the_worker():
    """A bug in what the caller does with an answer is logged; the worker goes on with the next jobs."""
    handled = []

    class Echo:
        def judge(self, audio):
            return float(audio[0]), False

    def on_result(job, answer):
        if answer[0] == 1.0:
            raise RuntimeError("planted")
        handled.append(answer[0])

    worker = VerifierWorker(Echo(), 4, on_result)
    worker.start()
    for value in (1.0, 2.0):
        request = VerifyRequest(0, 0, 10, 0.9, 1, "utterance", int(value))
        assert worker.submit(VerifyJob("s", request, np.full(10, value, np.float32), 0.0))
    assert worker.close(10) and handled == [2.0]


def test_a_front_far_ahead_of_a_slow_inference_never_clips_what_the_verifier_hears(models):
    """Replayed audio arrives as fast as the front takes it and silence yields no window, so a busy inference
    worker could fall more than the audio history behind: the verifier would then judge clipped spans or none.
    The front waits for the routing instead (voxwatch.pipeline.routing_lead)."""
    heard = []

    class SlowFilter(OnnxClassifier):
        def score(self, batch):
            threading.Event().wait(0.05)  # a busy machine: each batch takes a while
            return super().score(batch)

    class Listening(OnnxVerifier):
        def judge(self, audio):
            heard.append(len(audio))
            return super().judge(audio)

    filter_model, verifier_model = models
    audio = np.concatenate([silence(0.5)] + [np.concatenate([speech_like(3.0, 0.3, seed=i), silence(12.0)])
                                             for i in range(5)])
    events = []
    pipeline = Pipeline(settings(queue_utterances=64), SlowFilter(filter_model, LOUDNESS_FEATURES, 2.0),
                        events.append, verifier=Listening(verifier_model))
    pipeline.start()
    pipeline.add_stream("s", ArraySource(audio))
    assert pipeline.finish(timeout=120)
    stats = pipeline.stats().as_dict()
    verdicts = judged(events, kind="verdict")
    assert len(verdicts) == 5 and all(v.stage == "verifier" for v in verdicts), [v.why for v in verdicts]
    assert stats["verifier_verified"] == stats["verifier_checks"] >= 5 and stats["verifier_queue_full"] == 0
    assert len(heard) == stats["verifier_checks"] and min(heard) >= 2 * SAMPLE_RATE  # whole spans, never clipped
