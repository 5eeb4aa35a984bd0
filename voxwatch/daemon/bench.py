"""``voxwatch bench``: N concurrent streams through the real pipeline, measured.

What runs is what a daemon runs: sources -> ring buffers -> VAD -> windows -> incremental features -> batched
onnxruntime -> decision -> ``EventPublisher`` (ZeroMQ XPUB on loopback) -> a live subscriber in a separate process
(so its own cost is not charged to the pipeline). Audio is generated (a speech-like signal with pauses, so VAD,
utterances, verdicts and alerts all happen) or taken from ``--files``.

Reported (Rich table, and JSON with ``--json``):

* throughput as a real-time factor per CPU core: audio seconds / process CPU seconds (``time.process_time``,
  every thread of this process: sources, front worker, inference worker, publisher), the median of ``--repeat``
  runs at ``--streams`` streams fed as fast as the pipeline takes them;
* the cost split by stage in microseconds per audio second (``Pipeline.stage_seconds`` for VAD, features,
  inference and decision; the publisher thread's own CPU clock for publish; "other" is the rest of the process's
  CPU time: source threads, ring buffers, queues, the front worker's loop);
* latency from the moment the pipeline reads the audio that completes a window (or an utterance) to the publish
  of its event (the events' ``latency_ms``), p50/p99/max, at 1, 10 and 100 streams paced in real time, and the
  share of one core that a single real-time stream costs;
* INT8 next to float: ``--int8-model``, else the bundled ``default-int8.onnx`` when the float model is the bundled
  default, else the float model quantised here with ``onnxruntime.quantization.quantize_dynamic``: inference-only
  speed-up on full batches, full-pipeline throughput, and the dev EER of both as their model cards record it;
* peak RSS of the process.

``--short`` is the CI mode (a few seconds; the numbers are only checked to be finite). See README, Performance.
"""

from __future__ import annotations

import argparse
import json
import logging
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

HELP = "benchmark the full pipeline: real-time factor per CPU core, cost per stage, latency, peak RSS"
log = logging.getLogger(__name__)
SR = 16000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--streams", type=int, default=100, help="concurrent streams of the throughput run (100)")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="audio seconds per stream in the throughput run (60); with --realtime: wall seconds")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (1)")
    parser.add_argument("--model", metavar="PATH", help="ONNX model with its .json card (default: bundled model)")
    parser.add_argument("--config", metavar="PATH", help="TOML config (default: built-in)")
    parser.add_argument("--files", nargs="+", metavar="FILE", help="replay these files (looped) instead of "
                        "generated speech-like audio")
    parser.add_argument("--json", metavar="OUT", help="write all results as JSON to OUT")
    parser.add_argument("--realtime", action="store_true",
                        help="only one real-time paced run at --streams streams for --seconds (latency, CPU share)")
    parser.add_argument("--short", action="store_true", help="CI mode: tiny runs of every part (a few seconds)")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs; the median is reported (3)")
    parser.add_argument("--latency-streams", default="1,10,100", metavar="N,N,...",
                        help="stream counts of the real-time latency runs (1,10,100)")
    parser.add_argument("--latency-seconds", type=float, default=20.0,
                        help="wall seconds of each real-time latency run (20)")
    parser.add_argument("--block-ms", type=int, metavar="MS",
                        help="real-time runs: block size of the simulated capture (default: [capture] block_ms)")
    parser.add_argument("--no-latency", action="store_true", help="skip the real-time latency runs")
    parser.add_argument("--no-int8", action="store_true", help="skip the INT8 comparison")
    parser.add_argument("--int8-model", metavar="PATH",
                        help="an INT8 model with its card (default: the bundled default-int8.onnx for the bundled "
                        "model, else --model quantised with quantize_dynamic)")


# ----------------------------------------------------------------------------------------------- audio
def speech_like(seconds: float, level: float = 0.3, seed: int = 0, f0: float = 140.0) -> np.ndarray:
    """A voiced, syllable-modulated harmonic signal that webrtcvad takes for speech (as in tests/helpers)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    pitch = f0 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, np.pi))
    x = voiced * envelope + rng.standard_normal(len(t)) * 0.02
    return (level * x / np.abs(x).max()).astype(np.float32)


def conversation(seconds: float, seed: int = 0) -> np.ndarray:
    """Utterances of 1.5-6 s (varying pitch and level) separated by 0.6-1.5 s of faint noise."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    total = 0
    while total < seconds * SR:
        speech = speech_like(rng.uniform(1.5, 6.0), level=rng.uniform(0.05, 0.5), seed=int(rng.integers(1 << 30)),
                             f0=rng.uniform(90, 240))
        pause = (rng.standard_normal(int(rng.uniform(0.6, 1.5) * SR)) * 0.0005).astype(np.float32)
        parts += [speech, pause]
        total += len(speech) + len(pause)
    return np.concatenate(parts)[: int(seconds * SR)]


