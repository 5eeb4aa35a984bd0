"""``voxwatch calibrate REAL_AUDIO...``: a ``[decision]`` threshold that keeps false alarms under a budget on the
site's own real speech (voxwatch.training.calibration); with the cascade's verifier, its ``[verifier]``
threshold.

Like ``score``, a file that cannot be read is one error line and the others go on (exit status 1 at the end). It
names the clips that set the threshold (they would raise alarms just below it) and warns when a single clip does:
one mislabelled fake among the real audio would otherwise push the threshold up to 1.0 without a word.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from voxwatch.commands.output_paths import OutputFile, write_text

HELP = ("choose the alert threshold on your own real speech: at most F false alarms per hour on it "
        "(writes a [decision] config, or with the cascade's verifier its [verifier] threshold)")
SHORT_AUDIO_S = 1800.0  # under half an hour, a budget of a few alarms per hour allows none


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.commands.common import add_model_arguments

    parser.add_argument("audio", nargs="+", metavar="REAL_AUDIO",
                        help="recordings known to be real speech (files, or folders searched for .wav/.flac/.ogg/"
                             ".mp3): the people, rooms and microphones you will monitor")
    parser.add_argument("--max-false-alarms-per-hour", type=float, default=1.0, metavar="F",
                        help="false alarm budget on that audio, alerts per hour (default 1)")
    parser.add_argument("--out", metavar="FILE", action=OutputFile,
                        help="write the config here (default: standard output); with --config, that config with "
                             "its [decision] table replaced")
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
    from pathlib import Path

    from voxwatch.detector import Detector
    from voxwatch.errors import VoxwatchError
    from voxwatch.model_loading import load_verifier
    from voxwatch.training import alarms
    from voxwatch.training.calibration import catch_rate_at, decision_table, with_decision

    budget = args.max_false_alarms_per_hour
    if not budget >= 0:
        raise VoxwatchError("--max-false-alarms-per-hour must be >= 0")
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.force:
        raise VoxwatchError(f"{out} exists; choose another --out or add --force")
    files = _audio_files(args.audio)
    detector = Detector(model=args.model, config=args.config, verifier="none")  # traces: the filter's scores
    rules = detector.config.pipeline.decision
    verifier = load_verifier(detector.config, args.verifier, detector.classifier.sha256)
    if verifier is not None:
        return _calibrate_verifier(args, detector, verifier, files, out, budget)
    traces, hours, failed = _trace_site_audio(detector, files)
    threshold = alarms.threshold_for_false_alarms(traces, rules, budget)
    deciding = alarms.deciding_traces(traces, rules, threshold)
    alone = _single_clip_warning(deciding, traces, rules, budget, threshold)
    before = alarms.operating_point(traces, rules, detector.threshold)
    after = alarms.operating_point(traces, rules, threshold)
    curves = detector.classifier.card.metrics.get("operating_curves", {})
    cost_before, cost_after = catch_rate_at(curves, detector.threshold), catch_rate_at(curves, threshold)
    set_by = ", ".join(t.path for t in deciding)
    outcome = _Outcome("threshold", threshold, detector.threshold, before, after, hours, budget, cost_before,
                       cost_after)
    notes = outcome.notes(f"model {detector.model_id}", len(traces), "on the model's",
                          [f"set by the clip(s) that would raise alarms just below it: {set_by}"] if deciding else [])
    table = decision_table(rules, threshold, notes)
    text = with_decision(Path(args.config).read_text(), table) if args.config else table
    say = _write_table(text, out)
    print(outcome.summary(), file=say)
    if deciding:
        print(f"set by the clip(s) that would raise alarms just below it: {set_by}", file=say)
    if alone:
        print(alone, file=sys.stderr)
    if cost_after:
        shown = ", ".join(f"{name} {100 * rate:.1f}% (was {100 * cost_before.get(name, float('nan')):.1f}%)"
                          for name, rate in cost_after.items())
        print(f"cost: fake utterances caught on the shipped evaluation sets: {shown}", file=say)
    else:
        print("cost: this model's card has no operating curves (voxwatch eval --write-card adds them)", file=say)
    return _closing_lines(hours, out, failed, len(files), say)


def _calibrate_verifier(args: argparse.Namespace, detector, verifier, files: list[str], out, budget: float) -> int:
    """The cascade: the verifier's threshold for the budget, the filter and the gate as configured."""
    from dataclasses import asdict, replace
    from pathlib import Path

    from voxwatch.pipeline.cascade import resolve_rule
    from voxwatch.training import alarms
    from voxwatch.training.calibration import catch_rate_at, verifier_table, with_decision

    rules = detector.config.pipeline.decision
    settings = detector.config.pipeline.verifier
    rule = resolve_rule(replace(settings, enabled=True), verifier.card)
    assert rule is not None
    traces, hours, failed = _trace_site_audio(detector, files)
    traces = alarms.with_verifier_scores(traces, verifier, label="verifier")
    threshold = alarms.threshold_for_false_alarms(traces, rules, budget, rule, detector.threshold)
    before = alarms.operating_point(traces, rules, detector.threshold, rule)
    after = alarms.operating_point(traces, rules, detector.threshold, replace(rule, threshold=threshold))
    curves = verifier.card.metrics.get("operating_curves", {})
    cost_before, cost_after = catch_rate_at(curves, rule.threshold), catch_rate_at(curves, threshold)
    outcome = _Outcome("verifier threshold", threshold, rule.threshold, before, after, hours, budget, cost_before,
                       cost_after)
    notes = outcome.notes(f"filter {detector.model_id}, verifier {verifier.model_id} (gate {rule.gate:.4f})",
                          len(traces), "by the cascade on the verifier's")
    base = {k: v for k, v in asdict(settings).items() if k != "model" or v}
    table = verifier_table(base, threshold, notes)
    text = with_decision(Path(args.config).read_text(), table, "verifier") if args.config else table
    say = _write_table(text, out)
    print(outcome.summary(), file=say)
    if not cost_after:
        print("cost: the verifier's card has no operating curves (voxwatch eval --write-card adds them)", file=say)
    return _closing_lines(hours, out, failed, len(files), say)


