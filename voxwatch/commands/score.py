"""``voxwatch score FILE...``: offline scoring of whole files through the same stages, no sockets.

One line per file: the file score is the aggregate (``decision.aggregate``) of its utterances' scores (each of
which aggregates that utterance's windows, as the daemon does); the verdict compares it with the threshold.
Files in which the VAD found no scorable speech say ``no-speech``.
"""

from __future__ import annotations

import argparse
import json
import sys

HELP = "score whole files offline (same stages as the daemon, no sockets), one line per file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, OGG; any rate/channels)")
    parser.add_argument("--config", metavar="PATH", help="TOML config (default: built-in)")
    parser.add_argument("--model", metavar="PATH", help="ONNX model with its .json card (default: bundled model)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def run(args: argparse.Namespace) -> int:
    from voxwatch.commands.common import unique_stream_ids
    from voxwatch.commands.summary import SummaryCollector
    from voxwatch.config import load_config
    from voxwatch.model_loading import load_classifier
    from voxwatch.pipeline.decision import aggregate_scores
    from voxwatch.pipeline.runner import Pipeline, fan_out
    from voxwatch.pipeline.sources import WavReplaySource

    config = load_config(args.config)
    classifier = load_classifier(args.model, config)
    collector = SummaryCollector()
    pipeline = Pipeline(config.pipeline, classifier, fan_out(collector))
    pipeline.start()
    ids = unique_stream_ids(args.files)
    for stream_id, path in zip(ids, args.files, strict=True):
        pipeline.add_stream(stream_id, WavReplaySource(path, realtime=False))
    pipeline.finish()
    how = pipeline.settings.decision.aggregate
    failed = 0
    for stream_id, path in zip(ids, args.files, strict=True):
        summary = collector.streams[stream_id]
        if summary.state == "error":
            failed += 1
            print(f"voxwatch: error: {summary.detail}", file=sys.stderr)
            continue
        scores = summary.scores
        score = aggregate_scores(scores, how) if scores else None
        verdict = "no-speech" if score is None else ("fake" if score >= pipeline.threshold else "real")
        record = {"file": path, "score": None if score is None else round(score, 4), "verdict": verdict,
                  "utterances": summary.utterances, "fake_utterances": summary.fake,
                  "threshold": round(pipeline.threshold, 4), "model": classifier.model_id}
        if args.json:
            print(json.dumps(record))
        else:
            shown = "-" if score is None else f"{score:.4f}"
            print(f"{path}\t{verdict}\tscore={shown}\tutterances={summary.utterances}\tfake={summary.fake}")
    return 1 if failed else 0