def audio_pool(files: list[str] | None, seconds: float = 120.0) -> np.ndarray:
    """One long signal that every stream loops through, each from its own offset (memory stays small)."""
    if files:
        from voxwatch.pipeline.sources import load_audio

        pause = np.zeros(SR // 2, dtype=np.float32)
        return np.concatenate([x for f in files for x in (load_audio(f), pause)])
    return conversation(seconds, seed=1234)


class LoopSource:
    """A stream that plays ``samples`` samples of ``pool`` from ``offset`` (wrapping), paced or as fast as taken.

    Fast mode fills the ring and sleeps 50 ms whenever less than half of it is free (nothing is dropped,
    and feeding costs little, so the figures are the pipeline's); real-time mode writes ``block_ms`` blocks on the
    clock (like a capture callback; the bench passes ``[capture] block_ms`` or ``--block-ms``).
    """

    def __init__(self, pool: np.ndarray, offset: int, samples: int, realtime: bool, block_ms: int = 20) -> None:
        self.pool = pool
        self.offset = offset % len(pool)
        self.samples = samples
        self.realtime = realtime
        self.block = SR * block_ms // 1000
        self.description = f"bench:{offset}"

    def _chunk(self, position: int, n: int) -> np.ndarray:
        start = (self.offset + position) % len(self.pool)
        if start + n <= len(self.pool):
            return self.pool[start : start + n]
        return np.take(self.pool, np.arange(start, start + n), mode="wrap")

    def run(self, ring, stop: threading.Event, report) -> None:  # noqa: ARG002 (Source protocol)
        position = 0
        t0 = time.monotonic()
        while position < self.samples and not stop.is_set():
            if self.realtime:
                delay = t0 + position / SR - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # a plain sleep costs a third of Event.wait's CPU (stop is checked per block)
                n = min(self.block, self.samples - position)
            else:
                free = ring.free()
                if free < ring.capacity // 2 and free < self.samples - position:
                    stop.wait(0.05)
                    continue
                n = min(free, self.samples - position)
            ring.write(self._chunk(position, n))
            position += n


# ----------------------------------------------------------------------------------------------- subscriber
def _subscriber_main(url: str) -> None:
    """Child process: a ZeroMQ SUB that records judgement events per run prefix; requests come on stdin.

    A request line is JSON ``[prefix, expected, timeout_s]``; the answer (one JSON line on stdout) comes once
    ``expected`` alert/verdict events of streams ``PREFIX-*`` have arrived, or at the timeout. EOF ends it.
    """
    import zmq

    sock = zmq.Context().socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.connect(url)
    sock.setsockopt(zmq.SUBSCRIBE, b"voxwatch.")
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(sys.stdin.fileno(), zmq.POLLIN)
    runs: dict[str, dict[str, Any]] = {}
    last_seq = None
    gaps = 0
    pending: tuple[str, int, float] | None = None
    print("ready", flush=True)
    while True:
        ready = dict(poller.poll(20))
        while sock.poll(0):
            _topic, body = sock.recv_multipart()
            event = json.loads(body)
            seq = event.get("seq")
            if last_seq is not None and seq != last_seq + 1:
                gaps += 1
            last_seq = seq
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
                print(json.dumps({**run, "seq_gaps": gaps}), flush=True)
                runs.pop(prefix, None)
                pending = None
    sock.close(0)


class Subscriber:
    """The live subscriber: a separate Python process, so its cost is not charged to the pipeline."""

    def __init__(self, url: str) -> None:
        import subprocess

        code = f"from voxwatch.daemon.bench import _subscriber_main; _subscriber_main({url!r})"
        self._proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, bufsize=1)
        if self._proc.stdout.readline().strip() != "ready":
            raise RuntimeError("benchmark subscriber did not start")

    def collect(self, prefix: str, expected: int, timeout: float = 10.0) -> dict[str, Any]:
        self._proc.stdin.write(json.dumps([prefix, expected, timeout]) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("benchmark subscriber died")
        return json.loads(line)

    def close(self) -> None:
        try:
            self._proc.stdin.close()
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

    @property
    def rtf_per_core(self) -> float:
        return self.audio_s / self.cpu_s if self.cpu_s > 0 else math.inf

    def summary(self) -> dict[str, Any]:
        lat = np.asarray(self.latency_ms, dtype=float)
        out = {k: v for k, v in self.__dict__.items() if k != "latency_ms"}
        out["rtf_per_core"] = self.rtf_per_core
        out["rtf_wall"] = self.audio_s / self.wall_s if self.wall_s > 0 else math.inf
        out["cpu_share_per_stream"] = self.cpu_s / self.wall_s / self.streams if self.wall_s > 0 else math.nan
        out["latency_ms"] = ({"p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)),
                              "max": float(lat.max()), "events": int(lat.size)} if lat.size else None)
        return out


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
        from voxwatch.daemon.publisher import EventPublisher

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

    def run(self, classifier, streams: int, seconds: float, realtime: bool) -> RunResult:
        from voxwatch.pipeline.runner import JudgementEvent, Pipeline

        self._runs += 1
        prefix = f"r{self._runs}"
        if id(classifier) not in self._warm:
            # a long-running daemon has long grown onnxruntime's arena to full batches; do that before measuring
            self._warm.add(id(classifier))
            classifier.score(np.zeros((self.settings.max_batch, classifier.card.n_frames,
                                       self.settings.features.n_features), dtype=np.float32))
        judgements = [0]

        def emit(event) -> None:
            if isinstance(event, JudgementEvent):
                judgements[0] += 1
                self.publisher.submit(event)

        pipeline = Pipeline(self.settings, classifier, emit)
        self.publisher.attach_stats(pipeline.stats)
        samples = int(seconds * SR)
        stride = len(self.pool) // max(1, streams)
        pub_cpu0 = _thread_cpu(self.publisher._thread)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        pipeline.start()
        for i in range(streams):
            # live streams do not all end at the same instant: ends are spread over the last 10% of a real-time
            # run (else the final windows and verdicts of every stream would form one burst, unlike live audio)
            length = samples + (int(0.1 * samples * i / streams) if realtime else 0)
            pipeline.add_stream(f"{prefix}-s{i}", LoopSource(self.pool, i * stride + i * 977, length, realtime,
                                                                        self.block_ms))
        # real-time runs idle at their end, so a slow sampler loses nothing there and costs the run less
        clock = ThreadClock({"front": [pipeline._front], "inference": [pipeline._infer]}, 1.0 if realtime else 0.1)
        pipeline.finish()
        thread_cpu = clock.stop()
        while self.publisher._queue.qsize():
            time.sleep(0.001)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        publish_cpu = _thread_cpu(self.publisher._thread) - pub_cpu0
        got = self.subscriber.collect(prefix, judgements[0])
        stats = pipeline.stats()
        audio_s = stats["audio_s"]
        stage = dict(pipeline.stage_seconds)
        stage["publish"] = publish_cpu
        stage["other"] = max(0.0, cpu - sum(stage.values()))
        thread_cpu["publisher"] = publish_cpu
        thread_cpu["sources and rest"] = max(0.0, cpu - sum(thread_cpu.values()))
        stage_us = {k: v * 1e6 / audio_s if audio_s else math.nan for k, v in stage.items()}
        return RunResult(streams, realtime, audio_s, stats["speech_s"], wall, cpu, stats["windows_scored"],
                         stats["batches"], judgements[0], len(got["latency_ms"]), got["seq_gaps"],
                         stats["dropped_s"], stage_us, thread_cpu, peak_rss_mb(), got["latency_ms"])


# ----------------------------------------------------------------------------------------------- INT8
def quantize_model(model_path: Path, out_dir: Path) -> Path:
    """quantize_dynamic (INT8 weights, activations quantised on the fly) with a copy of the card."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from voxwatch.models.card import card_path, file_sha256

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
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        t0 = time.process_time()
        classifier.score(x)
        times.append((time.process_time() - t0) * 1e6 / batch)
    return float(statistics.median(times))


# ----------------------------------------------------------------------------------------------- report
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


def _median_run(runs: list[RunResult]) -> dict[str, Any]:
    summaries = [r.summary() for r in runs]
    by_rtf = sorted(summaries, key=lambda s: s["rtf_per_core"])
    median = dict(by_rtf[len(by_rtf) // 2])
    median["rtf_per_core_runs"] = [s["rtf_per_core"] for s in summaries]
    median["stage_us"] = {k: float(statistics.median(s["stage_us"][k] for s in summaries))
                          for k in summaries[0]["stage_us"]}
    return median


def print_report(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    m = result["machine"]
    console.print(f"[bold]voxwatch bench[/] — {m['cpu']} ({m['cores']} cores), model {result['model']['id']}, "
                  f"onnxruntime {m['onnxruntime']} ({result['threads']} intra-op thread(s))")
    tp = result.get("throughput")
    if tp:
        table = Table(title=f"Throughput: {tp['streams']} streams x {tp['seconds']:g} s of audio, fed as fast "
                            f"as taken (median of {len(tp['rtf_per_core_runs'])})")
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_row("real-time factor per CPU core", f"{tp['rtf_per_core']:.0f}x  "
                      f"(runs: {', '.join(f'{v:.0f}' for v in tp['rtf_per_core_runs'])})")
        table.add_row("real-time factor, wall clock", f"{tp['rtf_wall']:.0f}x")
        table.add_row("audio / speech / CPU / wall", f"{tp['audio_s']:.0f} s / {tp['speech_s']:.0f} s / "
                      f"{tp['cpu_s']:.2f} s / {tp['wall_s']:.2f} s")
        table.add_row("windows / batches", f"{tp['windows']} / {tp['batches']} "
                      f"({tp['windows'] / max(1, tp['batches']):.1f} per batch)")
        table.add_row("events received / seq gaps", f"{tp['received']} of {tp['judgements']} / {tp['seq_gaps']}")
        for stage, us in tp["stage_us"].items():
            table.add_row(f"  {stage} (µs per audio s)", f"{us:.1f}")
        table.add_row("  total (µs per audio s)", f"{sum(tp['stage_us'].values()):.1f}")
        table.add_row("CPU by thread (s)", ", ".join(f"{k} {v:.2f}" for k, v in tp["thread_cpu_s"].items()))
        console.print(table)
    if result.get("latency"):
        table = Table(title="Real-time pacing: latency from reading a window's last sample to its event's publish")
        for col in ("streams", "p50 ms", "p99 ms", "max ms", "events", "CPU share of a core", "per stream",
                    "dropped s"):
            table.add_column(col, justify="right")
        for run in result["latency"]:
            lat = run["latency_ms"] or {"p50": math.nan, "p99": math.nan, "max": math.nan, "events": 0}
            table.add_row(str(run["streams"]), f"{lat['p50']:.2f}", f"{lat['p99']:.2f}", f"{lat['max']:.2f}",
                          str(lat["events"]), f"{100 * run['cpu_s'] / run['wall_s']:.2f}%",
                          f"{100 * run['cpu_share_per_stream']:.3f}%", f"{run['dropped_s']:.2f}")
        console.print(table)
    q = result.get("int8")
    if q:
        table = Table(title=f"INT8 ({q['method']}) vs float")
        table.add_column("measure")
        table.add_column("float", justify="right")
        table.add_column("int8", justify="right")
        table.add_column("speed-up", justify="right")
        table.add_row("inference µs per window (batch 64)", f"{q['float_us_per_window']:.1f}",
                      f"{q['int8_us_per_window']:.1f}", f"{q['inference_speedup']:.2f}x")
        if q.get("int8_rtf_per_core"):
            table.add_row("pipeline RTF per core", f"{q['float_rtf_per_core']:.0f}x",
                          f"{q['int8_rtf_per_core']:.0f}x", f"{q['pipeline_speedup']:.2f}x")
        table.add_row("max |score change|, 256 random windows", "", f"{q['max_abs_score_change']:.4f}", "")
        if q.get("float_dev_eer") is not None and q.get("int8_dev_eer") is not None:
            f_eer, q_eer = q["float_dev_eer"], q["int8_dev_eer"]
            table.add_row("dev EER (model cards)", f"{100 * f_eer:.2f}%", f"{100 * q_eer:.2f}%",
                          f"{100 * (q_eer - f_eer):+.2f} points")
        console.print(table)
    rss = f"peak RSS: {result['peak_rss_mb']:.0f} MB"
    if tp:
        rss += f" ({tp['peak_rss_mb']:.0f} MB after the throughput runs, before the real-time and INT8 parts)"
    console.print(rss)


# ----------------------------------------------------------------------------------------------- command
def run(args: argparse.Namespace) -> int:
    from voxwatch.config import load_config
    from voxwatch.daemon.app import load_classifier, resolve_model
    from voxwatch.errors import VoxwatchError
    from voxwatch.pipeline.classifier import OnnxClassifier

    if args.streams <= 0 or args.seconds <= 0 or args.threads <= 0 or args.repeat <= 0:
        raise VoxwatchError("--streams, --seconds, --threads and --repeat must be positive")
    try:
        latency_streams = [int(v) for v in args.latency_streams.split(",") if v.strip()]
    except ValueError:
        raise VoxwatchError(f"--latency-streams: expected numbers like 1,10,100, not {args.latency_streams!r}") \
            from None
    config = load_config(args.config)
    settings = config.pipeline
    if args.threads != settings.inference_threads:
        import dataclasses

        settings = dataclasses.replace(settings, inference_threads=args.threads)
        config = dataclasses.replace(config, pipeline=settings)
    classifier = load_classifier(args.model, config)
    model_path = resolve_model(args.model, config)
    streams, seconds, repeat, lat_seconds = args.streams, args.seconds, args.repeat, args.latency_seconds
    if args.short:
        streams, seconds, repeat, lat_seconds = min(streams, 4), min(seconds, 6.0), 1, 2.0
        latency_streams = [1, 2]
    pool = audio_pool(args.files, seconds=30.0 if args.short else 120.0)
    result: dict[str, Any] = {
        "command": "voxwatch bench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else " ".join(sys.argv),
        "machine": machine_info(),
        "model": {"id": classifier.model_id, "path": str(model_path), "sha256": classifier.sha256},
        "threads": args.threads,
        "audio": "files: " + ", ".join(args.files) if args.files else "generated speech-like conversation",
    }
    block_ms = config.capture.block_ms if args.block_ms is None else args.block_ms
    if block_ms <= 0:
        raise VoxwatchError("--block-ms must be positive")
    result["block_ms"] = block_ms
    bench = Bench(settings, pool, block_ms)
    try:
        if args.realtime:
            run_rt = bench.run(classifier, streams, seconds, realtime=True)
            result["latency"] = [run_rt.summary()]
        else:
            runs = [bench.run(classifier, streams, seconds, realtime=False) for _ in range(repeat)]
            result["throughput"] = {"streams": streams, "seconds": seconds, **_median_run(runs),
                                    "peak_rss_mb": peak_rss_mb()}
            if not args.no_latency:
                result["latency"] = [bench.run(classifier, n, lat_seconds, realtime=True).summary()
                                     for n in latency_streams]
            if not args.no_int8:
                result["int8"] = _int8_part(args, bench, classifier, model_path, settings, streams,
                                            seconds, repeat, OnnxClassifier)
    finally:
        bench.close()
    result["peak_rss_mb"] = peak_rss_mb()
    print_report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=float) + "\n")
    return 0


def _card_eer(model_path: Path) -> float | None:
    """The dev EER a model card records (``metrics.dev.eer``), if any."""
    from voxwatch.models.card import card_path

    try:
        return float(json.loads(card_path(model_path).read_text())["metrics"]["dev"]["eer"])
    except (OSError, KeyError, TypeError, ValueError):
        return None


def _int8_part(args, bench: Bench, classifier, model_path: Path, settings, streams: int, seconds: float,
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
                               "max_abs_score_change": change, "float_dev_eer": _card_eer(model_path),
                               "int8_dev_eer": _card_eer(q_path)}
        f_runs = [bench.run(classifier, streams, seconds, realtime=False) for _ in range(repeat)]
        q_runs = [bench.run(quant, streams, seconds, realtime=False) for _ in range(repeat)]
        f_rtf = _median_run(f_runs)["rtf_per_core"]
        q_rtf = _median_run(q_runs)["rtf_per_core"]
        out.update(float_rtf_per_core=f_rtf, int8_rtf_per_core=q_rtf, pipeline_speedup=q_rtf / f_rtf)
        return out
