"""Choosing the decision rules and the card threshold on dev (lab.recipes.select_rules), and both dev tools end to end
on a tiny generated corpus."""

from lab.recipes import compare_models, select_rules
from lab.recipes.select_rules import choose, rule_grid
from tests.test_alarms import stream
from voxwatch.models import default_model_path
from voxwatch.pipeline.decision import DecisionSettings


def test_rule_selection_prefers_rules_that_silence_short_real_utterances():
    base = DecisionSettings()
    assert rule_grid(base)[0] == base and len(set(rule_grid(base))) == len(rule_grid(base))
    # real speech: many one-window utterances scoring high; fakes: long utterances scoring a little higher
    real = [stream([[0.8], [0.2, 0.3, 0.2]], duration_s=120.0) for _ in range(6)]
    fake = [stream([[0.7, 0.75, 0.7, 0.72]], label=1, source="tts") for _ in range(4)]
    ranked = choose(real + fake, base, budget=0.0)
    best = ranked[0]
    assert best.catch_rate == 1.0 and best.dev_false_alarms_per_hour == 0.0
    assert best.rules.min_alert_s >= 2.0 and best.threshold <= 0.7
    plain = next(s for s in ranked if s.rules == base)
    assert plain.catch_rate == 0.0  # without the rule, only a threshold above 0.8 keeps the real speech quiet


def test_select_rules_and_compare_models_run_end_to_end_on_dev(tiny_corpus, capsys):
    """Both dev tools replay the dev clips through the daemon path with the model's own feature settings; a model
    compared with itself differs by nothing."""
    assert select_rules.main(["--data", str(tiny_corpus), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "4 dev clips" in out and "(rules in force)" in out
    bundled = str(default_model_path())
    assert compare_models.main(["--data", str(tiny_corpus), "--model", bundled, "--resamples", "20"]) == 0
    out = capsys.readouterr().out
    assert "+0.00 [+0.00, +0.00]" in out and out.count("within dev noise") == 2
    # recipes: the same model twice on each side, judged with another aggregate, still differ by nothing
    assert compare_models.main(["--data", str(tiny_corpus), "--model", bundled, "--model", bundled,
                                "--baseline", bundled, "--aggregate", "max", "--resamples", "20"]) == 0
    out = capsys.readouterr().out
    assert "aggregate max" in out and "each side's models" in out and f"{bundled} + {bundled}" in out
    assert "+0.00 [+0.00, +0.00]" in out and out.count("within dev noise") == 2
