"""False alarms per hour and caught fake utterances, by the daemon's decision rules (numpy only)."""

import numpy as np
import pytest

from voxwatch.pipeline.decision import DecisionSettings
from voxwatch.training import alarms
from voxwatch.training.alarms import ClipTrace, TraceStep

SR = 16000


def stream(utterances, duration_s=60.0, label=0, source="s", gap_s=10.0):
    """A trace of utterances (lists of window scores, windows 2 s long every 1 s) separated by ``gap_s``."""
    steps, t = [], 0
    for u, scores in enumerate(utterances):
        start = t
        for i, s in enumerate(scores):
            steps.append(TraceStep(u, start + i * SR, start + (i + 2) * SR, s))
        end = start + (len(scores) + 1) * SR
        steps.append(TraceStep(u, start, end, None, len(scores)))
        t = end + int(gap_s * SR)
    return ClipTrace(tuple(steps), duration_s, label, source)


RULES = DecisionSettings(early_windows=3, refractory_s=5.0)


def test_alerts_follow_the_daemon_rules_and_fall_as_the_threshold_rises():
    trace = stream([[0.9, 0.95, 0.97, 0.96], [0.2, 0.3], [0.7, 0.8]])
    assert alarms.alerts(trace, RULES, 0.5) == 2  # early alert in the first, end alert in the third
    assert alarms.alerts(trace, RULES, 0.85) == 1
    assert alarms.alerts(trace, RULES, 0.99) == 0
    assert [alarms.alerts(trace, RULES, t) for t in np.linspace(0, 1, 21)] == sorted(
        [alarms.alerts(trace, RULES, t) for t in np.linspace(0, 1, 21)], reverse=True)


def test_refractory_period_suppresses_a_second_alert_but_the_utterance_still_counts_as_caught():
    trace = stream([[0.9, 0.9], [0.9, 0.9]], label=1, gap_s=1.0)
    assert alarms.alerts(trace, RULES, 0.5) == 1
    point = alarms.operating_point([trace], RULES, 0.5)
    assert (point.caught, point.fake_utterances) == (2, 2)
    far = stream([[0.9, 0.9], [0.9, 0.9]], label=1, gap_s=30.0)
    assert alarms.alerts(far, RULES, 0.5) == 2


def test_min_alert_s_removes_alarms_on_short_utterances():
    trace = stream([[0.9], [0.9], [0.1, 0.2, 0.1]])  # two one-window utterances score high
    assert alarms.alerts(trace, RULES, 0.5) == 2
    assert alarms.alerts(trace, DecisionSettings(early_windows=3, min_alert_s=2.5), 0.5) == 0


def test_flag_score_is_the_highest_threshold_that_still_alerts():
    trace = stream([[0.2, 0.3], [0.6, 0.7, 0.65]])
    score = alarms.flag_score(trace, RULES)
    assert alarms.alerts(trace, RULES, score) >= 1
    assert alarms.alerts(trace, RULES, float(np.nextafter(score, 2))) == 0
    assert score == pytest.approx(0.65)  # the second utterance's mean (its windows never run 3 over 0.7)
    assert alarms.flag_score(ClipTrace((), 3.0, 0), RULES) == alarms.NEVER_FLAGGED


def test_operating_point_counts_false_alarms_per_hour_and_catch_rate_per_source():
    real = [stream([[0.1, 0.2], [0.8, 0.9]], duration_s=1800.0)]
    fake = [stream([[0.9, 0.9]], label=1, source="tts-a"), stream([[0.3, 0.2]], label=1, source="tts-b")]
    point = alarms.operating_point(real + fake, RULES, 0.5)
    assert point.false_alarms == 1 and point.real_hours == pytest.approx(0.5)
    assert point.false_alarms_per_hour == pytest.approx(2.0)
    assert (point.caught, point.fake_utterances) == (1, 2) and point.catch_rate == pytest.approx(0.5)
    assert point.per_source == {"tts-a": (1, 1), "tts-b": (0, 1)}


