"""Optional Prometheus endpoint (prometheus-client) for ``voxwatch run``, loopback by default.

Counters are not incremented on the hot path: a custom collector reads the same stats snapshot the heartbeats use
(``Pipeline.stats`` plus each microphone's capture counters) at scrape time, per stream. Two histograms are fed
as things happen, both without blocking: the inference time per batch (``Pipeline.batch_observers``) and, per
stream, the decision latency of each alert/verdict (from the audio that completed it to the decision).

Also served: ``voxwatch_build_info`` (the voxwatch version and the model's id and sha256, so a dashboard can tell
which build and model flagged what; with a verifier, its id too) and, where the cascade runs, its counters:
utterances gated to the verifier, verified, and those whose filter verdict stood because the verifier's queue was
full and prometheus-client's process collector (``process_cpu_seconds_total``,
``process_resident_memory_bytes``, open file descriptors, start time: the daemon's own cost and restarts).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from voxwatch.config import MetricsSettings
from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.types import JudgementEvent, PipelineEvent
from voxwatch.transport.endpoints import is_loopback_endpoint

log = logging.getLogger(__name__)

# (metric name, help, key in the per-stream stats, kind)
STREAM_METRICS = (
    ("voxwatch_audio_seconds", "Audio seconds read from the stream", "audio_s", "counter"),
    ("voxwatch_speech_seconds", "Seconds of speech found by the VAD", "speech_s", "counter"),
    ("voxwatch_windows_scored", "Windows scored by the classifier", "windows", "counter"),
    ("voxwatch_utterances", "Utterances with at least one scored window", "utterances", "counter"),
    ("voxwatch_alerts", "Alerts raised", "alerts", "counter"),
    ("voxwatch_dropped_audio_seconds", "Audio dropped because the pipeline fell behind", "dropped_s", "counter"),
    ("voxwatch_capture_overflows", "Input overflows reported by PortAudio", "overflows", "counter"),
    ("voxwatch_capture_dropped_seconds", "Audio lost between the capture callback and the resampler",
     "capture_dropped_s", "counter"),
    ("voxwatch_device_errors", "Device errors (each followed by a retry)", "device_errors", "counter"),
    ("voxwatch_ring_fill_ratio", "Fill level of the stream's ring buffer", "ring_fill", "gauge"),
)


class _StatsCollector:
    def __init__(self, stats: Callable[[], dict[str, Any]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        stats = self._stats()
        streams = stats.get("streams", {})
        for name, help_text, key, kind in STREAM_METRICS:
            family = (CounterMetricFamily(name, help_text, labels=["stream"]) if kind == "counter"
                      else GaugeMetricFamily(name, help_text, labels=["stream"]))
            for stream, values in streams.items():
                if isinstance(values.get(key), int | float):
                    family.add_metric([stream], float(values[key]))
            yield family
        queue_depth = GaugeMetricFamily("voxwatch_window_queue_depth", "Windows waiting for inference")
        queue_depth.add_metric([], float(stats.get("queue_depth", 0)))
        yield queue_depth
        for key, help_text in (("events_published", "Events published"),
                               ("events_dropped", "Events dropped (publisher queue full or subscriber HWM)"),
                               ("evidence_saved", "Alert clips saved as evidence"),
                               ("evidence_failed", "Alert clips that could not be written (read-only or full)"),
                               ("gated", "Utterances whose filter score reached the verifier's gate"),
                               ("verifier_verified", "Utterances the verifier judged"),
                               ("verifier_queue_full",
                                "Gated utterances whose filter verdict stood: verifier queue full"),
                               ("voice_checked", "Clone watch: voice checks answered"),
                               ("voice_queue_full", "Clone watch: voice checks lost to a full queue"),
                               ("clone_alerts", "Clone watch: alerts with reason clone")):
            if key in stats:
                family = CounterMetricFamily(f"voxwatch_{key}", help_text)
                family.add_metric([], float(stats[key]))
                yield family
        if "verifier_queue_depth" in stats:
            depth = GaugeMetricFamily("voxwatch_verifier_queue_depth", "Utterances waiting for the verifier")
            depth.add_metric([], float(stats["verifier_queue_depth"]))
            yield depth


class MetricsServer:
    """Serves /metrics over HTTP from its own thread; ``observe_batch`` and the emit sink never block."""

    def __init__(self, settings: MetricsSettings, stats: Callable[[], dict[str, Any]],
                 build: dict[str, str] | None = None) -> None:
        from prometheus_client import CollectorRegistry, Histogram, Info, ProcessCollector

        from voxwatch import __version__

        self.settings = settings
        self.registry = CollectorRegistry()
        self.registry.register(_StatsCollector(stats))
        ProcessCollector(registry=self.registry)
        Info("voxwatch_build", "voxwatch version and the model it serves",
             registry=self.registry).info({"version": __version__, **(build or {})})
        buckets = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
        self.inference = Histogram("voxwatch_inference_seconds", "Classifier time per batch (all streams)",
                                   buckets=buckets, registry=self.registry)
        self.decision = Histogram("voxwatch_decision_latency_seconds",
                                  "From reading the deciding audio to the alert/verdict, per stream",
                                  ["stream", "kind", "stage"], buckets=buckets, registry=self.registry)
        self._server: Any = None
        self.port = settings.port

    def start(self) -> None:
        from prometheus_client import start_http_server

        if not is_loopback_endpoint(f"tcp://{self.settings.address}:0"):
            log.warning("metrics endpoint on non-loopback address %s: anyone who can reach it can read it",
                        self.settings.address)
        try:
            self._server, _ = start_http_server(self.settings.port, addr=self.settings.address,
                                                registry=self.registry)
        except OSError as exc:
            where = f"{self.settings.address}:{self.settings.port}"
            raise VoxwatchError(f"metrics: cannot listen on {where} ({exc})") from None
        self.port = self._server.server_port

    def observe_batch(self, seconds: float, windows: int) -> None:
        self.inference.observe(seconds)

    def __call__(self, event: PipelineEvent) -> None:
        if isinstance(event, JudgementEvent):
            self.decision.labels(event.stream, event.judgement.kind, event.judgement.stage).observe(
                time.monotonic() - event.t_ready)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
