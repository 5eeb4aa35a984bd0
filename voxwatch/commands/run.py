"""``voxwatch run``: the long-running daemon. One stream per microphone, events over ZeroMQ, clean lifecycle.

Lifecycle:

* start: config -> classifier -> publisher (heartbeats begin) -> evidence store / metrics (optional) -> pipeline ->
  one ``MicSource`` per ``--device`` (a device that cannot be found is a one-line error at startup; a device that
  fails later is retried by its source while the other streams go on).
* SIGINT/SIGTERM: the signal handler only sets an event; the main thread then stops capture, drains the windows
  already queued (final verdicts for utterances in progress), writes pending evidence, publishes a last
  ``voxwatch.status`` with ``state: "stopping"`` and exits 0, all within ``--drain-timeout`` plus the publisher's
  linger. A second signal while stopping exits at once (status 1).
* SIGHUP: re-reads the config file and applies its ``[decision]`` settings (threshold, aggregate, early alert,
  refractory period) and the per-stream ``[streams.<id>]`` overrides through ``Pipeline.reconfigure``: capture
  and the queued audio are untouched. Other sections need a restart; a config that does not parse is logged and
  the old settings stay.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from typing import Any

from voxwatch.commands.curve_options import add_curve_arguments
from voxwatch.config import DEFAULT_PUBLISH_URL

HELP = "capture microphones and publish detections (the daemon)"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", action="append", metavar="DEV",
                        help="input device index or name substring (repeatable: one stream each; default from "
                             "[capture] devices, else the system default input; see 'voxwatch devices')")
    parser.add_argument("--system-audio", action="store_true",
                        help="also capture what this computer plays (the default output's monitor: a call's "
                             "remote side) as the stream 'system-audio' (or [capture] system_audio = true)")
    parser.add_argument("--config", metavar="PATH", help="TOML config (default: built-in, see configs/default.toml); "
                        "SIGHUP re-reads its [decision] section")
    parser.add_argument("--model", metavar="PATH", help="ONNX model with its .json card (default: bundled model)")
    parser.add_argument("--publish", action="append", metavar="URL",
                        help=f"bind the event publisher here (repeatable; default from config, {DEFAULT_PUBLISH_URL})")
    parser.add_argument("--connect", action="append", metavar="URL",
                        help="connect the publisher to a broker's frontend instead of binding (repeatable)")
    parser.add_argument("--daemon-id", metavar="ID", help="id in every event's daemon field (default: host name)")
    parser.add_argument("--no-evidence", action="store_true", help="do not save alert clips (overrides [evidence])")
    parser.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="serve Prometheus metrics on this loopback port (overrides [metrics])")
    parser.add_argument("--drain-timeout", type=float, default=5.0, metavar="S",
                        help="on SIGTERM/SIGINT, wait at most S seconds for queued windows to be judged (default 5)")
    add_curve_arguments(parser)


class _Signals:
    """Signal handlers that only set events; the main loop does the work."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.reload = threading.Event()
        self.count = 0
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._on_stop)
        if hasattr(signal, "SIGHUP"):
            self._previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._on_hup)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _on_stop(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        self.count += 1
        if self.count > 1:
            raise SystemExit(1)  # second signal: give up draining
        self.stop.set()

    def _on_hup(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        self.reload.set()


def stream_ids(specs: list[str], names: list[str]) -> list[str]:
    """Topic-safe, unique stream ids: the --device text (or the device name for the default device)."""
    from voxwatch.transport.events import safe_stream_id

    seen: dict[str, int] = {}
    ids = []
    for spec, name in zip(specs, names, strict=True):
        base = safe_stream_id(spec if spec and not spec.isdigit() else f"mic{spec}" if spec else name)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from voxwatch.commands.common import publisher_from_args
    from voxwatch.config import load_config
    from voxwatch.daemon.evidence import EvidenceStore
    from voxwatch.daemon.metrics import MetricsServer
    from voxwatch.errors import VoxwatchError
    from voxwatch.model_loading import load_classifier
    from voxwatch.pipeline.mic import MicSource, PortAudioHost
    from voxwatch.pipeline.runner import Pipeline, fan_out
    from voxwatch.pipeline.system_audio import SYSTEM_AUDIO_STREAM, system_audio_source

    config = load_config(args.config)
    specs = list(args.device or config.capture.devices or [""])
    host = PortAudioHost()
    system = system_audio_source(config.capture) if args.system_audio or config.capture.system_audio else None
    mics = [MicSource(host, spec, config.capture) for spec in specs]  # a wrong device fails here, fast
    classifier = load_classifier(args.model, config)
    ids = stream_ids(specs, [m.device.name for m in mics])
    if system:
        ids, mics = [*ids, SYSTEM_AUDIO_STREAM], [*mics, system]
    for stream_id, mic in zip(ids, mics, strict=True):
        mic.stream_id = stream_id

    publisher = publisher_from_args(args, config.publish)
    evidence = None
    if config.evidence.enabled and not args.no_evidence:
        evidence = EvidenceStore(config.evidence, daemon=publisher.daemon)
    sinks: list = [publisher.submit]
    if evidence:
        sinks.append(evidence)
    pipeline: Pipeline | None = None
    by_id = dict(zip(ids, mics, strict=True))

    def stats() -> dict[str, Any]:
        snapshot = pipeline.stats() if pipeline else {"streams": {}}
        for stream_id, values in snapshot.get("streams", {}).items():
            if stream_id in by_id:
                values.update(by_id[stream_id].stats())
        snapshot["threshold"] = round(pipeline.threshold, 6) if pipeline else None
        snapshot["events_published"] = publisher.events_published
        snapshot["events_dropped"] = publisher.events_dropped
        if evidence:
            snapshot["evidence_saved"] = evidence.saved
        return snapshot

    metrics = None
    if config.metrics.enabled or args.metrics_port is not None:
        metrics_settings = config.metrics
        if args.metrics_port is not None:
            metrics_settings = dataclasses.replace(metrics_settings, enabled=True, port=args.metrics_port)
        metrics = MetricsServer(metrics_settings, stats)
        sinks.append(metrics)
    pipeline = Pipeline(config.pipeline, classifier, fan_out(*sinks))
    if metrics:
        pipeline.batch_observers.append(metrics.observe_batch)
    publisher.attach_stats(stats)
    publisher.set_status_extra(model={"id": classifier.model_id, "sha256": classifier.sha256})

    signals = _Signals()
    signals.install()
    started: list[Any] = []
    try:
        publisher.start()
        started.append(publisher)
        if evidence:
            evidence.start()
        if metrics:
            metrics.start()
            log.info("metrics on http://%s:%d/metrics", config.metrics.address, metrics.port)
        pipeline.start()
        for stream_id, mic in zip(ids, mics, strict=True):
            pipeline.add_stream(stream_id, evidence.wrap(stream_id, mic) if evidence else mic)
            log.info("stream %s: %s", stream_id, mic.description)
        while not signals.stop.wait(0.2):
            if signals.reload.is_set():
                signals.reload.clear()
                _reload(args.config, pipeline)
        log.info("stopping: capture stopped, draining queued windows")
        t0 = time.monotonic()
        drained = pipeline.stop(timeout=args.drain_timeout)
        if not drained:
            log.warning("drain did not finish within %.1f s; some final verdicts are lost", args.drain_timeout)
        log.info("drained in %.2f s", time.monotonic() - t0)
    except VoxwatchError:
        pipeline.stop(timeout=1.0)
        raise
    finally:
        if evidence:
            evidence.close(timeout=3.0)
        if metrics:
            metrics.close()
        if started:
            publisher.close("stopping", timeout=3.0)
        signals.restore()
    return 0


def _reload(config_path: str | None, pipeline: Any) -> None:
    from voxwatch.config import load_config
    from voxwatch.errors import VoxwatchError

    if not config_path:
        log.warning("SIGHUP: no --config file to reload; keeping the current settings")
        return
    try:
        settings = load_config(config_path).pipeline
    except VoxwatchError as exc:
        log.error("SIGHUP: keeping the current settings: %s", exc)
        return
    decision = settings.decision
    pipeline.reconfigure(decision, settings.stream_decisions)
    log.warning("SIGHUP: reloaded [decision] and [streams.*] from %s (threshold %s)", config_path,
                "model" if decision.threshold is None else decision.threshold)
