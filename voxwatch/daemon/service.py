"""The daemon behind ``voxwatch run``: microphones -> pipeline -> publisher, evidence and metrics, until told to stop.

Lifecycle:

* start: microphones are opened first (a device that cannot be found is a one-line error at startup, before
  anything else starts), then the classifier, the publisher (heartbeats begin), evidence store and metrics
  (optional), the pipeline, and one stream per ``MicSource`` (plus ``system-audio`` with ``--system-audio``);
  a device that fails later is retried by its source while the other streams go on.
* under systemd (``Type=notify``): ``READY=1`` once everything runs, ``WATCHDOG=1`` from the loop below while
  the pipeline makes progress (``voxwatch.daemon.sdnotify``), ``STOPPING=1`` when draining begins.
* ``stop`` set (SIGINT/SIGTERM in ``voxwatch run``): capture stops, the windows already queued are judged (final
  verdicts for utterances in progress) within ``drain_timeout``, pending evidence is written and a last
  ``voxwatch.status`` with ``state: "stopping"`` goes out.
* ``reload`` set (SIGHUP): the config file is read again and its ``[decision]`` settings (threshold, aggregate,
  early alert, refractory period, uncertain band), the ``[verifier]`` gate and threshold and per-stream
  ``[streams.<id>]`` overrides apply through
  ``Pipeline.reconfigure``: capture and the queued audio are untouched. Other sections need a restart; a config
  that does not parse is logged and the old settings stay. Clone watch's voices directory (``[voices] dir``) is
  read again too, with each stream's ``expect_voice``: voices enrolled or removed since count from then on (an
  unreadable voiceprint, or a stream expecting a voice that is not enrolled, keeps the old voices).

Signals are installed by the command, not here, so the service runs the same under a test's events.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voxwatch.config import Config, PublishSettings, load_config
from voxwatch.daemon.evidence import EvidenceStore
from voxwatch.daemon.metrics import MetricsServer
from voxwatch.daemon.sdnotify import SystemdNotifier, WatchdogPinger
from voxwatch.daemon.wiring import load_models, load_voices, published_pipeline
from voxwatch.errors import VoxwatchError
from voxwatch.transport.events import unique_stream_ids

if TYPE_CHECKING:
    from voxwatch.pipeline.runner import Pipeline
    from voxwatch.transport.publisher import EventPublisher

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ServiceOptions:
    """What ``voxwatch run``'s command line adds to the config file."""

    config_path: str | None = None  # re-read on reload
    model: str | None = None
    verifier: str | None = None  # --verifier: a verifier .onnx, or "none"
    devices: tuple[str, ...] = ()  # empty: [capture] devices, else the system default input
    system_audio: bool = False  # also capture the default output's monitor (or [capture] system_audio)
    evidence: bool = True  # False: --no-evidence
    metrics_port: int | None = None  # overrides [metrics]
    drain_timeout: float = 5.0


def device_stream_ids(specs: list[str], names: list[str]) -> list[str]:
    """Stream ids of microphones: the --device text (``mic2`` for an index, the device name for the default
    device), topic-safe and unique."""
    return unique_stream_ids(spec if spec and not spec.isdigit() else f"mic{spec}" if spec else name
                             for spec, name in zip(specs, names, strict=True))


