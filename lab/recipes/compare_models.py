"""Is a candidate model better than the current one by more than dev noise?

``python -m lab.recipes.compare_models``.

A new model replaces the default only when its dev figures beat the current one's by more than noise. The dev
sets are small (a few hundred clips, a few dozen speakers), so the noise is measured rather than guessed: both
models replay the same dev clips through the daemon path (voxwatch.training.alarms), then a paired bootstrap
resamples the clips (real and fake apart, the same draw for both models) and recomputes, per draw and per model,

* the daemon-path EER (clip flag scores; a clip with no judged utterance is never flagged), and
* the share of fake utterances caught at the lowest threshold that keeps the drawn real speech within the
  false-alarm budget (the threshold is re-chosen in every draw, as it would be on another dev set).

It prints both models' figures on the full set, the 95% interval of each difference and how often the candidate
was better. An interval that excludes zero is a difference beyond dev noise; one that straddles it is not.

A training seed moves the dev figures as much as most recipe changes do, so one model per recipe cannot
settle a comparison. Give several models per side (``--model`` and ``--baseline`` repeated: the seeds of each
recipe) and the comparison becomes one of recipes: each side's figure is the mean over its models, and every
draw also resamples each side's models with replacement, so the interval holds seed noise as well as clip
noise. With three seeds per side that seed part is rough (a bootstrap of three values is narrower than the
truth), so read a recipe interval that barely excludes zero as a lead, not a result.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from voxwatch.pipeline.cascade import CascadeRule
from voxwatch.pipeline.decision import DecisionSettings
from voxwatch.training import alarms


@dataclass(frozen=True)
class ClipTables:
    """What the bootstrap needs from one model's traces, computed once.

    ``thresholds`` are the only thresholds a budget can pick (0, and just above each real clip's flag score:
    the next candidate of the real traces), ascending; ``alerts[i, j]`` and ``caught[i, j]`` are real clip i's
    alerts and fake clip i's caught utterances at ``thresholds[j]``."""

    flags: np.ndarray  # every clip's flag score, in trace order
    labels: np.ndarray
    real_seconds: np.ndarray
    thresholds: np.ndarray
    alerts: np.ndarray
    caught: np.ndarray
    judged: np.ndarray


def clip_tables(traces: Sequence[alarms.ClipTrace], settings: DecisionSettings, rule: CascadeRule | None = None,
                filter_threshold: float = 0.5) -> ClipTables:
    """The tables of one model's traces; with a cascade ``rule`` (traces with verifier scores), of the cascade:
    the budget then moves the verifier's threshold at the rule's gate, the filter at ``filter_threshold``."""
    flags = alarms.clip_flag_scores(traces, settings, rule, filter_threshold)
    labels = np.array([t.label for t in traces], np.int8)
    real = [t for t in traces if t.label == 0]
    fake = [t for t in traces if t.label == 1]
    candidates = np.array(sorted({c for t in real for c in (
        t.candidates if rule is None else alarms.cascade_candidates(t, settings, filter_threshold, rule))}) or [0.0])
    thresholds = {0.0}
    for f in flags[labels == 0]:
        if f == alarms.NEVER_FLAGGED:
            continue
        i = int(np.searchsorted(candidates, f, side="right"))
        thresholds.add(float(candidates[i]) if i < len(candidates) else float(np.nextafter(candidates[-1], 2.0)))
    grid = np.array(sorted(thresholds))

    def at(x: float) -> tuple[float, CascadeRule | None]:
        return (float(x), None) if rule is None else (filter_threshold, replace(rule, threshold=float(x)))

    alert_table = np.array([[alarms.alerts(t, settings, *at(x)) for x in grid] for t in real],
                           np.int32).reshape(len(real), len(grid))
    pairs = [[_caught(t, settings, *at(x)) for x in grid] for t in fake]
    caught = np.array([[c for c, _ in row] for row in pairs], np.int32).reshape(len(fake), len(grid))
    judged = np.array([row[0][1] if row else 0 for row in pairs], np.int32)
    return ClipTables(flags, labels, np.array([t.duration_s for t in real]), grid, alert_table, caught, judged)


def _caught(trace: alarms.ClipTrace, settings: DecisionSettings, threshold: float,
            rule: CascadeRule | None) -> tuple[int, int]:
    """(caught, judged) fake utterances of one fake clip's trace."""
    point = alarms.operating_point([trace], settings, threshold, rule)
    return point.caught, point.fake_utterances


