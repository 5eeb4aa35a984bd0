"""Measured benchmark runs: N streams through a real ``Pipeline`` and ``EventPublisher`` to a subscriber process,
joined by the daemon's wiring (``voxwatch.daemon.wiring.published_pipeline``, as ``voxwatch run`` joins them).

CPU is charged per thread from the Linux scheduler's counters, so each stage's figure is its own work; the
subscriber runs in a child process so its cost is not charged to the pipeline.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxwatch.bench.workload import LoopSource
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.stats import p50_p99


def _subscriber_main(url: str) -> None:
    """Child process: a ZeroMQ SUB that records judgement events per run prefix; requests come on stdin.

    A request line is JSON ``[prefix, expected, timeout_s]``; the answer (one JSON line on stdout) comes once
    ``expected`` alert/verdict events of streams ``PREFIX-*`` have arrived, or at the timeout. EOF ends it.
    """
    import zmq

    from voxwatch.transport.subscriber import SeqTracker

    sock = zmq.Context().socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.connect(url)
    sock.setsockopt(zmq.SUBSCRIBE, b"voxwatch.")
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(sys.stdin.fileno(), zmq.POLLIN)
    runs: dict[str, dict[str, Any]] = {}
    seq = SeqTracker()
    pending: tuple[str, int, float] | None = None
    print("ready", flush=True)
    while True:
        ready = dict(poller.poll(20))
        while sock.poll(0):
            _topic, body = sock.recv_multipart()
            event = json.loads(body)
            seq.observe(event)
            if event.get("type") in ("alert", "verdict"):
                run = runs.setdefault(event["stream"].split("-", 1)[0], {"latency_ms": [], "alerts": 0, "verdicts": 0})
                run["latency_ms"].append(event["latency_ms"])
                run["alerts" if event["type"] == "alert" else "verdicts"] += 1
        if pending is None and sys.stdin.fileno() in ready:
            line = sys.stdin.readline()
            if not line:
                break
            prefix, expected, timeout = json.loads(line)
            pending = (prefix, expected, time.monotonic() + timeout)
        if pending is not None:
            prefix, expected, deadline = pending
            run = runs.get(prefix, {"latency_ms": [], "alerts": 0, "verdicts": 0})
            if len(run["latency_ms"]) >= expected or time.monotonic() > deadline:
                print(json.dumps({**run, "seq_gaps": seq.lost}), flush=True)
                runs.pop(prefix, None)
                pending = None
    sock.close(0)


class Subscriber:
    """The live subscriber: a separate Python process, so its cost is not charged to the pipeline."""

    def __init__(self, url: str) -> None:
        import subprocess

        code = f"from voxwatch.bench.measure import _subscriber_main; _subscriber_main({url!r})"
        self._proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, bufsize=1)
        assert self._proc.stdin is not None and self._proc.stdout is not None  # both are PIPEs
        self._stdin, self._stdout = self._proc.stdin, self._proc.stdout
        if self._stdout.readline().strip() != "ready":
            raise RuntimeError("benchmark subscriber did not start")

    def collect(self, prefix: str, expected: int, timeout: float = 10.0) -> dict[str, Any]:
        self._stdin.write(json.dumps([prefix, expected, timeout]) + "\n")
        self._stdin.flush()
        line = self._stdout.readline()
        if not line:
            raise RuntimeError("benchmark subscriber died")
        return json.loads(line)

    def close(self) -> None:
        try:
            self._stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(5)
        except Exception:
            self._proc.kill()


# ----------------------------------------------------------------------------------------------- one run
@dataclass
class RunResult:
    streams: int
    realtime: bool
    audio_s: float
    speech_s: float
    wall_s: float
    cpu_s: float
    windows: int
    batches: int
    judgements: int
    received: int
    seq_gaps: int
    dropped_s: float
    stage_us: dict[str, float]
    thread_cpu_s: dict[str, float]
    peak_rss_mb: float
    latency_ms: list[float] = field(default_factory=list, repr=False)
    verdict_scores: list[float] = field(default_factory=list, repr=False)  # the filter's utterance scores
    cascade: dict[str, Any] = field(default_factory=dict)  # gated share, verifier CPU and latency (with a verifier)

    @property
    def rtf_per_core(self) -> float:
        return self.audio_s / self.cpu_s if self.cpu_s > 0 else math.inf

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("latency_ms", "verdict_scores")}
        out["rtf_per_core"] = self.rtf_per_core
        out["rtf_wall"] = self.audio_s / self.wall_s if self.wall_s > 0 else math.inf
        out["cpu_share_per_stream"] = self.cpu_s / self.wall_s / self.streams if self.wall_s > 0 else math.nan
        out["latency_ms"] = _latency_summary(self.latency_ms, "events")
        return out


def _latency_summary(values: list[float], count: str) -> dict[str, Any] | None:
    """p50, p99 and max of latencies in ms and how many there were (``count``), None for none: the pipeline's
    rule (``p50_p99``: nearest rank, microseconds), so the bench's figures read like the daemon's own."""
    if not values:
        return None
    p50, p99 = p50_p99(values)
    return {"p50": p50, "p99": p99, "max": round(max(values), 3), count: len(values)}


def _thread_cpu(thread: threading.Thread) -> float:
    """CPU seconds of a thread (Linux scheduler's run time; 0 where unknown). Safe for a thread that has ended,
    unlike pthread_getcpuclockid on a dead thread, which crashes the process."""
    try:
        with open(f"/proc/self/task/{thread.native_id}/schedstat") as handle:
            return int(handle.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError, TypeError):
        return 0.0


class ThreadClock:
    """Samples the CPU clocks of the pipeline's threads while it runs (a thread's clock dies with the thread)."""

    def __init__(self, groups: dict[str, list[threading.Thread]], period: float = 0.1) -> None:
        self.groups = groups
        self.period = period
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-clock", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            self.sample()

    def sample(self) -> None:
        for threads in self.groups.values():
            for t in threads:
                if t.native_id is not None:
                    self.seen[t.native_id] = max(self.seen.get(t.native_id, 0.0), _thread_cpu(t))

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self.sample()
        return {name: sum(self.seen.get(t.native_id, 0.0) for t in threads if t.native_id is not None)
                for name, threads in self.groups.items()}


class Bench:
    """Holds the classifier-independent pieces (audio pool, publisher, subscriber) across runs."""

    def __init__(self, settings, pool: np.ndarray, block_ms: int = 20) -> None:
        from voxwatch.config import PublishSettings
        from voxwatch.transport.publisher import EventPublisher

        self.settings = settings
        self.pool = pool
        self.block_ms = block_ms
        self._runs = 0
        self._warm: set[int] = set()
        self.publisher = EventPublisher(PublishSettings(bind=("tcp://127.0.0.1:*",), heartbeat_s=1.0,
                                                        queue_size=100_000, sndhwm=100_000, linger_ms=0,
                                                        daemon_id="bench"))
        self.publisher.start()
        self.subscriber = Subscriber(self.publisher.bound[0])
        if not self.publisher.wait_for_subscribers(1, 10):
            raise RuntimeError("benchmark subscriber did not subscribe")

    def close(self) -> None:
        self.subscriber.close()
        self.publisher.close(timeout=2)

    def run(self, classifier, streams: int, seconds: float, realtime: bool, verifier=None,
            gate: float | None = None, voices=None) -> RunResult:
        """One measured run; with ``verifier`` the cascade runs behind the filter with this ``gate`` on the
        filter's utterance score (the bench picks it so that a chosen share of utterances is gated); with
        ``voices`` (a ``VoiceChecker``) clone watch checks every long enough utterance against them."""
        import dataclasses

        from voxwatch.daemon.wiring import published_pipeline
        from voxwatch.pipeline.types import JudgementEvent

        self._runs += 1
        prefix = f"r{self._runs}"
        if id(classifier) not in self._warm:
            # a long-running daemon has long grown onnxruntime's arena to full batches; do that before measuring
            self._warm.add(id(classifier))
            classifier.score(np.zeros((self.settings.max_batch, classifier.card.n_frames,
                                       self.settings.features.n_features), dtype=np.float32))
        judgements = [0]
        verdict_scores: list[float] = []
        verifier_latency: list[float] = []

        def count(event) -> None:  # beside the publisher, as run's evidence and metrics sinks are
            if isinstance(event, JudgementEvent):
                judgements[0] += 1
                if event.judgement.kind == "verdict":
                    verdict_scores.append(event.judgement.filter_score or event.judgement.score)
                    if event.judgement.stage == "verifier":  # from reading the utterance's end to its verdict
                        verifier_latency.append((time.monotonic() - event.t_ready) * 1000)

        settings = self.settings
        if verifier is not None:
            settings = dataclasses.replace(settings, verifier=dataclasses.replace(settings.verifier, enabled=True,
                                                                                  gate=gate))
        # the daemon's wiring (voxwatch.daemon.wiring): events to the publisher and the counter, heartbeats with
        # the pipeline's counters and the models
        if voices is not None:
            from voxwatch.bench.voices import THROUGHPUT_VOICE_QUEUE

            settings = dataclasses.replace(settings, voice_queue=THROUGHPUT_VOICE_QUEUE, clone_alerts="nearest")
        pipeline = published_pipeline(settings, classifier, self.publisher, (count,), verifier=verifier,
                                      voices=voices)
        samples = int(seconds * SAMPLE_RATE)
        stride = len(self.pool) // max(1, streams)
        pub_cpu0 = _thread_cpu(self.publisher.thread)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        pipeline.start()
        for i in range(streams):
            # live streams do not all end at the same instant: ends are spread over the last 10% of a real-time
            # run (else the final windows and verdicts of every stream would form one burst, unlike live audio)
            length = samples + (int(0.1 * samples * i / streams) if realtime else 0)
            pipeline.add_stream(f"{prefix}-s{i}", LoopSource(self.pool, i * stride + i * 977, length, realtime,
                                                                        self.block_ms))
        # real-time runs idle at their end, so a slow sampler loses nothing there and costs the run less
        clock = ThreadClock({name: [t] for name, t in pipeline.worker_threads.items()}, 1.0 if realtime else 0.1)
        pipeline.finish()
        thread_cpu = clock.stop()
        while self.publisher.queued:
            time.sleep(0.001)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        publish_cpu = _thread_cpu(self.publisher.thread) - pub_cpu0
        got = self.subscriber.collect(prefix, judgements[0])
        stats = pipeline.stats()
        audio_s = stats.audio_s
        verifier_stats = stats.verifier
        stage = dict(pipeline.stage_seconds)
        stage["publish"] = publish_cpu
        stage["other"] = max(0.0, cpu - sum(stage.values()))
        thread_cpu["publisher"] = publish_cpu
        thread_cpu["sources and rest"] = max(0.0, cpu - sum(thread_cpu.values()))
        stage_us = {k: v * 1e6 / audio_s if audio_s else math.nan for k, v in stage.items()}
        cascade: dict[str, Any] = {}
        if verifier is not None:
            utterances = len(verdict_scores)
            assert verifier_stats is not None
            verifier_cpu = verifier_stats.cpu_s  # the worker's own clock: exact even for short runs
            cascade = {
                "gate": gate, "utterances": utterances, "gated": verifier_stats.gated,
                "gated_share": verifier_stats.gated / utterances if utterances else math.nan,
                "checks": verifier_stats.checks,
                "verified": verifier_stats.verified, "queue_full": verifier_stats.queue_full,
                "verifier_cpu_s": verifier_cpu,
                "verifier_us_per_audio_s": verifier_cpu * 1e6 / audio_s if audio_s else math.nan,
                "verdict_latency_ms": _latency_summary(verifier_latency, "verdicts"),
                "queue_and_score_ms": {"p50": verifier_stats.ms_p50, "p99": verifier_stats.ms_p99},
            }
        if stats.voice is not None:
            cascade["voices"] = {"checks": stats.voice.checks, "checked": stats.voice.checked,
                                 "queue_full": stats.voice.queue_full, "cpu_s": stats.voice.cpu_s,
                                 "us_per_audio_s": stats.voice.cpu_s * 1e6 / audio_s if audio_s else math.nan}
        return RunResult(streams, realtime, audio_s, stats.speech_s, wall, cpu, stats.windows_scored,
                         stats.batches, judgements[0], len(got["latency_ms"]), got["seq_gaps"],
                         stats.dropped_s, stage_us, thread_cpu, peak_rss_mb(), got["latency_ms"], verdict_scores,
                         cascade)


# ----------------------------------------------------------------------------------------------- INT8
def quantize_model(model_path: Path, out_dir: Path) -> Path:
    """quantize_dynamic (INT8 weights, activations quantised on the fly) with a copy of the card."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from voxwatch.pipeline.stages.cards import card_path, file_sha256

    out = out_dir / "int8.onnx"
    quantize_dynamic(str(model_path), str(out), weight_type=QuantType.QInt8)
    data = json.loads(card_path(model_path).read_text())
    data["onnx_sha256"] = file_sha256(out)
    data["model_id"] = f"{data.get('model_id', 'model')}-int8dyn"
    card_path(out).write_text(json.dumps(data, indent=2))
    return out


