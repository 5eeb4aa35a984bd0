"""The paired bootstrap that decides whether a candidate model beats the default by more than dev noise."""

import dataclasses
import json

import numpy as np
import pytest

from lab.recipes import compare_models
from tests.test_alarms import RULES, stream
from voxwatch.pipeline.cascade import CascadeRule


def clips(real_scores, fake_scores):
    """One 60 s stream per score: one utterance of three windows at that score."""
    return ([stream([[s] * 3], label=0) for s in real_scores]
            + [stream([[s] * 3], label=1, source="tts") for s in fake_scores])


def test_thresholds_silence_the_real_clips_and_catch_only_fakes_above_them():
    tables = compare_models.clip_tables(clips([0.2, 0.5, 0.3], [0.4, 0.6, 0.9]), RULES)
    assert tables.thresholds[0] == 0.0 and np.all(np.diff(tables.thresholds) > 0)
    real, fake = np.arange(3), np.arange(3)
    # 3 minutes of real speech: a budget under 20 alarms/h allows none, so the threshold must pass 0.5
    eer, catch = compare_models.figures(tables, real, fake, budget=2.0)
    assert catch == pytest.approx(2 / 3)  # 0.6 and 0.9 caught, 0.4 not
    assert eer == pytest.approx(1 / 3, abs=0.2)
    # a budget of one alarm per minute allows all real clips' alarms: everything is caught at threshold 0
    assert compare_models.figures(tables, real, fake, budget=60.0)[1] == 1.0
    # drawing only the quietest real clip lowers the threshold to the next real score, 0.3
    assert compare_models.figures(tables, np.array([0, 0]), fake, budget=2.0)[1] == 1.0


def test_identical_models_differ_by_nothing():
    rng = np.random.default_rng(1)
    tables = compare_models.clip_tables(clips(rng.uniform(size=20), rng.uniform(size=20)), RULES)
    c = compare_models.paired_bootstrap(tables, tables, 2.0, resamples=50)
    assert c.eer_diff == (0.0, 0.0, 0.0) and c.catch_diff == (0.0, 0.0, 0.0)
    assert c.p_eer_better == 0.0 and "within dev noise" in "\n".join(compare_models.report(c, "a", "b", 2.0))


def test_a_clearly_better_model_is_found_better_and_a_coin_flip_is_noise():
    rng = np.random.default_rng(2)
    n = 40
    coin = compare_models.clip_tables(clips(rng.uniform(size=n), rng.uniform(size=n)), RULES)
    good = compare_models.clip_tables(clips(rng.uniform(0.0, 0.4, n), rng.uniform(0.6, 1.0, n)), RULES)
    c = compare_models.paired_bootstrap(coin, good, 2.0, resamples=200)
    assert c.candidate == (0.0, 1.0)
    assert c.eer_diff[2] < 0 and c.catch_diff[1] > 0 and c.p_eer_better == 1.0
    text = "\n".join(compare_models.report(c, "coin", "good", 2.0))
    assert text.count("candidate better") == 2
    other = compare_models.clip_tables(clips(rng.uniform(size=n), rng.uniform(size=n)), RULES)
    noise = compare_models.paired_bootstrap(coin, other, 2.0, resamples=200)
    assert noise.eer_diff[1] < 0 < noise.eer_diff[2]


def test_models_traced_on_different_clips_are_refused():
    a = compare_models.clip_tables(clips([0.1], [0.9]), RULES)
    b = compare_models.clip_tables(clips([0.1, 0.2], [0.9]), RULES)
    with pytest.raises(ValueError):
        compare_models.paired_bootstrap(a, b, 2.0, resamples=5)


def test_a_recipe_is_the_mean_of_its_seeds_and_its_seed_spread_widens_the_interval():
    """Two seeds of one recipe: the full-set figure is their mean, and resampling the seeds adds the spread
    between them to the interval, which a comparison of one lucky seed alone would hide."""
    rng = np.random.default_rng(3)
    n = 40
    coin = compare_models.clip_tables(clips(rng.uniform(size=n), rng.uniform(size=n)), RULES)
    good = compare_models.clip_tables(clips(rng.uniform(0.0, 0.4, n), rng.uniform(0.6, 1.0, n)), RULES)
    other = compare_models.clip_tables(clips(rng.uniform(size=n), rng.uniform(size=n)), RULES)
    lucky = compare_models.paired_bootstrap(coin, good, 2.0, resamples=300)
    recipe = compare_models.recipe_bootstrap([coin], [good, other], 2.0, resamples=300)
    full = np.mean([compare_models.figures(t, np.arange(n), np.arange(n), 2.0) for t in (good, other)], axis=0)
    assert recipe.candidate == pytest.approx(tuple(full)) and recipe.models == (1, 2)
    width = [c.catch_diff[2] - c.catch_diff[1] for c in (lucky, recipe)]
    assert width[1] > 1.5 * width[0]
    assert "mean of daemon-path EER" in "\n".join(compare_models.report(recipe, "a", "b + c", 2.0))