class DaemonService:
    """Owns the daemon's parts; ``serve(stop, reload)`` runs them until ``stop`` is set and returns the exit status."""

    def __init__(self, options: ServiceOptions, config: Config,
                 make_publisher: Callable[[PublishSettings], EventPublisher],
                 notifier: SystemdNotifier | None = None) -> None:
        from voxwatch.pipeline.mic import MicSource, PortAudioHost
        from voxwatch.pipeline.system_audio import SYSTEM_AUDIO_STREAM, system_audio_source

        self.options = options
        self.notifier = notifier or SystemdNotifier()
        specs = list(options.devices or config.capture.devices or [""])
        host = PortAudioHost()
        wants_system = options.system_audio or config.capture.system_audio
        system = system_audio_source(config.capture) if wants_system else None
        mics = [MicSource(host, spec, config.capture) for spec in specs]  # a wrong device fails here, fast
        # the card's features unless the config sets them; the cascade's verifier by the one rule (wiring)
        self.classifier, self.verifier, config = load_models(config, options.model, options.verifier)
        self.voices = load_voices(config)  # clone watch; an unknown expect_voice is one line, here
        self.mics = dict(zip(device_stream_ids(specs, [m.device.name for m in mics]), mics, strict=True))
        if system:
            self.mics[SYSTEM_AUDIO_STREAM] = system
        for stream_id, mic in self.mics.items():
            mic.stream_id = stream_id

        self.publisher = make_publisher(config.publish)
        self.evidence = None
        if config.evidence.enabled and options.evidence:
            self.evidence = EvidenceStore(config.evidence, daemon=self.publisher.daemon)
        sinks: list = []
        if self.evidence:
            sinks.append(self.evidence)
        self.pipeline: Pipeline | None = None
        self.metrics = None
        if config.metrics.enabled or options.metrics_port is not None:
            metrics_settings = config.metrics
            if options.metrics_port is not None:
                metrics_settings = dataclasses.replace(metrics_settings, enabled=True, port=options.metrics_port)
            build = {"model_id": self.classifier.model_id, "model_sha256": self.classifier.sha256}
            if self.verifier is not None:
                build["verifier_id"] = self.verifier.model_id
            self.metrics = MetricsServer(metrics_settings, self.stats, build=build)
            sinks.append(self.metrics)
        self.metrics_address = config.metrics.address
        self.pipeline = published_pipeline(config.pipeline, self.classifier, self.publisher, tuple(sinks), self.stats,
                                           self.verifier, self.voices)
        if self.metrics:
            self.pipeline.batch_observers.append(self.metrics.observe_batch)

    def stats(self) -> dict[str, Any]:
        """The heartbeat's counters: the pipeline's, each microphone's capture counters, publisher and evidence."""
        pipeline = self.pipeline
        snapshot = pipeline.stats().as_dict() if pipeline else {"streams": {}}
        for stream_id, values in snapshot.get("streams", {}).items():
            if stream_id in self.mics:
                values.update(self.mics[stream_id].stats())
        snapshot["threshold"] = round(pipeline.threshold, 6) if pipeline else None
        snapshot["events_published"] = self.publisher.events_published
        snapshot["events_dropped"] = self.publisher.events_dropped
        if self.evidence:
            snapshot["evidence_saved"] = self.evidence.saved
            snapshot["evidence_failed"] = self.evidence.failed
        return snapshot

    def startup_line(self) -> str:
        """What an operator checks first: which model, which devices, where the events and metrics go."""
        streams = ", ".join(f"{stream_id} = {mic.description}" for stream_id, mic in self.mics.items())
        settings = self.publisher.settings
        endpoints = [f"bound {url}" for url in self.publisher.bound or settings.bind]
        endpoints += [f"connected to {url}" for url in settings.connect]
        verifier = f"verifier {self.verifier.model_id}" if self.verifier is not None else "no verifier"
        parts = [f"model {self.classifier.model_id} ({self.classifier.path}), {verifier}", f"streams: {streams}",
                 f"events: {', '.join(endpoints)}"]
        if self.voices is not None and self.voices.voiceprints:
            parts.append(f"clone watch: {', '.join(self.voices.names)}")
        if self.metrics:
            parts.append(f"metrics http://{self.metrics_address}:{self.metrics.port}/metrics")
        if self.evidence:
            parts.append(f"evidence {self.evidence.dir}")
        return "; ".join(parts)

    def serve(self, stop: threading.Event, reload: threading.Event,
              announce: Callable[[str], None] = log.warning) -> int:
        """Run until ``stop`` is set; ``announce`` gets the one start-up line once everything runs."""
        pipeline = self.pipeline
        assert pipeline is not None
        publisher_started = False
        try:
            self.publisher.start()
            publisher_started = True
            if self.evidence:
                self.evidence.start()
            if self.metrics:
                self.metrics.start()
                log.info("metrics on http://%s:%d/metrics", self.metrics_address, self.metrics.port)
            pipeline.start()
            for stream_id, mic in self.mics.items():
                pipeline.add_stream(stream_id, self.evidence.wrap(stream_id, mic) if self.evidence else mic)
                log.info("stream %s: %s", stream_id, mic.description)
            announce(f"voxwatch run: {self.startup_line()}")
            self.notifier.notify("READY=1", f"STATUS={len(self.mics)} stream(s) running")
            watchdog = WatchdogPinger(self.notifier, pipeline.stalled_s)
            while not stop.wait(0.2 if watchdog.interval is None else min(0.2, watchdog.interval / 2)):
                watchdog.tick()
                if reload.is_set():
                    reload.clear()
                    reload_decision(self.options.config_path, pipeline)
            self.notifier.notify("STOPPING=1")
            log.info("stopping: capture stopped, draining queued windows")
            t0 = time.monotonic()
            if not pipeline.stop(timeout=self.options.drain_timeout):
                log.warning("drain did not finish within %.1f s; some final verdicts are lost",
                            self.options.drain_timeout)
            log.info("drained in %.2f s", time.monotonic() - t0)
        except VoxwatchError:
            pipeline.stop(timeout=1.0)
            raise
        finally:
            if self.evidence:
                self.evidence.close(timeout=3.0)
            if self.metrics:
                self.metrics.close()
            if publisher_started:
                self.publisher.close("stopping", timeout=3.0)
        return 0