def figures(tables: ClipTables, real: np.ndarray, fake: np.ndarray, budget: float) -> tuple[float, float]:
    """(daemon-path EER, catch rate within the budget) on the real and fake clips drawn (indices per class)."""
    from voxwatch.training import metrics

    flags_real = tables.flags[tables.labels == 0][real]
    flags_fake = tables.flags[tables.labels == 1][fake]
    labels = np.concatenate([np.zeros(len(real), np.int8), np.ones(len(fake), np.int8)])
    eer, _ = metrics.eer(labels, np.concatenate([flags_real, flags_fake]))
    allowed = budget * tables.real_seconds[real].sum() / 3600.0
    within = np.nonzero(tables.alerts[real].sum(axis=0) <= allowed)[0]
    j = int(within[0]) if len(within) else len(tables.thresholds) - 1
    judged = tables.judged[fake].sum()
    catch = float(tables.caught[fake, j].sum() / judged) if judged else float("nan")
    return float(eer), catch


@dataclass(frozen=True)
class Comparison:
    baseline: tuple[float, float]  # (EER, catch rate) on the full set, mean over the side's models
    candidate: tuple[float, float]
    eer_diff: tuple[float, float, float]  # candidate - baseline: median, 2.5%, 97.5%
    catch_diff: tuple[float, float, float]
    p_eer_better: float  # share of draws where the candidate's EER is lower
    p_catch_better: float  # share of draws where the candidate catches more
    resamples: int
    models: tuple[int, int] = (1, 1)  # how many models (seeds) each side had: baseline, candidate


def _side_figures(side: Sequence[ClipTables], picks: np.ndarray, real: np.ndarray, fake: np.ndarray,
                  budget: float) -> np.ndarray:
    """Mean (EER, catch rate) over the picked models of one side, on the drawn clips."""
    return np.mean([figures(side[i], real, fake, budget) for i in picks], axis=0)


def recipe_bootstrap(baseline: Sequence[ClipTables], candidate: Sequence[ClipTables], budget: float,
                     resamples: int = 1000, seed: int = 0) -> Comparison:
    """Paired bootstrap of two recipes, each given as the traces of one or more models (its seeds).

    Every draw resamples the clips (the same draw for every model) and, on a side with several models, the
    models themselves with replacement; a side with one model is the plain paired bootstrap of two models."""
    if not baseline or not candidate:
        raise ValueError("each side needs at least one model")
    labels = baseline[0].labels
    if any(not np.array_equal(labels, t.labels) for t in (*baseline, *candidate)):
        raise ValueError("all models must be traced on the same clips in the same order")
    n_real, n_fake = int((labels == 0).sum()), int((labels == 1).sum())
    everything = (np.arange(n_real), np.arange(n_fake))
    every_model = (np.arange(len(baseline)), np.arange(len(candidate)))
    rng = np.random.default_rng(seed)

    def pick(n: int) -> np.ndarray:
        return rng.integers(0, n, n) if n > 1 else np.zeros(1, np.int64)

    diffs = np.empty((resamples, 2))
    for k in range(resamples):
        real, fake = rng.integers(0, n_real, n_real), rng.integers(0, n_fake, n_fake)
        picks_b, picks_c = pick(len(baseline)), pick(len(candidate))
        diffs[k] = (_side_figures(candidate, picks_c, real, fake, budget)
                    - _side_figures(baseline, picks_b, real, fake, budget))

    def spread(d: np.ndarray) -> tuple[float, float, float]:
        return tuple(float(x) for x in np.nanpercentile(d, [50, 2.5, 97.5]))  # type: ignore[return-value]

    full_b = _side_figures(baseline, every_model[0], *everything, budget)
    full_c = _side_figures(candidate, every_model[1], *everything, budget)
    return Comparison((float(full_b[0]), float(full_b[1])), (float(full_c[0]), float(full_c[1])),
                      spread(diffs[:, 0]), spread(diffs[:, 1]), float(np.mean(diffs[:, 0] < 0)),
                      float(np.mean(diffs[:, 1] > 0)), resamples, (len(baseline), len(candidate)))


def paired_bootstrap(baseline: ClipTables, candidate: ClipTables, budget: float, resamples: int = 1000,
                     seed: int = 0) -> Comparison:
    """Two single models: the recipe bootstrap with one model per side."""
    return recipe_bootstrap([baseline], [candidate], budget, resamples, seed)


