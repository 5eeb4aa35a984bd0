"""``voxwatch eval --voices --data SET [--split dev] [--k 1,3,all-2] [--telephone] [--json]``: clone watch's
person-of-interest evaluation (``voxwatch.training.voice_eval``): per target speaker enrol k real clips, test the
held-out real clips against that speaker's clones and other people's real speech against every enrolled voice.
A table (or ``--json``) on stdout, a progress bar on stderr; onnxruntime, no torch."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_voice_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "clone watch (--voices)",
        "a set whose manifest.csv names, for each spoof clip, the speaker it imitates (speaker column); figures "
        "per system (the source column) and overall: docs/guides.md, 'Evaluate clone watch'")
    group.add_argument("--voices", action="store_true",
                       help="evaluate clone watch (enrol k real clips per target speaker; held-out real clips "
                            "against that speaker's clones) instead of the detector")
    group.add_argument("--k", default="1,3,all-2", metavar="LIST",
                       help="enrolment sizes: real clips enrolled per target, comma-separated; 'all-2' = all but "
                            "two (default 1,3,all-2)")
    group.add_argument("--real-split", choices=("same", "any"), default="same",
                       help="where a target's real clips come from: the --split (same, default) or every split of "
                            "the set (any: for sets that deal their fake systems to dev and test apart from their "
                            "speakers; the clones' split still decides)")
    group.add_argument("--systems", choices=("auto", "system", "source"), default="auto",
                       help="the column that names a fake's system in the figures (auto: system where the "
                            "manifest has one, else source)")
    group.add_argument("--others", action="append", default=[], metavar="PATH",
                       help="another set whose real clips (same --split) join the other people's speech checked "
                            "against every enrolled voice; repeatable")
    group.add_argument("--min-speech", type=float, default=None, metavar="S",
                       help="seconds of speech (after silence trimming) a clip needs to be checked (default: the "
                            "daemon's 3)")
    group.add_argument("--enrol-telephone", action="store_true",
                       help="also enrol telephone copies of the enrolment clips (every codec chain; a check takes "
                            "the nearest channel), as clone watch's design means to; needs ffmpeg")
    group.add_argument("--scoring", choices=("snorm", "cosine"), default=None,
                       help="how the enrolled voiceprints score: snorm (adaptive S-norm against the bundled speaker "
                            "cohort) or cosine (per-voice cosine thresholds); default: what 'voices add' uses")
    group.add_argument("--cache", metavar="DIR", help="keep the clips' embeddings here between runs")
    group.add_argument("--json", action="store_true", help="one JSON object on stdout instead of the table")


def run_voices(args: argparse.Namespace) -> int:
    from voxwatch.training import voice_eval as ve
    from voxwatch.training import voice_figures as vf
    from voxwatch.training.pool import counting
    from voxwatch.voices import calibration as cal

    ks = ve.parse_ks(args.k)
    if args.scoring is None:
        args.scoring = cal.SCORING
    budget = 1.0 if args.budget is None else args.budget
    if budget < 0:
        raise ve.VoiceEvalError("--budget must be >= 0")
    min_speech = cal.MIN_WATCH_SPEECH_S if args.min_speech is None else args.min_speech
    if min_speech < 0:
        raise ve.VoiceEvalError("--min-speech must be >= 0")
    if args.format not in ("auto", "manifest"):
        raise ve.VoiceEvalError("eval --voices reads a set's manifest.csv (--format manifest)")
    for option in ("write_card",):
        if getattr(args, option, False):
            raise ve.VoiceEvalError("--write-card is the detector's evaluation; it does not go with --voices")
    chains = ve.telephone_chains() if args.telephone or args.enrol_telephone else []
    test_chains = chains if args.telephone else []
    chain_names = [name for name, _ in test_chains]
    extra_others = [c for path in args.others for c in ve.load_set(path)
                    if not c.label and (args.split == "all" or c.split == args.split)]
    encoder = ve.CachingEncoder(cache_dir=args.cache)
    reports = []
    for path in args.data:
        clips = ve.load_set(path, args.systems)
        plan = ve.plan(clips, args.split, args.real_split, extra_others)
        ve.require_targets(plan, ks, f"{path} (split {args.split})")
        target_reals = {c.path for t in plan.targets.values() for c in t.reals}
        todo = [c for t in plan.targets.values() for c in (*t.reals, *t.clones)] + list(plan.others)
        name = Path(path).name or str(path)
        try:
            with counting(f"{name}: embedding", len(todo), transient=args.json) as advance:
                embedded = ve.embed_clips(todo, encoder, min_speech, test_chains, ve.in_paths(target_reals),
                                          ve.in_paths(target_reals), advance)
        finally:
            encoder.cache.save()
        plan, duplicates = ve.drop_duplicates(plan, embedded)
        with counting(f"{name}: enrolling and checking", ve.n_fold_steps(plan, ks), transient=args.json) as adv:
            enroller = ve.product_enroller(encoder, args.scoring, chains if args.enrol_telephone else ())
            trials = ve.run_trials(plan, embedded, ks, enroller, advance=adv)
        encoder.cache.save()
        reports.append({
            "set": name, "path": str(path), "split": args.split, "real_split": args.real_split,
            "encoder": encoder.model_id, "scoring": args.scoring, "enrolled_telephone": bool(args.enrol_telephone),
            "min_speech_s": min_speech,
            "budget_per_hour": budget, "telephone_chains": chain_names,
            "targets": {s: {"real": len(t.reals), "clones": len(t.clones)} for s, t in plan.targets.items()},
            "others_clips": len(plan.others), "duplicates_dropped": duplicates, "note": ve.MIN_SPEECH_NOTE,
            "results": vf.summarize(trials, budget, chain_names)})
    if args.json:
        print(json.dumps({"command": "eval --voices", "sets": reports}, indent=1))
    else:
        for report in reports:
            print_table(report)
    return 0


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # a file or a pipe: the whole table, not 80 columns of it
        console = Console(width=160)
    budget = report["budget_per_hour"]
    table = Table(title=f"clone watch: {report['set']} ({report['split']}), {len(report['targets'])} target "
                        f"speakers, {report['scoring']} scoring, encoder {report['encoder']}", title_justify="left")
    for column, justify in (("k", "left"), ("condition", "left"), ("system", "left"), ("targets", "right"),
                            ("genuine (min)", "right"), ("clones", "right"), ("EER", "right"),
                            (f"caught <= {budget:g} FA/h", "right"), ("caught", "right"),
                            ("genuine FA/h", "right"), ("others FA/h", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for entry in report["results"]:
        rows = [(s, f) for s, f in entry["systems"].items()]
        if len(rows) != 1:
            rows.append(("all", entry["overall"]))
        for i, (system, f) in enumerate(rows):
            last = i == len(rows) - 1
            table.add_row(entry["k"] if i == 0 else "", entry["condition"] if i == 0 else "", system,
                          str(f["targets"]), f"{f['genuine_trials']} ({60 * f['genuine_hours']:.1f})",
                          str(f["clone_trials"]), _pct(f["eer"]), _pct(f["caught_at_budget"]), _pct(f["caught"]),
                          _num(f["genuine_false_alarms_per_hour"]),
                          _num(entry["others"]["false_alarms_per_hour"]) if last else "",
                          end_section=last)
    console.print(table)
    others = report["results"][0]["others"] if report["results"] else {}
    print(f"EER: of clone_score, clones against held-out genuine clips. caught at <= {budget:g} FA/h: clones "
          f"alerted at the clone_score threshold that keeps false clone alarms on the held-out genuine speech "
          f"within {budget:g} per hour. caught, genuine FA/h, others FA/h: at the voiceprints' own thresholds "
          f"(match = clone). others: {others.get('trials', 0)} checks of other people's real speech "
          f"({60 * others.get('hours', 0):.1f} min, k={report['results'][0]['k'] if report['results'] else '-'}) "
          f"against every enrolled voice. Clips need {report['min_speech_s']:g} s of speech to be checked; "
          f"{report['note']}.", file=sys.stdout)
