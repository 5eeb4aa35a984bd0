"""``voxwatch calibrate REAL_AUDIO...``: the deciding stage's threshold that keeps false alarms under a budget on
the site's own real speech (voxwatch.training.calibration): with the cascade's verifier (the default), its
``[verifier]`` threshold (``telephone_threshold`` when most of the checked audio is in the telephone band: a
call line); with the filter alone, the ``[decision]`` threshold. Less than ``--min-minutes`` of judged speech is
refused (exit status 2, nothing written).

Like ``score``, a file that cannot be read is one error line and the others go on (exit status 1 at the end). It
names the clips that set the threshold (they would raise alarms just below it) and warns when a single clip does:
one mislabelled fake among the real audio would otherwise push the threshold up to 1.0 without a word.
"""

from __future__ import annotations

import argparse
import sys

from voxwatch.commands.output_paths import OutputFile, write_text

HELP = ("choose the alert threshold on your own real speech: at most F false alarms per hour on it "
        "(writes the deciding stage's threshold: [verifier] with the cascade, [decision] with the filter alone)")
SHORT_AUDIO_S = 1800.0  # under half an hour, a budget of a few alarms per hour allows none


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.commands.common import add_model_arguments

    parser.add_argument("audio", nargs="+", metavar="REAL_AUDIO",
                        help="recordings known to be real speech (files, or folders searched for .wav/.flac/.ogg/"
                             ".mp3): the people, rooms and microphones you will monitor")
    parser.add_argument("--max-false-alarms-per-hour", type=float, default=1.0, metavar="F",
                        help="false alarm budget on that audio, alerts per hour (default 1)")
    parser.add_argument("--min-minutes", type=float, default=10.0, metavar="M",
                        help="refuse (exit status 2, nothing written) when less than M minutes of real speech are "
                             "judged in that audio (default 10): a threshold set on less is set by chance")
    parser.add_argument("--out", metavar="FILE", action=OutputFile,
                        help="write the config here (default: standard output); with --config, that config with "
                             "its [verifier] (or [decision]) table replaced")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    add_model_arguments(parser, "your config: its model, features and decision rules are used, and copied to --out",
                        "the cascade's verifier (default: [verifier] model, else the bundled one); with one, its "
                        "threshold is what is calibrated; 'none': the filter's threshold")


def _audio_files(inputs: list[str]) -> list[str]:
    from pathlib import Path

    from voxwatch.errors import VoxwatchError
    from voxwatch.training.datasets import AUDIO_EXTENSIONS

    files: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
            if not found:
                raise VoxwatchError(f"{path}: no audio files (.wav, .flac, .ogg, .mp3) in this folder")
            files += found
        elif path.exists():
            files.append(str(path))
        else:
            raise VoxwatchError(f"{path}: no such file or folder")
    return files


def run(args: argparse.Namespace) -> int:
    import datetime
    from dataclasses import asdict, replace
    from pathlib import Path

    from voxwatch.detector import Detector
    from voxwatch.errors import VoxwatchError
    from voxwatch.model_loading import load_verifier
    from voxwatch.pipeline.cascade import resolve_rule
    from voxwatch.training import alarms
    from voxwatch.training.calibration import catch_rate_at, decision_table, verifier_table, with_decision

    budget = args.max_false_alarms_per_hour
    if not budget >= 0:
        raise VoxwatchError("--max-false-alarms-per-hour must be >= 0")
    if not args.min_minutes >= 0:
        raise VoxwatchError("--min-minutes must be >= 0")
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.force:
        raise VoxwatchError(f"{out} exists; choose another --out or add --force")
    files = _audio_files(args.audio)
    detector = Detector(model=args.model, config=args.config, verifier="none")  # traces: the filter's scores
    rules = detector.config.pipeline.decision
    verifier = load_verifier(detector.config, args.verifier, detector.classifier.sha256)
    traces, hours, failed = _trace_site_audio(detector, files)
    judged_min = alarms.judged_speech_s(traces) / 60.0
    if judged_min < args.min_minutes:
        raise VoxwatchError(
            f"only {judged_min:.1f} min of real speech was judged in {60 * hours:.1f} min of audio; calibrating needs "
            f"at least {args.min_minutes:g} min (--min-minutes), or the threshold is set by chance: nothing written")
    settings = detector.config.pipeline.verifier
    rule = resolve_rule(replace(settings, enabled=True), verifier.card) if verifier is not None else None
    if verifier is not None:
        traces = alarms.with_verifier_scores(traces, verifier, label="verifier", settings=rules, rule=rule)
    telephone = rule is not None and alarms.telephone_share(traces) > 0.5  # a call line: its own threshold
    key = "telephone_threshold" if telephone else "threshold"
    stage_card = "filter" if rule is None else "verifier"  # whose card holds the operating curves
    stage = f"{stage_card} (telephone band)" if telephone else stage_card
    was = detector.threshold if rule is None else rule.threshold_for(telephone)

    def point(at: float) -> alarms.OperatingPoint:
        if rule is None:
            return alarms.operating_point(traces, rules, at)
        return alarms.operating_point(traces, rules, detector.threshold, rule.at(at, telephone))

    threshold = alarms.threshold_for_false_alarms(traces, rules, budget, rule, detector.threshold, telephone)
    deciding = alarms.deciding_traces(traces, rules, threshold, rule, detector.threshold, telephone)
    alone = _single_clip_warning(deciding, traces, rules, budget, threshold, rule, detector.threshold, telephone)
    before, after = point(was), point(threshold)
    card = detector.classifier.card if verifier is None else verifier.card
    curves = card.metrics.get("operating_curves", {})
    cost_before, cost_after = catch_rate_at(curves, was), catch_rate_at(curves, threshold)
    set_by = ", ".join(t.path for t in deciding)
    models = (f"model {detector.model_id}" if verifier is None or rule is None else
              f"filter {detector.model_id}, verifier {verifier.model_id} (gate {rule.gate:.4f})")
    notes = [f"voxwatch calibrate, {datetime.date.today().isoformat()}: {models}, {len(traces)} file(s), "
             f"{60 * hours:.1f} min of audio, {judged_min:.1f} min of it judged speech",
             *([f"set by the clip(s) that would raise alarms just below it: {set_by}"] if deciding else []),
             f"false alarms on that audio: {after.false_alarms} ({after.false_alarms_per_hour:.2f}/h; budget "
             f"{budget:g}/h) at this {stage} threshold, {before.false_alarms} at the previous {was:.4f}"]
    for name, rate in cost_after.items():
        notes.append(f"fake utterances caught on the {stage_card}'s {name} evaluation set: {100 * rate:.1f}% "
                     f"(was {100 * cost_before.get(name, float('nan')):.1f}%)")
    if rule is None:
        table, section = decision_table(rules, threshold, notes), "decision"
    else:
        base = {k: v for k, v in asdict(settings).items() if k != "model" or v}
        table, section = verifier_table(base, threshold, notes, key), "verifier"
    text = with_decision(Path(args.config).read_text(), table, section) if args.config else table
    say = _write_table(text, out)
    print(f"{stage} threshold {threshold:.4f} (was {was:.4f}), written as [{section}] {key}: "
          f"{after.false_alarms} false alarm(s) in {60 * hours:.1f} min of your real audio "
          f"({after.false_alarms_per_hour:.2f}/h; was {before.false_alarms_per_hour:.2f}/h)", file=say)
    if deciding:
        print(f"set by the clip(s) that would raise alarms just below it: {set_by}", file=say)
    if alone:
        print(alone, file=sys.stderr)
    if cost_after:
        shown = ", ".join(f"{name} {100 * rate:.1f}% (was {100 * cost_before.get(name, float('nan')):.1f}%)"
                          for name, rate in cost_after.items())
        print(f"cost: fake utterances caught on the {stage_card}'s evaluation sets: {shown}", file=say)
    else:
        print(f"cost: the {stage_card}'s card has no operating curves (voxwatch eval --write-card adds them)",
              file=say)
    return _closing_lines(hours, out, failed, len(files), say)


