"""The pipeline wired to its models and its publisher: how ``run``, ``replay``, ``voxwatch bench`` and the soak
benchmark (benchmarks/soak.py) build what they run, so a benchmark measures the cascade that ships.

The wiring is short but it has rules that are easy to get half right when written twice: the cascade's verifier is
loaded with the filter, by the same rule everywhere (``load_models``: ``--verifier``, else ``[verifier]``, else
the bundled one for the bundled filter); every event goes to the publisher and to every other sink (evidence,
metrics, a replay summary) through one ``fan_out``; the publisher's heartbeats carry the counters of what feeds
it; and every heartbeat names the model (and the cascade's verifier, where one runs), so a fleet's consumers can
tell which model judged what.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voxwatch.pipeline.types import PipelineEvent, PipelineSettings, fan_out

if TYPE_CHECKING:
    from voxwatch.config import Config
    from voxwatch.pipeline.runner import Pipeline
    from voxwatch.pipeline.stages.filter.session import OnnxClassifier
    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
    from voxwatch.transport.publisher import EventPublisher
    from voxwatch.voices.watch import VoiceChecker


def load_models(config: Config, model: str | None = None, verifier: str | None = None
                ) -> tuple[OnnxClassifier, OnnxVerifier | None, Config]:
    """The filter (``model``: a path, else the config's, else the bundled one), the config fitted to its card, and
    the cascade's verifier (``verifier``: a path or ``"none"``, else ``[verifier]``; None where the filter judges
    alone): what ``run``, ``replay`` and the benchmarks run, loaded by one rule."""
    from voxwatch.model_loading import load_model, load_verifier

    classifier, config = load_model(model, config)
    return classifier, load_verifier(config, verifier, classifier.sha256), config


def load_voices(config: Config) -> VoiceChecker | None:
    """Clone watch's voices for ``run`` and ``replay``: the voiceprints of ``[voices] dir`` (None with ``[voices]
    watch = false``). A voiceprint that cannot be read or comes from another speaker encoder, and a stream whose
    ``expect_voice`` is not enrolled, are one-line errors here, at start-up."""
    if not config.voices.watch:
        return None
    from voxwatch.voices.watch import VoiceChecker

    checker = VoiceChecker.from_dir(config.voices.path)
    checker.require(config.pipeline.stream_voices)
    return checker


def model_info(classifier: OnnxClassifier, verifier: OnnxVerifier | None = None) -> dict[str, str]:
    """The model as events and heartbeats name it (with the cascade's verifier's id where one runs)."""
    info = {"id": classifier.model_id, "sha256": classifier.sha256}
    if verifier is not None:
        info["verifier"] = verifier.model_id
    return info


def published_pipeline(settings: PipelineSettings, classifier: OnnxClassifier, publisher: EventPublisher | None,
                       sinks: tuple[Callable[[PipelineEvent], None], ...] = (),
                       stats: Callable[[], dict[str, Any]] | None = None,
                       verifier: OnnxVerifier | None = None, voices: VoiceChecker | None = None) -> Pipeline:
    """A ``Pipeline`` (with the cascade's ``verifier`` behind its filter, if given) whose events go to ``publisher``
    (None: no socket) and to ``sinks``; the publisher's heartbeats report ``stats`` (default: the pipeline's own
    counters) and the model; ``voices``: clone watch (``load_voices``). Nothing is started."""
    from voxwatch.pipeline.runner import Pipeline

    emit = fan_out(*((publisher.submit,) if publisher else ()), *sinks)
    pipeline = Pipeline(settings, classifier, emit, verifier=verifier, voices=voices)
    if publisher:
        publisher.attach_stats(stats or (lambda: pipeline.stats().as_dict()))
        publisher.set_status_extra(model=model_info(classifier, verifier))
    return pipeline