def inference_us_per_window(classifier, n_frames: int, n_features: int, batch: int, seconds: float) -> float:
    """Median µs per window of full batches of random features (inference only)."""
    x = np.random.default_rng(0).standard_normal((batch, n_frames, n_features)).astype(np.float32)
    classifier.score(x)
    times: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        t0 = time.process_time()
        classifier.score(x)
        times.append((time.process_time() - t0) * 1e6 / batch)
    return float(statistics.median(times))


def machine_info() -> dict[str, Any]:
    import onnxruntime

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "onnxruntime": onnxruntime.__version__, "platform": platform.platform()}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_run(runs: list[RunResult]) -> dict[str, Any]:
    summaries = [r.summary() for r in runs]
    by_rtf = sorted(summaries, key=lambda s: s["rtf_per_core"])
    median = dict(by_rtf[len(by_rtf) // 2])
    median["rtf_per_core_runs"] = [s["rtf_per_core"] for s in summaries]
    median["stage_us"] = {k: float(statistics.median(s["stage_us"][k] for s in summaries))
                          for k in summaries[0]["stage_us"]}
    return median


def card_eer(model_path: Path) -> float | None:
    """The dev EER a model card records (``metrics.dev.eer``), if any."""
    from voxwatch.pipeline.stages.cards import card_path

    try:
        return float(json.loads(card_path(model_path).read_text())["metrics"]["dev"]["eer"])
    except (OSError, KeyError, TypeError, ValueError):
        return None


def int8_comparison(args, bench: Bench, classifier, model_path: Path, settings, streams: int, seconds: float,
               repeat: int, classifier_type) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="voxwatch-bench-") as tmp:
        bundled_int8 = model_path.with_name("default-int8.onnx")
        if args.int8_model:
            q_path, method = Path(args.int8_model), "given model"
        elif model_path.name == "default.onnx" and bundled_int8.is_file():
            q_path, method = bundled_int8, "bundled default-int8.onnx"
        else:
            q_path, method = quantize_model(model_path, Path(tmp)), "quantize_dynamic, QInt8 weights"
        quant = classifier_type(q_path, settings.features, settings.window.window_s, args.threads)
        n_frames, n_features = classifier.card.n_frames, settings.features.n_features
        budget = 0.5 if args.short else 3.0
        f_us = inference_us_per_window(classifier, n_frames, n_features, settings.max_batch, budget)
        q_us = inference_us_per_window(quant, n_frames, n_features, settings.max_batch, budget)
        x = np.random.default_rng(1).standard_normal((256, n_frames, n_features)).astype(np.float32)
        size = settings.max_batch  # the pipeline's batch size: larger batches would grow onnxruntime's arena (RSS)
        change = max(float(np.abs(classifier.score(x[i : i + size]) - quant.score(x[i : i + size])).max())
                     for i in range(0, len(x), size))
        out: dict[str, Any] = {"method": method, "model_id": quant.model_id, "float_us_per_window": f_us,
                               "int8_us_per_window": q_us, "inference_speedup": f_us / q_us if q_us else math.nan,
                               "max_abs_score_change": change, "float_dev_eer": card_eer(model_path),
                               "int8_dev_eer": card_eer(q_path)}
        f_runs = [bench.run(classifier, streams, seconds, realtime=False) for _ in range(repeat)]
        q_runs = [bench.run(quant, streams, seconds, realtime=False) for _ in range(repeat)]
        f_rtf = median_run(f_runs)["rtf_per_core"]
        q_rtf = median_run(q_runs)["rtf_per_core"]
        out.update(float_rtf_per_core=f_rtf, int8_rtf_per_core=q_rtf, pipeline_speedup=q_rtf / f_rtf)
        return out


# ----------------------------------------------------------------------------------------------- cascade
def gate_for_share(filter_scores: list[float], share: float) -> float:
    """A gate on the filter's utterance score that lets about ``share`` of these utterances through (the
    benchmark's way of forcing the gated share on audio whose scores it cannot choose)."""
    if share <= 0 or not filter_scores:
        return 1.0
    return float(np.quantile(np.asarray(filter_scores, dtype=float), 1.0 - share))


def cascade_runs(bench: Bench, classifier, verifier, filter_scores: list[float], shares: list[float],
                 streams: int, seconds: float, repeat: int, latency_streams: int, latency_seconds: float,
                 latency_share: float) -> dict[str, Any]:
    """The cascade's cost at each forced gated share (fed as fast as taken), and the verifier's latency at
    ``latency_streams`` real-time streams with ``latency_share`` of utterances gated."""
    out: dict[str, Any] = {"verifier": verifier.model_id, "throughput": []}
    for share in shares:
        gate = gate_for_share(filter_scores, share)
        runs = [bench.run(classifier, streams, seconds, realtime=False, verifier=verifier, gate=gate)
                for _ in range(repeat)]
        median = median_run(runs)
        out["throughput"].append({"forced_share": share, **median})
    if latency_streams > 0:
        gate = gate_for_share(filter_scores, latency_share)
        run = bench.run(classifier, latency_streams, latency_seconds, realtime=True, verifier=verifier, gate=gate)
        out["latency"] = {"forced_share": latency_share, **run.summary()}
    return out