def _trace_site_audio(detector, files: list[str]):
    """Replay the site's real audio through the daemon path: (traces, hours, unreadable files); each unreadable
    file is one error line and the others go on."""
    from pathlib import Path

    from voxwatch.errors import VoxwatchError
    from voxwatch.training import alarms
    from voxwatch.training.datasets import Clip

    clips = [Clip(Path(f), 0, "site", "", "calibrate") for f in files]
    failed: list[str] = []

    def unreadable(clip: Clip, exc: VoxwatchError) -> None:
        failed.append(str(clip.path))
        print(f"voxwatch: error: {exc}", file=sys.stderr)

    traces = alarms.trace_clips(detector, clips, label="real audio", unreadable=unreadable)
    if not traces:
        raise VoxwatchError(f"none of the {len(files)} file(s) could be read as audio: nothing to calibrate on")
    if not any(t.candidates for t in traces):
        raise VoxwatchError("no speech was judged in that audio (too short, or silent): nothing to calibrate on")
    return traces, sum(t.duration_s for t in traces) / 3600.0, failed


def _write_table(text: str, out):
    """The config text to stdout or ``--out``; returns where the human-readable lines go (stderr when the
    config itself goes to stdout)."""
    if out is None:
        sys.stdout.write(text)
        return sys.stderr
    write_text(out, text, "--out")
    return sys.stdout


def _closing_lines(hours: float, out, failed: list[str], total: int, say) -> int:
    """The note on short audio, where the file went, and the unreadable files; the exit status."""
    if hours * 3600.0 < SHORT_AUDIO_S:
        print(f"note: {60 * hours:.1f} min of audio is little to measure a rate per hour on; half an hour or more "
              "of typical speech gives a threshold you can trust", file=say)
    if out is not None:
        print(f"wrote {out}: use it with --config {out}", file=say)
    if failed:
        print(f"voxwatch: error: {len(failed)} of {total} file(s) could not be read and were left out",
              file=sys.stderr)
    return 1 if failed else 0


def _single_clip_warning(deciding, traces, rules, budget: float, threshold: float, rule=None,
                         filter_threshold: float = 0.5, telephone: bool = False) -> str:
    """A warning when one clip alone sets the threshold: what the threshold would be without it, and why that
    matters (a mislabelled fake, or one atypical recording, among the real audio)."""
    from voxwatch.training import alarms

    if len(deciding) != 1:
        return ""
    clip = deciding[0]
    others = [t for t in traces if t is not clip]
    without = ""
    if any(t.candidates for t in others):
        alternative = alarms.threshold_for_false_alarms(others, rules, budget, rule, filter_threshold, telephone)
        without = f" (without it: {alternative:.4f})"
    return (f"warning: one clip alone sets the threshold {threshold:.4f}{without}: {clip.path}; listen to it: if it "
            "holds synthetic speech, or is not typical of the site, leave it out and calibrate again")