def report(c: Comparison, baseline_name: str, candidate_name: str, budget: float) -> list[str]:
    def pts(x: float) -> str:
        return f"{100 * x:+.2f}"

    def verdict(lo: float, hi: float, better_if_negative: bool) -> str:
        if lo <= 0 <= hi:
            return "within dev noise"
        return "candidate better" if (hi < 0) == better_if_negative else "candidate worse"

    recipes = max(c.models) > 1
    mean = "mean of " if recipes else ""
    drawn = "the clips and each side's models" if recipes else "the clips"
    return [
        f"| {'recipe (models)' if recipes else 'model'} | {mean}daemon-path EER | {mean}caught at <= {budget:g} "
        "false alarms/h |", "|---|---|---|",
        f"| baseline {baseline_name} | {100 * c.baseline[0]:.2f}% | {100 * c.baseline[1]:.1f}% |",
        f"| candidate {candidate_name} | {100 * c.candidate[0]:.2f}% | {100 * c.candidate[1]:.1f}% |", "",
        f"paired bootstrap, {c.resamples} draws of {drawn} (candidate - baseline, points; median [95% interval]):",
        f"- daemon-path EER: {pts(c.eer_diff[0])} [{pts(c.eer_diff[1])}, {pts(c.eer_diff[2])}]; candidate lower in "
        f"{100 * c.p_eer_better:.0f}% of draws: {verdict(c.eer_diff[1], c.eer_diff[2], True)}",
        f"- caught within the budget: {pts(c.catch_diff[0])} [{pts(c.catch_diff[1])}, {pts(c.catch_diff[2])}]; "
        f"candidate higher in {100 * c.p_catch_better:.0f}% of draws: "
        f"{verdict(c.catch_diff[1], c.catch_diff[2], False)}",
    ]


def _verifier(name: str):
    """An ``OnnxVerifier`` for ``--verifier``/``--baseline-verifier`` ("none": no cascade on that side)."""
    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier

    if name == "none":
        return None
    if name == "bundled":
        from voxwatch.models import default_verifier_path

        path = default_verifier_path()
        if path is None:
            raise SystemExit("voxwatch: error: no verifier is bundled with this install")
        return OnnxVerifier(path)
    return OnnxVerifier(name)


def _side_name(names: Sequence[str | None]) -> str:
    return " + ".join(n or "(bundled)" for n in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.recipes.compare_models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", required=True, help="dataset folder (repeat for several)")
    parser.add_argument("--model", action="append", required=True,
                        help="the candidate: ONNX model with its card (repeat: the seeds of one recipe)")
    parser.add_argument("--baseline", action="append",
                        help="the model to beat (default: bundled; repeat: the seeds of one recipe)")
    parser.add_argument("--verifier", action="append",
                        help="judge the candidate side as a cascade with this verifier .onnx (its card's gate, "
                             "fusion and threshold; default none: the filter alone). Repeat for the seeds of a "
                             "verifier recipe: the side is then every --model with every --verifier")
    parser.add_argument("--baseline-verifier", action="append",
                        help="the baseline side's verifier(s) ('bundled': the package's; default none)")
    parser.add_argument("--aggregate", choices=("mean", "median", "max"),
                        help="judge every model with this utterance aggregate instead of the one in force")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--budget", type=float, default=2.0, help="false alarms per hour of real speech (default 2)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap draws (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from lab.recipes.select_rules import detector_for
    from voxwatch.config import Config
    from voxwatch.pipeline.cascade import VerifierSettings, resolve_rule
    from voxwatch.training.datasets import load_datasets, select

    clips = select(load_datasets(args.data), args.split)
    settings = Config().pipeline.decision
    if args.aggregate:
        settings = replace(settings, aggregate=args.aggregate)
    baselines: list[str | None] = args.baseline or [None]
    sides: list[list[ClipTables]] = [[], []]
    verifiers = ([_verifier(v) for v in args.baseline_verifier or ["none"]],
                 [_verifier(v) for v in args.verifier or ["none"]])
    for side, names, side_verifiers in zip(sides, (baselines, args.model), verifiers, strict=True):
        for name in names:
            model, detector = detector_for(name)
            traces = alarms.trace_clips(detector, clips, label=f"{model.name}: {args.split} streams")
            for verifier in side_verifiers:  # one filter trace, each verifier's scores added to it
                rule, scored = None, traces
                if verifier is not None:
                    scored = alarms.with_verifier_scores(traces, verifier, label=f"{verifier.model_id}: {args.split}")
                    rule = resolve_rule(VerifierSettings(), verifier.card)
                side.append(clip_tables(scored, settings, rule, detector.threshold))
    comparison = recipe_bootstrap(sides[0], sides[1], args.budget, args.resamples, args.seed)
    rules = f"aggregate {args.aggregate}, other rules in force" if args.aggregate else "decision rules in force"
    print(f"{len(clips)} {args.split} clips; {rules}; budget {args.budget:g} false alarms per hour")
    names = [_side_name(baselines), _side_name(args.model)]
    names = [n if vs == [None] else f"{n} + verifier {' + '.join('none' if v is None else v.model_id for v in vs)}"
             for n, vs in zip(names, verifiers, strict=True)]
    print("\n".join(report(comparison, *names, args.budget)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
