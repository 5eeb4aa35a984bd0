"""The pipeline wired to its publisher (daemon/wiring.py), as run, replay and the soak benchmark use it: real
ZeroMQ sockets, a real pipeline, the loudness test model."""

from __future__ import annotations

import time

from voxwatch.config import Config, PublishSettings, load_config
from voxwatch.daemon.wiring import published_pipeline
from voxwatch.model_loading import load_classifier
from voxwatch.pipeline.sources import WavReplaySource
from voxwatch.pipeline.types import JudgementEvent
from voxwatch.transport.publisher import EventPublisher
from voxwatch.transport.subscriber import EventSubscriber


def _replay(pipeline, path) -> None:
    pipeline.start()
    pipeline.add_stream("loud", WavReplaySource(str(path), realtime=False))
    assert pipeline.finish(timeout=60)


def test_events_reach_the_publisher_and_every_sink_and_heartbeats_name_the_model(loud_model, loud_config,
                                                                                audio_files):
    config = load_config(str(loud_config))
    classifier = load_classifier(str(loud_model), config)
    publisher = EventPublisher(PublishSettings(bind=("tcp://127.0.0.1:*",), heartbeat_s=0.2, daemon_id="w"))
    collected: list = []
    pipeline = published_pipeline(config.pipeline, classifier, publisher, (collected.append,))
    publisher.start()
    subscriber = EventSubscriber(publisher.bound)
    try:
        assert publisher.wait_for_subscribers(1, 5)
        _replay(pipeline, audio_files["loud"])
        received, deadline = [], time.monotonic() + 10
        while time.monotonic() < deadline and not any(b["type"] == "status" and b["counters"].get("windows_scored")
                                                      for _, b in received):
            if (event := subscriber.receive(100)) is not None:
                received.append(event)
    finally:
        publisher.close()
        subscriber.close()
    judged = [(e.judgement.kind, e.judgement.utterance) for e in collected if isinstance(e, JudgementEvent)]
    assert ("verdict", 0) in judged and ("alert", 0) in judged  # the loud utterance is judged fake
    published = [(b["type"], b["utterance"]) for _, b in received if b["type"] in ("alert", "verdict")]
    assert published == judged  # the publisher got exactly what the other sink got, in order
    status = next(b for _, b in received if b["type"] == "status" and b["counters"].get("windows_scored"))
    assert status["model"] == {"id": classifier.model_id, "sha256": classifier.sha256}
    assert status["counters"]["windows_scored"] == pipeline.stats().windows_scored  # the pipeline's counters


def test_without_a_publisher_the_sinks_still_get_every_event(loud_model, loud_config, audio_files):
    config: Config = load_config(str(loud_config))
    collected: list = []
    pipeline = published_pipeline(config.pipeline, load_classifier(str(loud_model), config), None,
                                  (collected.append,))
    _replay(pipeline, audio_files["loud"])
    states = [e.state for e in collected if not isinstance(e, JudgementEvent)]
    assert states == ["started", "ended"] and any(isinstance(e, JudgementEvent) for e in collected)


def test_load_models_loads_the_cascade_as_run_does():
    """The one loading rule of run, replay, bench and the soak: the bundled filter comes with its verifier (whose
    thread the pipeline then runs, and whose id the heartbeats carry); --verifier none is the filter alone."""
    from voxwatch.daemon.wiring import load_models, model_info

    classifier, verifier, config = load_models(load_config(None))
    assert verifier is not None and classifier.model_id.startswith("tinycnn")
    pipeline = published_pipeline(config.pipeline, classifier, None, verifier=verifier)
    assert "verifier" in pipeline.worker_threads and pipeline.stats().verifier is not None
    assert model_info(classifier, verifier)["verifier"] == verifier.model_id
    alone = load_models(load_config(None), verifier="none")
    assert alone[1] is None and "verifier" not in published_pipeline(alone[2].pipeline, alone[0], None).worker_threads
