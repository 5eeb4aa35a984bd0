import pytest

from voxwatch.errors import ConfigError
from voxwatch.pipeline.decision import (
    DecisionSettings,
    Judgement,
    UtteranceDecider,
    aggregate_scores,
    resolve_threshold,
    verdict_for,
)
from voxwatch.pipeline.samplerate import SAMPLE_RATE as SR
from voxwatch.pipeline.windower import UtteranceEnd, WindowSpec


def feed(decider, utterance, scores, start=0):
    out = []
    for i, s in enumerate(scores):
        out += decider.on_score(WindowSpec(utterance, start + i * SR, start + (i + 2) * SR), s)
    end = start + (len(scores) + 1) * SR
    out += decider.on_end(UtteranceEnd(utterance, start, end, len(scores)))
    return out


def test_aggregates():
    assert aggregate_scores([0.2, 0.4, 0.9]) == pytest.approx(0.5)
    assert aggregate_scores([0.2, 0.4, 0.9], "median") == pytest.approx(0.4)
    assert aggregate_scores([0.2, 0.4, 0.9], "max") == pytest.approx(0.9)
    with pytest.raises(ValueError):
        aggregate_scores([])


def test_one_verdict_per_utterance_and_alert_when_fake():
    d = UtteranceDecider(DecisionSettings(early_windows=0), threshold=0.5)
    real = feed(d, 0, [0.1, 0.2, 0.3])
    assert [(j.kind, j.verdict) for j in real] == [("verdict", "real")]
    assert real[0].score == pytest.approx(0.2) and real[0].windows == 3
    fake = feed(d, 1, [0.7, 0.9], start=100 * SR)
    assert [(j.kind, j.verdict) for j in fake] == [("alert", "fake"), ("verdict", "fake")]


def test_early_alert_after_n_consecutive_windows_then_no_second_alert():
    d = UtteranceDecider(DecisionSettings(early_windows=2, refractory_s=0), threshold=0.5)
    out = feed(d, 0, [0.9, 0.2, 0.8, 0.9, 0.95])
    alerts = [j for j in out if j.kind == "alert"]
    assert len(alerts) == 1 and alerts[0].early and alerts[0].windows == 4
    assert out[-1].kind == "verdict" and out[-1].verdict == "fake"


def test_refractory_suppresses_alerts_not_verdicts():
    d = UtteranceDecider(DecisionSettings(early_windows=0, refractory_s=10.0), threshold=0.5)
    first = feed(d, 0, [0.9, 0.9])
    second = feed(d, 1, [0.9, 0.9], start=5 * SR)  # ends 8 s after the first alert
    third = feed(d, 2, [0.9, 0.9], start=30 * SR)
    assert [j.kind for j in first] == ["alert", "verdict"]
    assert [j.kind for j in second] == ["verdict"]
    assert [j.kind for j in third] == ["alert", "verdict"]
    assert [j.refractory_s for j in first] == [10.0, 0.0]  # an alert says how long the quiet after it lasts


def test_utterance_without_windows_gives_nothing():
    d = UtteranceDecider(DecisionSettings(), 0.5)
    assert d.on_end(UtteranceEnd(0, 0, 100, 0)) == []


def test_reconfigure_changes_threshold():
    d = UtteranceDecider(DecisionSettings(early_windows=0), 0.5)
    d.reconfigure(DecisionSettings(early_windows=0, threshold=0.1), 0.1)
    assert feed(d, 0, [0.2, 0.2])[-1].verdict == "fake"


@pytest.mark.parametrize("bad", [{"aggregate": "mode"}, {"threshold": 1.5}, {"early_windows": -1}])
def test_bad_settings(bad):
    with pytest.raises(ConfigError):
        DecisionSettings(**bad)


