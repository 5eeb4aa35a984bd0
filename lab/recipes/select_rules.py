"""Choose the decision rules and the shipped threshold on the dev splits: ``python -m lab.recipes.select_rules``.

Users judge a monitor first by its false alarms, then by the fakes it catches. So every rule set of a small grid
(aggregate, early alerts consecutive or k-of-n, minimum judged speech before an alert) is scored by the share of
fake dev utterances it catches at the lowest threshold that keeps the real dev speech within the false-alarm
budget; ties go to the simpler rule set (the grid's order), and the rules in force stay unless another set
catches more by at least ``--margin`` (dev sets are small: a few utterances are noise). The dev clips are
replayed once through the daemon path; the decisions are re-run per rule set (voxwatch.training.alarms), so the
grid costs no inference.

The chosen rules belong in ``configs/default.toml`` and ``DecisionSettings``'s defaults; once they are there,
``--write-card`` stores the threshold of the default rules in the model's card (the daemon's
``threshold = "model"``), with the rule that chose it.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voxwatch.pipeline.decision import DecisionSettings
from voxwatch.training import alarms

if TYPE_CHECKING:
    from voxwatch.detector import Detector


@dataclass(frozen=True)
class RuleScore:
    rules: DecisionSettings
    threshold: float
    dev_false_alarms_per_hour: float
    catch_rate: float
    eer: float


def rule_grid(base: DecisionSettings) -> list[DecisionSettings]:
    """The candidates, simplest first: today's rules, then variations of one or more of them."""
    grid = [base]
    for aggregate, early, k_of_n, min_alert in itertools.product(
            ("mean", "median", "max"), (0, 2, 3, 4), (False, True), (0.0, 2.0, 3.0, 4.0)):
        if k_of_n and not early:
            continue
        rules = replace(base, aggregate=aggregate, early_windows=early, early_of=early + 1 if k_of_n else 0,
                        min_alert_s=min_alert)
        if rules not in grid:
            grid.append(rules)
    return grid


def score_rules(traces: Sequence[alarms.ClipTrace], rules: DecisionSettings, budget: float) -> RuleScore:
    from voxwatch.training import metrics

    threshold = alarms.threshold_for_false_alarms(traces, rules, budget)
    point = alarms.operating_point(traces, rules, threshold)
    labels = [t.label for t in traces]
    eer, _ = metrics.eer(labels, alarms.clip_flag_scores(traces, rules))
    return RuleScore(rules, threshold, point.false_alarms_per_hour, point.catch_rate, eer)


def choose(traces: Sequence[alarms.ClipTrace], base: DecisionSettings, budget: float) -> list[RuleScore]:
    """Every rule set of the grid, best first (catch rate within the budget, then EER, then grid order)."""
    scores = [score_rules(traces, rules, budget) for rules in rule_grid(base)]
    order = sorted(range(len(scores)), key=lambda i: (-round(scores[i].catch_rate, 6), round(scores[i].eer, 6), i))
    return [scores[i] for i in order]


def detector_for(model_name: str | None) -> tuple[Path, Detector]:
    """(model path, a ``Detector`` with the default config but the model card's feature settings and window, and
    no verifier): a model trained with experimental features is judged by the default decision rules; a cascade
    is judged from these traces with a verifier's scores added (``alarms.with_verifier_scores``)."""
    from voxwatch.config import Config
    from voxwatch.detector import Detector
    from voxwatch.model_loading import resolve_model
    from voxwatch.pipeline.stages.filter.session import OnnxClassifier

    base = Config()
    model = resolve_model(model_name, base)
    card = OnnxClassifier(model).card
    pipeline = replace(base.pipeline, features=card.features,
                       window=replace(base.pipeline.window, window_s=card.window_s))
    return model, Detector(model=model, config=replace(base, pipeline=pipeline), verifier="none")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.recipes.select_rules", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", required=True, help="dataset folder (repeat for several)")
    parser.add_argument("--model", help="ONNX model with its card (default: bundled)")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--budget", type=float, default=2.0, help="false alarms per hour of real speech (default 2)")
    parser.add_argument("--top", type=int, default=12, help="rows to print")
    parser.add_argument("--margin", type=float, default=0.05,
                        help="catch-rate gain needed to leave the rules in force (default 0.05)")
    parser.add_argument("--write-card", action="store_true", help="store the chosen threshold in the model's card")
    args = parser.parse_args(argv)

    from voxwatch.config import Config
    from voxwatch.pipeline.stages.cards import card_path
    from voxwatch.training.datasets import load_datasets, select

    base = Config()
    model, detector = detector_for(args.model)
    clips = select(load_datasets(args.data), args.split)
    traces = alarms.trace_clips(detector, clips, label=f"{args.split} streams")
    ranked = choose(traces, base.pipeline.decision, args.budget)
    print(f"{len(traces)} {args.split} clips; budget {args.budget:g} false alarms per hour of real speech")
    print("| aggregate | early alert | min_alert_s | threshold | dev false alarms/h | fake utterances caught | "
          "daemon-path EER |")
    print("|---|---|---|---|---|---|---|")
    in_force = next(s for s in ranked if s.rules == base.pipeline.decision)
    for s in [*ranked[: args.top], in_force]:
        r = s.rules
        early = "off" if not r.early_windows else (
            f"{r.early_windows} in a row" if not r.early_of else f"{r.early_windows} of {r.early_of}")
        print(f"| {r.aggregate}{' (rules in force)' if s is in_force else ''} | {early} | {r.min_alert_s:g} | "
              f"{s.threshold:.4f} | {s.dev_false_alarms_per_hour:.1f} | {100 * s.catch_rate:.1f}% | "
              f"{100 * s.eer:.2f}% |")
    chosen = ranked[0] if ranked[0].catch_rate >= in_force.catch_rate + args.margin else in_force
    print(f"chosen: {'the rules in force' if chosen is in_force else chosen.rules}")
    if args.write_card:  # the threshold of the rules in force (the defaults), which the card's threshold serves
        best = in_force
        path = card_path(model)
        data = json.loads(path.read_text())
        data["threshold"] = round(best.threshold, 6)
        data.setdefault("metrics", {})["threshold_rule"] = (
            f"lowest threshold with at most {args.budget:g} false alarms per hour on the {args.split} real clips "
            f"of {', '.join(args.data)} under the default decision rules; fake {args.split} utterances caught "
            f"there: {100 * best.catch_rate:.1f}%")
        path.write_text(json.dumps(data, indent=2) + "\n")
        print(f"card threshold set to {best.threshold:.4f} in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