def reload_decision(config_path: str | None, pipeline: Pipeline) -> None:
    """SIGHUP: apply the config file's ``[decision]``, ``[verifier]`` gate/threshold and ``[streams.*]`` from the
    next window on; a broken file changes nothing."""
    if not config_path:
        log.warning("SIGHUP: no --config file to reload; keeping the current settings")
        return
    try:
        settings = load_config(config_path).pipeline
    except VoxwatchError as exc:
        log.error("SIGHUP: keeping the current settings: %s", exc)
        return
    decision = settings.decision
    stream_voices = reload_voices(config_path, pipeline)
    pipeline.reconfigure(decision, settings.stream_decisions, settings.verifier, settings.stream_verifiers,
                         stream_voices)
    log.warning("SIGHUP: reloaded [decision], [verifier] and [streams.*] from %s (threshold %s, verifier gate %s, "
                "verifier threshold %s)", config_path, "model" if decision.threshold is None else decision.threshold,
                "model" if settings.verifier.gate is None else settings.verifier.gate,
                "model" if settings.verifier.threshold is None else settings.verifier.threshold)


def reload_voices(config_path: str, pipeline: Pipeline) -> tuple[tuple[str, str], ...] | None:
    """SIGHUP, clone watch: the voices directory and the streams' ``expect_voice`` read again; the streams'
    expectations to apply (None: keep the current ones, as an error here keeps the old voices)."""
    from voxwatch.voices.voiceprint import VoiceStore
    from voxwatch.voices.watch import VoiceChecker

    checker = pipeline.voices
    if checker is None:  # [voices] watch = false at start: a restart turns it on
        return None
    try:
        config = load_config(config_path)
        store = VoiceStore(config.voices.path)
        candidate = VoiceChecker(store.load_all(), checker.encoder, str(store.dir))
        candidate.require(config.pipeline.stream_voices)
    except VoxwatchError as exc:
        log.error("SIGHUP: keeping the current voices: %s", exc)
        return None
    checker.source = candidate.source
    checker.replace(candidate.voiceprints)
    log.warning("SIGHUP: clone watch voices from %s: %s", checker.source, ", ".join(checker.names) or "none")
    return config.pipeline.stream_voices
