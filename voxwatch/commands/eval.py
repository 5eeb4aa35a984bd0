"""``voxwatch eval --data PATH [--model PATH] --report DIR``: metrics + Markdown report (onnxruntime, no torch)."""

from __future__ import annotations

import argparse

HELP = "evaluate an ONNX model on a labelled dataset split: EER, ROC, per-source results, Markdown report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.training.datasets import FORMATS

    parser.add_argument("--data", required=True, metavar="PATH", help="dataset folder (see README: Training)")
    parser.add_argument("--model", metavar="PATH", help="ONNX model with its .json card (default: bundled model)")
    parser.add_argument("--report", required=True, metavar="DIR", help="folder for report.md, metrics.json, PNGs")
    parser.add_argument("--config", metavar="PATH", help="TOML config (window, VAD, aggregate; features checked)")
    parser.add_argument("--format", default="auto", choices=FORMATS, help="dataset layout (default: auto)")
    parser.add_argument("--split", default="test", choices=("train", "dev", "test", "all"),
                        help="which split to evaluate (default: test)")
    parser.add_argument("--telephone", action="store_true",
                        help="also evaluate with every clip band-limited to 8 kHz sampling (bandwidth check)")
    parser.add_argument("--workers", type=int, default=0, help="feature extraction processes (0: CPU count)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from voxwatch.config import load_config
    from voxwatch.model_loading import resolve_model
    from voxwatch.pipeline.classifier import OnnxClassifier
    from voxwatch.training.datasets import DatasetError, load_dataset, select
    from voxwatch.training.evaluate import Condition, score_clips, summarize_scores, write_report

    config = load_config(args.config)
    settings = config.pipeline
    model_path = resolve_model(args.model, config)
    classifier = OnnxClassifier(model_path, settings.features if args.config else None,
                                settings.window.window_s if args.config else None)
    window = settings.window if args.config else type(settings.window)(window_s=classifier.card.window_s)
    clips = load_dataset(args.data, args.format)
    if args.split != "all":
        clips = select(clips, args.split)
    if len({c.label for c in clips}) < 2:
        raise DatasetError(f"split {args.split!r} of {args.data} needs clips of both classes")
    conditions = []
    passes = [("clean", 0)] + ([("telephone-8k", 8000)] if args.telephone else [])
    for name, bandlimit in passes:
        scores = score_clips(classifier, clips, window, settings.vad, settings.decision.aggregate, bandlimit,
                             args.workers or None)
        conditions.append(Condition(name, scores, summarize_scores(clips, scores, classifier.threshold)))
    report = write_report(Path(args.report), classifier.model_id, str(args.data), args.split, clips, conditions)
    for c in conditions:
        s = c.summary
        print(f"{c.name}: EER {100 * s['eer']:.2f}%  ROC-AUC {s['roc_auc']:.4f}  accuracy {100 * s['accuracy']:.2f}% "
              f"at threshold {s['threshold']:.4f}  ({s['real']} real / {s['fake']} fake clips)")
    print(f"report: {report}")
    return 0