def test_k_of_n_early_alert_tolerates_one_low_window():
    consecutive = UtteranceDecider(DecisionSettings(early_windows=3, refractory_s=0), threshold=0.5)
    k_of_n = UtteranceDecider(DecisionSettings(early_windows=3, early_of=4, refractory_s=0), threshold=0.5)
    scores = [0.9, 0.9, 0.1, 0.9, 0.0, 0.0]  # mean below 0.5; never 3 in a row, but 3 of the last 4 at the 4th
    assert not any(j.kind == "alert" for j in feed(consecutive, 0, scores))
    alerts = [j for j in feed(k_of_n, 0, scores) if j.kind == "alert"]
    assert len(alerts) == 1 and alerts[0].early and alerts[0].windows == 4


def test_no_alert_below_min_judged_speech_but_verdict_still_fake():
    d = UtteranceDecider(DecisionSettings(early_windows=0, min_alert_s=3.5), threshold=0.5)
    short = feed(d, 0, [0.9])  # one 2 s window: 2 s of judged speech
    assert [(j.kind, j.verdict) for j in short] == [("verdict", "fake")]
    longer = feed(d, 1, [0.9, 0.9], start=50 * SR)  # two windows 1 s apart: 3 s judged
    assert [j.kind for j in longer] == ["verdict"]
    long_enough = feed(d, 2, [0.9, 0.9, 0.9], start=100 * SR)  # 4 s judged
    assert [j.kind for j in long_enough] == ["alert", "verdict"]


def test_early_of_below_early_windows_is_a_config_error():
    with pytest.raises(ConfigError):
        DecisionSettings(early_windows=3, early_of=2)


def test_the_config_threshold_wins_and_model_falls_back_to_the_card():
    assert resolve_threshold(DecisionSettings(threshold=0.3), model_threshold=0.8) == 0.3
    assert resolve_threshold(DecisionSettings(threshold=0.0), model_threshold=0.8) == 0.0  # 0 is a threshold
    assert resolve_threshold(DecisionSettings(), model_threshold=0.8) == 0.8


def test_a_score_at_the_threshold_is_fake():
    assert verdict_for(0.5, 0.5) == "fake" and verdict_for(0.4999, 0.5) == "real"
    d = UtteranceDecider(DecisionSettings(early_windows=0), threshold=0.5)
    assert feed(d, 0, [0.5, 0.5])[-1].verdict == "fake"


@pytest.mark.parametrize("kind, verdict", [("window", "fake"), ("verdict", "real"), ("alert", "fake")])
def test_judgement_kinds_and_verdicts(kind, verdict):
    assert Judgement(kind, 0, 0, SR, 0.9, 0.5, verdict, 1).kind == kind


@pytest.mark.parametrize("kind, verdict", [("warning", "fake"), ("verdict", "no-speech"), ("Alert", "fake")])
def test_judgement_refuses_kinds_and_verdicts_outside_its_literals(kind, verdict):
    with pytest.raises(ValueError, match="not a judgement"):
        Judgement(kind, 0, 0, SR, 0.9, 0.5, verdict, 1)


def test_an_early_alert_carries_the_real_aggregate_and_the_verdict_says_it_alerted_early():
    # 2 of the last 3 windows over the threshold raise the alert; the three windows average less than it
    d = UtteranceDecider(DecisionSettings(early_windows=2, early_of=3, refractory_s=0), threshold=0.5)
    out = feed(d, 0, [0.05, 0.6, 0.55, 0.1, 0.1])
    alert, verdict = out[0], out[-1]
    assert alert.kind == "alert" and alert.early and alert.windows == 3
    assert alert.score == pytest.approx((0.05 + 0.6 + 0.55) / 3) and alert.score < alert.threshold  # not clamped up
    assert (verdict.kind, verdict.verdict, verdict.early_alert) == ("verdict", "real", True)
    later = feed(d, 1, [0.1, 0.2], start=100 * SR)
    assert [(j.kind, j.early_alert) for j in later] == [("verdict", False)]  # the next utterance starts afresh
    at_end = feed(UtteranceDecider(DecisionSettings(early_windows=0), 0.5), 2, [0.9, 0.9])
    assert [(j.kind, j.early_alert) for j in at_end] == [("alert", False), ("verdict", False)]
