"""Choose the verifier's telephone-band threshold on dev telephone copies, and show what it costs and buys.

    python -m lab.telephone_threshold --phone ../data/tel-each-corpus-dev --phone ../data/tel-each-extra-dev \
        --clean ../shared/data/corpus --clean ../shared/data/extra [--leave-out codec2] [--budget 2] [--write-card]

The shipped rule, applied to calls: the lowest telephone threshold (``CascadeRule.telephone_threshold``) whose false
alarms on the real speech of the ``--phone`` sets' dev split (``python -m voxwatch.training.telephone copy``) stay
within ``--budget`` per hour, the wideband threshold staying the card's; chains named by ``--leave-out`` do not
take part in the choice (they are still reported). Then, at the card's settings before and after, per pool: false
alarms per hour and fake utterances caught on the ``--clean`` sets' dev split and on the telephone copies, per
codec. ``--write-card`` writes the threshold into the bundled verifier's card, with where it came from. Traces
(filter windows, verifier answers) are kept under ``--cache``. Findings: ``lab/notes/telephone.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
from pathlib import Path


def verified_traces(data: str, split: str, cache: Path | None, detector, verifier):
    """The set's traces with the verifier's answers to every span the default rule asks about
    (``alarms.with_verifier_scores``), cached by model hashes and the shortest run checked."""
    from voxwatch.pipeline.cascade import VerifierSettings
    from voxwatch.training import alarms
    from voxwatch.training.datasets import load_dataset, select

    runs = VerifierSettings().segment_windows
    key = hashlib.sha256(f"{detector.classifier.sha256}|{verifier.sha256}|{Path(data).resolve()}|{split}|{runs}"
                         .encode())
    path = None if cache is None else cache / f"telephone-{key.hexdigest()[:16]}.pkl"
    if path is not None and path.is_file():
        return pickle.loads(path.read_bytes())
    clips = select(load_dataset(data), split)
    traces = alarms.trace_clips(detector, clips, label=Path(data).name)
    traces = alarms.with_verifier_scores(traces, verifier, label=f"verifier {Path(data).name}")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(traces))
    return traces


def bundled_cascade():
    """(decision settings, the bundled filter's ``Detector``, the bundled verifier, its card's rule): what the
    verifier's thresholds are chosen for."""
    from lab.recipes.select_rules import detector_for
    from voxwatch.config import Config
    from voxwatch.models import default_verifier_path
    from voxwatch.pipeline.cascade import VerifierSettings, resolve_rule
    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier

    verifier = OnnxVerifier(default_verifier_path())
    _, detector = detector_for(None)
    rule = resolve_rule(VerifierSettings(), verifier.card)
    assert rule is not None
    return Config().pipeline.decision, detector, verifier, rule


def write_card_threshold(key: str, value: float, provenance: dict) -> None:
    """``value`` as the bundled verifier card's ``key``, with where it came from under ``metrics``."""
    from voxwatch.models import default_verifier_path
    from voxwatch.pipeline.stages.cards import card_path, read_card, save_card

    path = card_path(default_verifier_path())
    card = read_card(path, "verifier card")
    card[key] = value
    card.setdefault("metrics", {})[key] = provenance
    save_card(path, card)
    print(f"wrote {key} {value:.6f} into {path}")


def add_choice_arguments(parser: argparse.ArgumentParser, budget: bool = True) -> None:
    """The arguments every threshold tool of the lab shares: the split, the budget, a given threshold instead of a
    choice (the test split: the one chosen on dev), the trace cache, and writing the choice into the card."""
    parser.add_argument("--split", default="dev")
    if budget:
        parser.add_argument("--budget", type=float, default=2.0, help="false alarms per hour (default 2)")
    parser.add_argument("--threshold", type=float, help="report at this threshold instead of choosing one (the "
                        "test split: the one chosen on dev)")
    parser.add_argument("--cache", type=Path, default=Path("../data/eval/telephone-traces"))
    parser.add_argument("--write-card", action="store_true", help="write the threshold into the bundled card")