@dataclass(frozen=True)
class _Outcome:
    """A calibration's outcome, for the config's notes and the lines printed: ``which`` threshold moved from
    ``previous`` to ``threshold``; the site audio's false alarms (``alarms.operating_point``) before and after; the
    fakes caught on the card's evaluation sets before and after (``catch_rate_at``)."""

    which: str
    threshold: float
    previous: float
    before: Any
    after: Any
    hours: float
    budget: float
    cost_before: dict[str, float]
    cost_after: dict[str, float]

    def notes(self, models: str, files: int, caught: str, why: Sequence[str] = ()) -> list[str]:
        """The notes above the written table: date and ``models``, the audio, ``why`` (the clips that set it), the
        false alarms at both thresholds, the catch rates (fake utterances caught ``caught`` evaluation sets)."""
        import datetime

        after, before = self.after, self.before
        return [f"voxwatch calibrate, {datetime.date.today().isoformat()}: {models}, {files} file(s), "
                f"{60 * self.hours:.1f} min of real audio", *why,
                f"false alarms on that audio: {after.false_alarms} ({after.false_alarms_per_hour:.2f}/h; budget "
                f"{self.budget:g}/h) at this {self.which}, {before.false_alarms} at the previous {self.previous:.4f}",
                *(f"fake utterances caught {caught} {name} evaluation set: {100 * rate:.1f}% "
                  f"(was {100 * self.cost_before.get(name, float('nan')):.1f}%)"
                  for name, rate in self.cost_after.items())]

    def summary(self) -> str:
        return (f"{self.which} {self.threshold:.4f} (was {self.previous:.4f}): {self.after.false_alarms} false "
                f"alarm(s) in {60 * self.hours:.1f} min of your real audio ({self.after.false_alarms_per_hour:.2f}/h; "
                f"was {self.before.false_alarms_per_hour:.2f}/h)")


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


def _single_clip_warning(deciding, traces, rules, budget: float, threshold: float) -> str:
    """A warning when one clip alone sets the threshold: what the threshold would be without it, and why that
    matters (a mislabelled fake, or one atypical recording, among the real audio)."""
    from voxwatch.training import alarms

    if len(deciding) != 1:
        return ""
    clip = deciding[0]
    others = [t for t in traces if t is not clip]
    without = ""
    if any(t.candidates for t in others):
        without = f" (without it: {alarms.threshold_for_false_alarms(others, rules, budget):.4f})"
    return (f"warning: one clip alone sets the threshold {threshold:.4f}{without}: {clip.path}; listen to it: if it "
            "holds synthetic speech, or is not typical of the site, leave it out and calibrate again")