def test_threshold_for_false_alarms_is_the_lowest_that_keeps_the_budget():
    rng = np.random.default_rng(0)
    real = [stream([list(rng.uniform(0, 1, 3)) for _ in range(5)], duration_s=3600.0) for _ in range(4)]
    for budget in (0.0, 1.0, 3.0):
        t = alarms.threshold_for_false_alarms(real, RULES, budget)
        assert alarms.operating_point(real, RULES, t).false_alarms_per_hour <= budget
        lower = max((c for tr in real for c in tr.candidates if c < t), default=None)
        if lower is not None:  # one step lower breaks the budget
            assert alarms.operating_point(real, RULES, lower).false_alarms_per_hour > budget
    with pytest.raises(ValueError):
        alarms.threshold_for_false_alarms([stream([[0.5]], label=1)], RULES, 1.0)


def test_sweep_covers_zero_to_one_and_is_monotone():
    traces = [stream([[0.1, 0.7, 0.4]], duration_s=600.0), stream([[0.6, 0.8]], label=1)]
    points = alarms.sweep(traces, RULES, points=11)
    assert points[0].threshold == 0.0 and points[-1].threshold == 1.0
    fa = [p.false_alarms for p in points]
    assert fa == sorted(fa, reverse=True) and fa[0] >= 1 and fa[-1] == 0


def with_verifier(trace, scores, settings=None, telephone=False):
    """The trace with the verifier's answer to every span the router may ask about: ``scores[i]`` for any span
    inside the i-th utterance (its audio in the telephone band where ``telephone``)."""
    import dataclasses

    from voxwatch.pipeline.cascade import CascadeRule

    settings = settings or RULES
    ends = [s for s in trace.steps if s.score is None]
    spans = alarms.requested_spans(trace, settings, CascadeRule(0.0, 0.5))
    checks = tuple((a, b, next(score for end, score in zip(ends, scores, strict=True)
                               if end.start <= a and b <= end.end), telephone) for a, b in spans)
    return dataclasses.replace(trace, checks=checks)


def test_the_cascade_re_runs_on_a_trace_for_any_verifier_threshold():
    from voxwatch.pipeline.cascade import CascadeRule

    # three utterances: the filter flags the first two (0.9), the third stays under the gate (0.2)
    trace = with_verifier(stream([[0.9, 0.9, 0.9], [0.9, 0.9], [0.2, 0.2]], gap_s=10.0), [0.3, 0.8, 0.99])
    rule = CascadeRule(gate=0.5, threshold=0.5)
    judged = alarms.decide(trace, RULES, 0.5, rule)
    verdicts = [(j.verdict, j.stage) for j in judged if j.kind == "verdict"]
    assert verdicts == [("real", "verifier"), ("fake", "verifier"), ("real", "filter")]
    assert [(j.kind, j.utterance, j.early) for j in judged if j.kind == "alert"] == [("alert", 1, False)]
    assert alarms.alerts(trace, RULES, 0.5) == 2  # the filter alone: an early alert on each of the first two
    assert alarms.flag_score(trace, RULES, rule, 0.5) == pytest.approx(0.8)  # the third never reaches it
    assert alarms.threshold_for_false_alarms([trace], RULES, 0.0, rule, 0.5) == pytest.approx(np.nextafter(0.8, 2))
    point = alarms.operating_point([trace], DecisionSettings(early_windows=3, uncertain_band=0.15), 0.5,
                                   CascadeRule(0.5, 0.7))
    assert point.uncertain == 1 and point.utterances == 3 and point.threshold == 0.7  # 0.8 is within 0.15
    curve = alarms.sweep([trace], RULES, points=11, rule=rule, filter_threshold=0.5)
    assert [p.false_alarms for p in curve] == sorted([p.false_alarms for p in curve], reverse=True)
    assert alarms.catch_at_false_alarms([[0.1, 5.0, 0.9], [0.5, 1.0, 0.6], [0.9, 0.0, 0.2]], 2.0) == 0.6