def print_pools(pools: dict, settings, filter_threshold: float, before, after) -> None:
    """One table row per pool: real minutes, false alarms per hour and share caught under each rule."""
    for name, traces in pools.items():
        b, a = (figures(traces, settings, filter_threshold, r) for r in (before, after))
        print(f"| {name} | {b[3]:.1f} | {b[0]:.1f} ({b[2]}) | {a[0]:.1f} ({a[2]}) | {100 * b[1]:.1f}% | "
              f"{100 * a[1]:.1f}% |")


def _codec(source: str) -> str:
    return source.rsplit("+", 1)[1] if "+" in source else "clean"


def figures(traces, settings, filter_threshold: float, rule) -> tuple[float, float, int, float]:
    """(false alarms per hour, share caught, false alarms, real minutes)."""
    from voxwatch.training import alarms

    real = [t for t in traces if t.label == 0]
    point = alarms.operating_point(traces, settings, filter_threshold, rule)
    hours = sum(t.duration_s for t in real) / 3600
    caught = point.caught / point.fake_utterances if point.fake_utterances else float("nan")
    return (point.false_alarms / hours if hours else float("nan"), caught, point.false_alarms, 60 * hours)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.telephone_threshold", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phone", action="append", required=True, help="telephone copies of a set (repeat)")
    parser.add_argument("--clean", action="append", default=[], help="a clean set to report on (repeat)")
    parser.add_argument("--leave-out", action="append", default=[], metavar="CHAIN",
                        help="a codec chain left out of the choice (repeat), e.g. codec2")
    add_choice_arguments(parser)
    args = parser.parse_args(argv)

    from voxwatch.training import alarms

    settings, detector, verifier, card_rule = bundled_cascade()
    phone = {Path(d).name: verified_traces(d, args.split, args.cache, detector, verifier) for d in args.phone}
    clean = {Path(d).name: verified_traces(d, args.split, args.cache, detector, verifier) for d in args.clean}
    chosen_from = [t for traces in phone.values() for t in traces if _codec(t.source) not in args.leave_out]
    real_min = sum(t.duration_s for t in chosen_from if t.label == 0) / 60
    if args.threshold is not None:
        threshold = args.threshold
        print(f"telephone threshold {threshold:.6f} as given; wideband threshold {card_rule.threshold:.6f}")
    else:
        threshold = alarms.threshold_for_false_alarms(chosen_from, settings, args.budget, card_rule,
                                                      detector.threshold, telephone=True)
        print(f"telephone threshold {threshold:.6f}: the lowest with <= {args.budget:g} false alarms/h on "
              f"{real_min:.1f} min of real telephone speech ({', '.join(phone)}, split {args.split}"
              f"{', without ' + ', '.join(args.leave_out) if args.leave_out else ''}); wideband threshold "
              f"{card_rule.threshold:.6f}")
    before, after = card_rule.at(card_rule.threshold, None), card_rule.at(threshold, True)
    print("| pool | real min | FA/h before | FA/h after | caught before | caught after |")
    print("|---|---|---|---|---|---|")
    pools = {f"clean: {name}": traces for name, traces in clean.items()}
    every = [t for traces in phone.values() for t in traces]
    pools["telephone: every chain"] = every
    pools["telephone: the chains chosen on"] = chosen_from
    for chain in sorted({_codec(t.source) for t in every}):
        pools[f"telephone: {chain}"] = [t for t in every if _codec(t.source) == chain]
    print_pools(pools, settings, detector.threshold, before, after)
    if args.write_card:
        write_card_threshold("telephone_threshold", threshold, {
            "rule": f"lowest with <= {args.budget:g} false alarms/h on dev telephone copies",
            "sets": sorted(phone), "split": args.split, "left_out": sorted(args.leave_out),
            "real_minutes": round(real_min, 1), "command": "python -m lab.telephone_threshold"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
