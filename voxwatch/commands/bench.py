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
* the cascade (with a verifier: ``--verifier``, else ``[verifier]``/the bundled one): throughput and cost per
  audio second with ``--gated`` shares of utterances sent to the verifier (the share is forced by setting the gate
  at that quantile of the filter's utterance scores from the first throughput run), the verifier thread's own
  cost, and at ``--streams`` real-time streams with 10% gated the verifier's latency: from reading an
  utterance's end to its verifier verdict, and its queue plus scoring time, p50/p99;
* peak RSS of the process.

``--short`` is the CI mode (a few seconds; the numbers are only checked to be finite). See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from voxwatch.commands.output_paths import OutputFile, write_text

HELP = "benchmark the full pipeline: real-time factor per CPU core, cost per stage, latency, peak RSS"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.commands.common import add_model_arguments

    parser.add_argument("--streams", type=int, default=100, help="concurrent streams of the throughput run (100)")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="audio seconds per stream in the throughput run (60); with --realtime: wall seconds")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (1)")
    add_model_arguments(parser, verifier_help="the cascade's verifier (default: [verifier] model, else the bundled "
                        "one; 'none': skip the cascade part)")
    parser.add_argument("--files", nargs="+", metavar="FILE", help="replay these files (looped) instead of "
                        "generated speech-like audio")
    parser.add_argument("--json", metavar="OUT", action=OutputFile, help="write all results as JSON to OUT")
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
    parser.add_argument("--gated", default="0,10,50", metavar="PCT,PCT,...",
                        help="cascade runs with these percentages of utterances forced through the verifier "
                             "(0,10,50)")
    parser.add_argument("--voices", type=int, default=0, metavar="N",
                        help="also a throughput run with clone watch checking every utterance against N enrolled "
                             "(synthetic) voices, beside the same run without (default 0: none)")
    parser.add_argument("--no-alert-latency", action="store_true",
                        help="skip the alert-latency run (first alert after synthetic speech starts, real time)")
    parser.add_argument("--fake", metavar="FILE",
                        help="synthetic speech for the alert-latency run (default: a monologue from espeak-ng)")
    parser.add_argument("--int8-model", metavar="PATH",
                        help="an INT8 model with its card (default: the bundled default-int8.onnx for the bundled "
                        "model, else --model quantised with quantize_dynamic)")


def run(args: argparse.Namespace) -> int:
    from voxwatch.bench.measure import Bench, cascade_runs, int8_comparison, machine_info, median_run, peak_rss_mb
    from voxwatch.bench.report import print_report
    from voxwatch.bench.workload import audio_pool
    from voxwatch.config import load_config
    from voxwatch.daemon.wiring import load_models
    from voxwatch.errors import VoxwatchError
    from voxwatch.model_loading import resolve_model
    from voxwatch.pipeline.stages.filter.session import OnnxClassifier

    if args.streams <= 0 or args.seconds <= 0 or args.threads <= 0 or args.repeat <= 0:
        raise VoxwatchError("--streams, --seconds, --threads and --repeat must be positive")
    if args.voices < 0:
        raise VoxwatchError("--voices must be >= 0")
    try:
        latency_streams = [int(v) for v in args.latency_streams.split(",") if v.strip()]
    except ValueError:
        raise VoxwatchError(f"--latency-streams: expected numbers like 1,10,100, not {args.latency_streams!r}") \
            from None
    try:
        shares = [float(v) / 100.0 for v in args.gated.split(",") if v.strip()]
    except ValueError:
        raise VoxwatchError(f"--gated: expected percentages like 0,10,50, not {args.gated!r}") from None
    if any(not 0.0 <= s <= 1.0 for s in shares):
        raise VoxwatchError("--gated: percentages must be between 0 and 100")
    config = load_config(args.config)
    if args.threads != config.pipeline.inference_threads:
        import dataclasses

        config = dataclasses.replace(config, pipeline=dataclasses.replace(config.pipeline,
                                                                          inference_threads=args.threads))
    classifier, verifier, config = load_models(config, args.model, args.verifier)  # as voxwatch run loads them
    settings = config.pipeline
    model_path = resolve_model(args.model, config)
    if args.int8_model and not args.no_int8:  # a wrong INT8 model fails now, not after the float runs
        OnnxClassifier(args.int8_model, settings.features, settings.window.window_s)
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
            result["throughput"] = {"streams": streams, "seconds": seconds, **median_run(runs),
                                    "peak_rss_mb": peak_rss_mb()}
            if not args.no_latency:
                result["latency"] = [bench.run(classifier, n, lat_seconds, realtime=True).summary()
                                     for n in latency_streams]
            if verifier is not None and shares:
                result["cascade"] = cascade_runs(bench, classifier, verifier, runs[0].verdict_scores, shares,
                                                 streams, seconds, repeat,
                                                 0 if args.no_latency else streams, lat_seconds, 0.1)
            if args.voices > 0:
                from voxwatch.bench.voices import voice_checker

                checker = voice_checker(args.voices)
                with_voices, plain = [], []
                for _ in range(repeat):  # interleaved: the machine's speed drifts between runs
                    with_voices.append(bench.run(classifier, streams, seconds, False, verifier, voices=checker))
                    plain.append(bench.run(classifier, streams, seconds, False, verifier))
                result["voices"] = {"voices": args.voices, "streams": streams, "seconds": seconds,
                                    "with_voices": median_run(with_voices), "without": median_run(plain),
                                    "checks": [r.cascade.get("voices") for r in with_voices]}
            if not args.no_alert_latency:
                from voxwatch.bench.alert_latency import NO_SYNTHESISER, alert_latency, synthetic_monologue
                from voxwatch.pipeline.sources import load_audio

                fake = load_audio(args.fake) if args.fake else synthetic_monologue()
                if fake is None:
                    print(NO_SYNTHESISER, file=sys.stderr)
                else:
                    result["alert_latency"] = alert_latency(settings, classifier, verifier, fake,
                                                            trials=2 if args.short else 4,
                                                            seconds=8.0 if args.short else 12.0, block_ms=block_ms)
            if not args.no_int8:
                result["int8"] = int8_comparison(args, bench, classifier, model_path, settings, streams,
                                            seconds, repeat, OnnxClassifier)
    finally:
        bench.close()
    result["peak_rss_mb"] = peak_rss_mb()
    print_report(result)
    if args.json:
        write_text(args.json, json.dumps(result, indent=2, default=float) + "\n", "--json")
    return 0
