"""Fit the verifier card's fusion again on more dev data, and re-choose the three thresholds after it.

    python -m lab.fusion_refit [--cache ../data/eval/telephone-traces]

The card's fusion (filter logit, network logit, bias) was fitted on the gated utterances of corpus and extra dev
only; the wideband threshold was then raised to keep the hours set's dev real speech within the budget, at a cost
in catch. Here each fusion variant (the card's; refitted on corpus + extra; + hours; + the telephone copies;
+ the splices) gets the three rules in turn, twice (a fixed point): the wideband threshold on all dev real speech
(``lab.wideband_threshold``), the telephone threshold on the dev codec copies without Codec2
(``lab.telephone_threshold``), the short-run threshold (``lab.short_threshold``), and then the dev figures per
pool. Only dev is read. Findings: ``lab/notes/telephone.md`` ("Round 4").
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

SETS = {"corpus": "../shared/data/corpus", "extra": "../shared/data/extra", "hours": "../data/hours"}
PHONE = ["../data/tel-each-corpus-dev", "../data/tel-each-extra-dev", "../data/tel-hours-dev"]
SPLICE = ["../data/splice-dev", "../data/splice-dev/alone"]


def _codec(source: str) -> str:
    return source.rsplit("+", 1)[1] if "+" in source else "clean"


def gated_pairs(traces, settings, filter_threshold: float, rule) -> np.ndarray:
    """(filter score, network score, label) of every verdict the verifier decides under ``rule``'s gate."""
    from voxwatch.training import alarms

    probe = replace(rule, threshold=0.5, telephone_threshold=None, short_threshold=None, fusion=None)
    rows = [(j.filter_score, j.verifier_score, t.label) for t in traces
            for j in alarms.decide(t, settings, filter_threshold, probe)
            if j.kind == "verdict" and j.stage == "verifier"]
    return np.array(rows, dtype=float).reshape(-1, 3)


def short_threshold(real, settings, ft: float, rule) -> float:
    """``lab.short_threshold``'s rule on a grid of fused scores: the lowest short threshold with no more alarms
    than with short runs unchecked."""
    from voxwatch.training import alarms

    def count(r) -> int:
        return sum(alarms.alerts(t, settings, ft, r) for t in real)

    allowed = count(replace(rule, segment_windows=3, short_threshold=None))
    grid = np.r_[np.linspace(rule.threshold, 1.0, 400), 1.0]
    lo, hi = 0, len(grid) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if count(replace(rule, segment_windows=2, short_threshold=float(grid[mid]))) > allowed:
            lo = mid + 1
        else:
            hi = mid
    return float(grid[lo])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.fusion_refit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("../data/eval/telephone-traces"))
    parser.add_argument("--budget", type=float, default=2.0)
    args = parser.parse_args(argv)

    from lab.telephone_threshold import bundled_cascade, figures, verified_traces
    from voxwatch.training import alarms
    from voxwatch.training.logistic import balanced_logistic, logit

    settings, detector, verifier, card = bundled_cascade()
    ft = detector.threshold
    dev = {name: verified_traces(d, "dev", args.cache, detector, verifier) for name, d in SETS.items()}
    phone = [t for d in PHONE for t in verified_traces(d, "dev", args.cache, detector, verifier)
             if _codec(t.source) != "codec2"]
    splice = verified_traces(SPLICE[0], "dev", args.cache, detector, verifier)
    alone = verified_traces(SPLICE[1], "dev", args.cache, detector, verifier)
    wide_real = [t for traces in dev.values() for t in traces if t.label == 0]
    short_real = wide_real + [t for t in splice + alone if t.label == 0]

    def fit(traces) -> tuple[float, float, float]:
        pairs = gated_pairs(traces, settings, ft, card)
        w = balanced_logistic(np.c_[logit(pairs[:, 0]), logit(pairs[:, 1])], pairs[:, 2], 1e-2)
        print(f"  fitted on {len(pairs)} verdicts ({int(pairs[:, 2].sum())} fake): {w[0]:.3f} {w[1]:.3f} {w[2]:.3f}")
        return float(w[0]), float(w[1]), float(w[2])

    both = dev["corpus"] + dev["extra"]
    variants = {"card": card.fusion}
    for name, pool in (("corpus+extra", both), ("+hours", both + dev["hours"]),
                       ("+hours+phone", both + dev["hours"] + phone),
                       ("+hours+splice", both + dev["hours"] + splice),
                       ("+hours real", both + [t for t in dev["hours"] if t.label == 0]),
                       ("+hours real+phone real", both + [t for t in dev["hours"] + phone if t.label == 0]),
                       ("+phone", both + phone)):
        print(name)
        variants[name] = fit(pool)
    print("| fusion | a, b, c | wideband | telephone | short | corpus FA/h, caught | extra | hours | phone (no "
          "Codec2) | splice clips caught / alone | splice real FA |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, fusion in variants.items():
        rule = replace(card, fusion=fusion)
        for _ in range(2):
            rule = rule.at(alarms.threshold_for_false_alarms(wide_real, settings, args.budget, rule, ft), False)
            rule = rule.at(alarms.threshold_for_false_alarms(phone, settings, args.budget, rule, ft,
                                                             telephone=True), True)
            rule = replace(rule, short_threshold=short_threshold(short_real, settings, ft, rule))
        cells = []
        for pool in (dev["corpus"], dev["extra"], dev["hours"], phone):
            fa, caught, n, _ = figures(pool, settings, ft, rule)
            cells.append(f"{fa:.1f} ({n}), {100 * caught:.1f}%")

        def clips(traces, rule=rule) -> str:
            fakes = [t for t in traces if t.label == 1]
            hit = sum(alarms.alerts(t, settings, ft, rule) > 0 for t in fakes)
            return f"{100 * hit / len(fakes):.1f}%"

        real_fa = sum(alarms.alerts(t, settings, ft, rule) for t in splice if t.label == 0)
        weights = "-" if fusion is None else ", ".join(f"{w:.2f}" for w in fusion)
        print(f"| {name} | {weights} | {rule.threshold:.4f} | {rule.telephone_threshold:.4f} | "
              f"{rule.short_threshold:.4f} | " + " | ".join(cells) + f" | {clips(splice)} / {clips(alone)} | "
              f"{real_fa} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
