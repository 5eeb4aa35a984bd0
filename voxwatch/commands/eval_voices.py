"""``voxwatch eval --voices --data SET [--split dev] [--k 1,3,all-2] [--telephone] [--json]``: clone watch's
person-of-interest evaluation (``voxwatch.training.voice_eval``): per target speaker enrol k real clips, test the
held-out real clips against that speaker's clones and other people's real speech against every enrolled voice;
with ``--fusion on`` (default) also decided on clone watch fused with the bundled verifier (``voxwatch.voices.fusion``).
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
    group.add_argument("--fusion", choices=("on", "off"), default="on",
                       help="on (default): also score each clip with the bundled verifier and give the figures "
                            "of clone watch fused with it (voxwatch.voices.fusion) beside S-norm alone; off: "
                            "S-norm alone, no verifier")
    group.add_argument("--cache", metavar="DIR", help="keep the clips' embeddings (and verifier scores) here "
                                                      "between runs")
    group.add_argument("--json", action="store_true", help="one JSON object on stdout instead of the table")


def run_voices(args: argparse.Namespace) -> int:
    from voxwatch.training import voice_eval as ve
    from voxwatch.training import voice_figures as vf
    from voxwatch.training.voice_cache import CachingEncoder
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
    encoder = CachingEncoder(cache_dir=args.cache)
    scores, fusion, fusion_note = fusion_for(args.fusion, args.cache, args.scoring)
    reports = []
    for path in args.data:
        name = Path(path).name or str(path)
        plan, trials, duplicates = ve.set_trials(
            path, ks, args.split, args.real_split, encoder, min_speech, test_chains,
            chains if args.enrol_telephone else (), args.scoring, args.systems, extra_others, scores, args.json)
        reports.append({
            "set": name, "path": str(path), "split": args.split, "real_split": args.real_split,
            "encoder": encoder.model_id, "scoring": args.scoring, "enrolled_telephone": bool(args.enrol_telephone),
            "min_speech_s": min_speech,
            "budget_per_hour": budget, "telephone_chains": chain_names,
            "targets": {s: {"real": len(t.reals), "clones": len(t.clones)} for s, t in plan.targets.items()},
            "others_clips": len(plan.others), "duplicates_dropped": duplicates, "note": ve.MIN_SPEECH_NOTE,
            "fusion": fusion_note, "results": vf.summarize(trials, budget, chain_names, fusion)})
    if args.json:
        print(json.dumps({"command": "eval --voices", "sets": reports}, indent=1))
    else:
        for report in reports:
            print_table(report)
    return 0


def fusion_for(choice: str, cache: str | None, scoring: str) -> tuple[Any, Any, dict[str, Any]]:
    """(the verifier's cached scores, the fusion to report, what the report says of it) for ``--fusion``."""
    from voxwatch.models import default_verifier_path
    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
    from voxwatch.training.voice_cache import VerifierScores
    from voxwatch.voices import calibration as cal
    from voxwatch.voices import fusion

    if choice == "off":
        return None, None, {"reported": False, "why": "--fusion off"}
    if scoring != "snorm":
        return None, None, {"reported": False, "why": "the fusion is fitted on S-norm voiceprints (--scoring snorm)"}
    path = default_verifier_path()
    if path is None:
        return None, None, {"reported": False, "why": "this install has no bundled verifier"}
    verifier = OnnxVerifier(path)
    chosen = fusion.for_verifier(verifier.sha256, fusion.fitted())
    if chosen is None:
        return None, None, {"reported": False, "why": f"the fusion was fitted on another verifier than "
                                                     f"{verifier.model_id}"}
    weights = {"clone": chosen.clone, "verifier": chosen.verifier, "bias": chosen.bias,
               "threshold": chosen.threshold}
    return VerifierScores(verifier, cache), chosen, {"reported": True, "in_product": bool(cal.FUSION),
                                                        "verifier": verifier.model_id, "weights": weights}


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
    both = any("fused" in entry for entry in report["results"])
    pair = " (S-norm / fused)" if both else ""
    for column, justify in (("k", "left"), ("condition", "left"), ("system", "left"), ("targets", "right"),
                            ("genuine (min)", "right"), ("clones", "right"), (f"EER{pair}", "right"),
                            (f"caught <= {budget:g} FA/h{pair}", "right"), (f"caught{pair}", "right"),
                            (f"genuine FA/h{pair}", "right"), (f"others FA/h{pair}", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for entry in report["results"]:
        fused = entry.get("fused")
        rows = [(s, f, fused["systems"][s] if fused else None) for s, f in entry["systems"].items()]
        if len(rows) != 1:
            rows.append(("all", entry["overall"], fused["overall"] if fused else None))
        for i, (system, f, g) in enumerate(rows):
            last = i == len(rows) - 1

            def cell(key: str, show=_pct, f=f, g=g) -> str:
                return show(f[key]) + ("" if g is None else f" / {show(g[key])}")
            others = _num(entry["others"]["false_alarms_per_hour"]) + (
                f" / {_num(fused['others']['false_alarms_per_hour'])}" if fused else "")
            table.add_row(entry["k"] if i == 0 else "", entry["condition"] if i == 0 else "", system,
                          str(f["targets"]), f"{f['genuine_trials']} ({60 * f['genuine_hours']:.1f})",
                          str(f["clone_trials"]), cell("eer"), cell("caught_at_budget"), cell("caught"),
                          cell("genuine_false_alarms_per_hour", _num), others if last else "", end_section=last)
    console.print(table)
    others = report["results"][0]["others"] if report["results"] else {}
    print(f"EER: of clone_score, clones against held-out genuine clips. caught at <= {budget:g} FA/h: clones "
          f"alerted at the clone_score threshold that keeps false clone alarms on the held-out genuine speech "
          f"within {budget:g} per hour. caught, genuine FA/h, others FA/h: at the voiceprints' own thresholds "
          f"(match = clone). others: {others.get('trials', 0)} checks of other people's real speech "
          f"({60 * others.get('hours', 0):.1f} min, k={report['results'][0]['k'] if report['results'] else '-'}) "
          f"against every enrolled voice. Clips need {report['min_speech_s']:g} s of speech to be checked; "
          f"{report['note']}.", file=sys.stdout)
    note = report.get("fusion", {})
    if note.get("reported"):
        print(f"fused: clone watch's S-norm evidence fused with {note['verifier']}'s score of each clip's audio "
              f"(voxwatch.voices.fusion; {'on' if note['in_product'] else 'off'} in the product).", file=sys.stdout)
    elif note:
        print(f"no fused figures: {note['why']}.", file=sys.stdout)
