"""``voxwatch eval --data PATH [--data PATH2] [--model PATH] --report DIR``: metrics + Markdown report, each set
apart (onnxruntime and ``Detector``, no torch). ``voxwatch eval --voices --data PATH``: clone watch's
person-of-interest protocol instead (``voxwatch.commands.eval_voices``)."""

from __future__ import annotations

import argparse

from voxwatch.commands.output_paths import OutputFolder

HELP = ("evaluate a model on labelled dataset splits: false alarms per hour and fakes caught by the daemon's rules, "
        "EER, per-source results, Markdown report")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.commands.common import add_model_arguments
    from voxwatch.training.datasets import FORMATS

    parser.add_argument("--data", required=True, action="append", metavar="PATH",
                        help="dataset folder (layouts: docs/training.md); repeat for several sets, each reported apart")
    parser.add_argument("--budget", type=float, default=None, metavar="FA_PER_HOUR",
                        help="report each curve's best catch rate within this many false alarms per hour of real "
                             "speech (default 2; with --voices: false clone alarms per hour of held-out genuine "
                             "speech, default 1)")
    parser.add_argument("--report", metavar="DIR", action=OutputFolder,
                        help="folder for report.md, metrics.json, PNGs (required, except with --voices)")
    add_model_arguments(parser, "TOML config: window, VAD and [decision] rules (threshold, aggregate, early "
                                "alerts, min_alert_s, refractory); [features], if set, checked against the model",
                        "the cascade's verifier (default: [verifier] model, else the bundled one; 'none': the filter "
                        "alone). With one, every set is reported twice: filter alone and cascade")
    parser.add_argument("--format", default="auto", choices=FORMATS, help="dataset layout (default: auto)")
    parser.add_argument("--split", default="test", choices=("train", "dev", "test", "all"),
                        help="which split to evaluate (default: test)")
    parser.add_argument("--telephone", action="store_true",
                        help="also evaluate with every clip band-limited to 8 kHz sampling (bandwidth check); "
                             "with --voices: the held-out genuine clips also through every telephone codec chain "
                             "(ffmpeg)")
    parser.add_argument("--workers", type=int, default=0, help="feature extraction processes (0: CPU count)")
    parser.add_argument("--write-card", action="store_true",
                        help="store each set's daemon-path operating curve (clean) and headline figures in the "
                             "model's .json card (and the cascade's in the verifier's), where 'voxwatch "
                             "calibrate' reads what a threshold costs")
    from voxwatch.commands.eval_voices import add_voice_arguments

    add_voice_arguments(parser)


def set_names(paths: list[str]) -> list[str]:
    """Short unique names for the report: each dataset folder's name (``corpus``, ``extra``; ``-2`` etc. on
    clashes)."""
    from pathlib import Path

    names: list[str] = []
    for path in paths:
        base = Path(path).name or Path(path).resolve().name or "data"
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from voxwatch.config import load_config
    from voxwatch.detector import Detector
    from voxwatch.errors import VoxwatchError
    from voxwatch.model_loading import load_model, load_verifier, resolve_model
    from voxwatch.pipeline.cascade import resolve_rule
    from voxwatch.training import alarms
    from voxwatch.training.datasets import DatasetError, load_dataset, select
    from voxwatch.training.evaluate import Condition, SetResult, headline, score_clips, summarize_scores, write_report

    if args.voices:
        from voxwatch.commands.eval_voices import run_voices

        return run_voices(args)
    if not args.report:
        raise VoxwatchError("eval: --report DIR is required (except with --voices)")
    budget = 2.0 if args.budget is None else args.budget
    config = load_config(args.config)
    model_path = resolve_model(args.model, config)
    classifier, config = load_model(str(model_path), config)  # the card's features and window unless it sets them
    settings = config.pipeline
    detector = Detector(model=model_path, config=config, verifier="none")  # traces: the filter's scores
    verifier = load_verifier(config, args.verifier, classifier.sha256)
    rule = (resolve_rule(replace(settings.verifier, enabled=True), verifier.card)
            if verifier is not None else None)
    trained_on = set(classifier.card.training.get("splits", {}).get("train", {}).get("sources", {}))
    results = []
    for name, path in zip(set_names(args.data), args.data, strict=True):
        clips = load_dataset(path, args.format)
        if args.split != "all":
            clips = select(clips, args.split)
        if len({c.label for c in clips}) < 2:
            raise DatasetError(f"split {args.split!r} of {path} needs clips of both classes")
        unseen = {c.source for c in clips if c.label == 1} - trained_on if trained_on else set()
        conditions = []
        passes = [("clean", 0)] + ([("telephone-8k", 8000)] if args.telephone else [])
        for cond, bandlimit in passes:
            scores = score_clips(classifier, clips, settings.window, settings.vad, settings.decision.aggregate,
                                 bandlimit, args.workers or None)
            traces = alarms.trace_clips(detector, clips, bandlimit, f"{name} {cond} streams")
            daemon = alarms.summarize(traces, settings.decision, detector.threshold, unseen,
                                      budget_per_hour=budget)
            cascade = None
            if verifier is not None and rule is not None:
                traces = alarms.with_verifier_scores(traces, verifier, bandlimit, f"{name} {cond} verifier",
                                                     settings.decision, rule)
                cascade = alarms.summarize(traces, settings.decision, detector.threshold, unseen, rule, budget)
            conditions.append(Condition(cond, scores, summarize_scores(clips, scores, detector.threshold), daemon,
                                        cascade))
        results.append(SetResult(name, str(path), clips, conditions))
    report = write_report(Path(args.report), classifier.model_id, args.split, results,
                          verifier.model_id if verifier is not None else "")
    if args.write_card:
        _write_card(model_path, args.split, results)
        if verifier is not None:
            _write_card(verifier.path, args.split, results, "cascade")
    for result in results:
        for line in headline(result):
            print(line)
    print(f"report: {report}")
    return 0


def _write_card(model_path, split: str, results, which: str = "daemon") -> None:
    """Operating curves and headline figures into the card (the .onnx, and so its hash, is untouched): the
    filter's daemon-path curves into the filter's card, the cascade's (``which="cascade"``, over the verifier's
    threshold) into the verifier's."""
    from voxwatch.pipeline.stages.cards import card_path, read_card, save_card

    path = card_path(model_path)
    card = read_card(path)
    curves = card.setdefault("metrics", {}).setdefault("operating_curves", {})
    figures = card["metrics"].setdefault("evaluation", {})
    for result in results:
        daemon = getattr(result.conditions[0], which)
        if not daemon:
            continue
        key = f"{result.name}-{split}"
        curves[key] = [[round(v, 6) for v in point] for point in daemon["curve"]]
        figures[key] = {k: daemon[k] for k in ("eer", "threshold", "false_alarms_per_hour", "catch_rate")}
        figures[key]["unseen_catch_rate"] = daemon["unseen"]["catch_rate"]
    save_card(path, card)