def test_one_model_per_side_is_the_plain_paired_bootstrap_and_a_repeated_seed_changes_nothing():
    rng = np.random.default_rng(4)
    a = compare_models.clip_tables(clips(rng.uniform(size=15), rng.uniform(size=15)), RULES)
    b = compare_models.clip_tables(clips(rng.uniform(size=15), rng.uniform(size=15)), RULES)
    assert compare_models.recipe_bootstrap([a], [b], 2.0, resamples=40) == compare_models.paired_bootstrap(
        a, b, 2.0, resamples=40)
    twice = compare_models.recipe_bootstrap([a, a], [b, b], 2.0, resamples=40)
    once = compare_models.paired_bootstrap(a, b, 2.0, resamples=40)
    assert twice.candidate == once.candidate and twice.baseline == once.baseline
    with pytest.raises(ValueError):
        compare_models.recipe_bootstrap([], [b], 2.0, resamples=5)


def with_verifier(trace, score):
    """The trace with the verifier's ``score`` on every span the router may ask about (a cascade trace)."""
    from voxwatch.pipeline.decision import DecisionSettings
    from voxwatch.training import alarms

    spans = alarms.requested_spans(trace, DecisionSettings(), CascadeRule(0.0, 0.5))
    return dataclasses.replace(trace, checks=tuple((a, b, score, False) for a, b in spans))


def test_a_cascade_is_judged_at_its_verifier_threshold_and_can_beat_its_own_filter_alone():
    """A coin-flip filter behind which a verifier separates the classes: the cascade's tables move the verifier's
    threshold (the gate lets everything through), so it catches every fake with no false alarm."""
    rng = np.random.default_rng(5)
    n = 30
    traces = clips(rng.uniform(0.1, 0.9, n), rng.uniform(0.1, 0.9, n))
    scored = [with_verifier(t, rng.uniform(0.0, 0.3) if t.label == 0 else rng.uniform(0.7, 1.0)) for t in traces]
    alone = compare_models.clip_tables(traces, RULES)
    rule = CascadeRule(gate=0.05, threshold=0.5)
    cascade = compare_models.clip_tables(scored, RULES, rule, filter_threshold=0.5)
    everyone = (np.arange(n), np.arange(n))
    assert compare_models.figures(cascade, *everyone, 2.0) == (0.0, 1.0)
    assert compare_models.figures(alone, *everyone, 2.0)[1] < 0.5
    c = compare_models.paired_bootstrap(alone, cascade, 2.0, resamples=100)
    assert c.catch_diff[1] > 0 and c.eer_diff[2] < 0
    # a gate and a filter threshold above every filter score: nothing reaches the verifier (neither an utterance
    # nor a run of windows), the filter's "real" stands everywhere, nothing is ever flagged
    closed = compare_models.clip_tables(scored, RULES, CascadeRule(gate=0.95, threshold=0.5), filter_threshold=0.95)
    assert compare_models.figures(closed, *everyone, 2.0)[1] == 0.0


def test_the_command_compares_cascades_with_several_verifier_seeds(tmp_path, capsys):
    """End to end: the bundled filter with a verifier trained here, on both sides (once, and as a recipe of the
    same verifier twice): the very same cascade differs by nothing, and the report names what was compared."""
    from test_training import require_torch
    from test_verifier_training import _dataset, train_verifier

    require_torch()
    from voxwatch.models import default_model_path

    root = _dataset(tmp_path / "toy", n_train=3, n_dev=3)
    run = tmp_path / "run"
    assert train_verifier(root, run, "--epochs", "1", "--max-steps", "2") == 0
    verifier = str(run / "verifier.onnx")
    assert compare_models.main(["--data", str(root), "--model", str(default_model_path()), "--verifier", verifier,
                                "--verifier", verifier, "--baseline-verifier", verifier, "--resamples", "20"]) == 0
    out = capsys.readouterr().out
    model_id = json.loads((run / "verifier.json").read_text())["model_id"]
    assert f"verifier {model_id} + {model_id}" in out and "mean of daemon-path EER" in out
    assert "+0.00 [+0.00, +0.00]" in out
