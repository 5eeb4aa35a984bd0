"""Choose the verifier's wideband threshold on all the dev real speech there is, by the shipped rule.

    python -m lab.wideband_threshold --real ../shared/data/corpus --real ../shared/data/extra --real ../data/hours \
        [--budget 2] [--write-card]

The rule the card's threshold has followed since the verifier shipped (``voxwatch.training.verifier.operating``):
the lowest verifier threshold whose cascade alerts stay within ``--budget`` false alarms per hour of the real
speech of the ``--real`` sets' dev split, the card's gate, fusion, telephone and short-run thresholds as they are.
The verifier's export chose it on corpus and extra dev (11 min of real speech); the hours set's dev split adds
1.9 h of real speech from other sources and channels. Then, at the card's threshold and at the chosen one, per
set: false alarms per hour and fake utterances caught (``--split test`` with ``--threshold``: the test figures of
a threshold chosen on dev). ``--write-card`` writes it into the bundled verifier's card, with where it came from.
Traces are shared with ``lab.telephone_threshold``'s cache. Findings: ``lab/notes/telephone.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lab.telephone_threshold import add_choice_arguments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.wideband_threshold", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", action="append", required=True, help="a set whose real speech counts (repeat)")
    parser.add_argument("--report", action="append", default=[], help="a further set only reported on (repeat)")
    add_choice_arguments(parser)
    args = parser.parse_args(argv)

    from lab.telephone_threshold import bundled_cascade, print_pools, verified_traces, write_card_threshold
    from voxwatch.training import alarms

    settings, detector, verifier, card_rule = bundled_cascade()
    sets = {Path(d).name: verified_traces(d, args.split, args.cache, detector, verifier)
            for d in args.real + args.report}
    chosen_from = [t for d in args.real for t in sets[Path(d).name]]
    real_h = sum(t.duration_s for t in chosen_from if t.label == 0) / 3600
    if args.threshold is not None:
        threshold = args.threshold
    else:
        threshold = alarms.threshold_for_false_alarms(chosen_from, settings, args.budget, card_rule,
                                                      detector.threshold, telephone=False)
        print(f"wideband threshold {threshold:.6f}: the lowest with <= {args.budget:g} false alarms/h on "
              f"{real_h:.2f} h of real {args.split} speech ({', '.join(Path(d).name for d in args.real)}); "
              f"the card has {card_rule.threshold:.6f}")
    before, after = card_rule, card_rule.at(threshold, False)
    print(f"| set | real min | FA/h at {before.threshold:.3f} | FA/h at {threshold:.3f} | caught at "
          f"{before.threshold:.3f} | caught at {threshold:.3f} |")
    print("|---|---|---|---|---|---|")
    pools = dict(sets)
    if len(args.real) > 1:
        pools[" + ".join(Path(d).name for d in args.real)] = chosen_from
    print_pools(pools, settings, detector.threshold, before, after)
    if args.write_card:
        write_card_threshold("threshold", threshold, {
            "rule": f"lowest with <= {args.budget:g} false alarms/h on dev real speech",
            "sets": [Path(d).name for d in args.real], "split": args.split, "real_hours": round(real_h, 2),
            "was": card_rule.threshold, "command": "python -m lab.wideband_threshold"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
