"""Choose the verifier's short-run threshold on dev: short runs checked, and no false alarm more for it.

    python -m lab.short_threshold --real ../shared/data/corpus --real ../shared/data/extra --real ../data/hours \
        --real ../data/splice-dev --real ../data/splice-dev/alone --splice ../data/splice-dev \
        --splice ../data/splice-dev/alone [--write-card]

Fake speech spliced into real speech is found by segment checks of runs of windows over the filter's threshold;
a 2-4 s fake gives runs of one or two windows, where the verifier is least sure. With ``segment_windows = 2`` such
runs are checked, and their check needs ``short_threshold`` (``CascadeRule.threshold_for``). The rule: the lowest
short threshold at which the real speech of the ``--real`` sets' dev split raises no more alarms than when short
runs go unchecked (``segment_windows = 3``), the card's other thresholds as they are. Then, per ``--splice`` set
(``python -m lab.splice_set``): clips that raise an alert, and false alarms on its real clips, for the rule
before (3 windows), without a short threshold, and at the chosen one. ``--write-card`` writes it into the bundled
verifier's card. Findings: ``lab/notes/cascade-realtime.md``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from lab.telephone_threshold import add_choice_arguments


def _alarms_and_catches(traces, settings, filter_threshold: float, rule) -> tuple[int, float, int, int]:
    """(alarms on real clips, real hours, fake clips with an alert, fake clips)."""
    from voxwatch.training import alarms

    real = [t for t in traces if t.label == 0]
    fake = [t for t in traces if t.label == 1]
    return (sum(alarms.alerts(t, settings, filter_threshold, rule) for t in real),
            sum(t.duration_s for t in real) / 3600,
            sum(alarms.alerts(t, settings, filter_threshold, rule) > 0 for t in fake), len(fake))


def _deciding_scores(traces, settings, filter_threshold: float, rule, least: float) -> set[float]:
    """The verifier's deciding scores (fused where the card fuses) of what it judged on these traces, from
    ``least`` up: where the short threshold can change an alarm as far as the alerts show. (Not the network's
    raw scores of ``checks``: with a fusion those are on another scale, and a search over them misses the lowest
    threshold; a grid besides finds checks that no alert shows, held back by another alert.)"""
    from voxwatch.training import alarms

    return {j.score for t in traces for j in alarms.decide(t, settings, filter_threshold, rule)
            if j.stage == "verifier" and j.score >= least}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.short_threshold", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", action="append", required=True, help="a set whose real dev speech counts")
    parser.add_argument("--splice", action="append", default=[], help="a splice set to report on (repeat)")
    add_choice_arguments(parser, budget=False)
    args = parser.parse_args(argv)

    from lab.telephone_threshold import bundled_cascade, verified_traces, write_card_threshold

    settings, detector, verifier, card_rule = bundled_cascade()
    ft = detector.threshold
    real = [t for d in args.real for t in verified_traces(d, args.split, args.cache, detector, verifier)
            if t.label == 0]
    before = replace(card_rule, segment_windows=3, short_threshold=None)
    unguarded = replace(card_rule, segment_windows=2, short_threshold=None)
    allowed, hours, _, _ = _alarms_and_catches(real, settings, ft, before)
    if args.threshold is not None:
        short = args.threshold
    else:
        grid = {float(v) for v in np.linspace(card_rule.threshold, 1.0, 2001)}  # the checks no alert shows
        scores = sorted(_deciding_scores(real, settings, ft, unguarded, card_rule.threshold) | grid)
        lo, hi = 0, len(scores) - 1  # the first candidate whose alarms are within the allowance
        while lo < hi:
            mid = (lo + hi) // 2
            if _alarms_and_catches(real, settings, ft, replace(unguarded, short_threshold=scores[mid]))[0] > allowed:
                lo = mid + 1
            else:
                hi = mid
        short = scores[lo]
        print(f"short threshold {short:.6f}: the lowest at which {hours:.2f} h of real {args.split} speech "
              f"({', '.join(Path(d).name for d in args.real)}) raises no more than the {allowed} alarm(s) it raises "
              "with short runs unchecked")
    chosen = replace(unguarded, short_threshold=short)
    print("| set | rule | real h | false alarms | clips with an alert (fakes) |")
    print("|---|---|---|---|---|")
    pools = {"real (" + ", ".join(Path(d).name for d in args.real) + ")": real}
    pools.update({d: verified_traces(d, args.split, args.cache, detector, verifier) for d in args.splice})
    for name, traces in pools.items():
        for label, rule in (("3 windows (before)", before), ("2 windows, no short threshold", unguarded),
                            (f"2 windows, short threshold {short:.4f}", chosen)):
            fa, h, caught, fakes = _alarms_and_catches(traces, settings, ft, rule)
            shown = f"{caught}/{fakes} ({100 * caught / fakes:.1f}%)" if fakes else "-"
            print(f"| {name} | {label} | {h:.2f} | {fa} ({fa / h if h else float('nan'):.1f}/h) | {shown} |")
    if args.write_card:
        write_card_threshold("short_threshold", short, {
            "rule": "lowest at which dev real speech raises no more alarms than with short runs unchecked",
            "sets": [Path(d).name for d in args.real], "split": args.split, "real_hours": round(hours, 2),
            "alarms": allowed, "command": "python -m lab.short_threshold"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
