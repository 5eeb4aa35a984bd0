"""``CascadeRouter``: the one place of the decision and routing rules (voxwatch.pipeline.router).

Window scores are given by hand (windows of 2 s every 1 s), and the verifier's answers too, so each rule shows
on its own: early checks that alert mid-utterance, suspicious runs inside a long real utterance, one refractory
rule for every alert, the uncertain band only around the deciding threshold, and score >= threshold == fake.
"""

from __future__ import annotations

import pytest

from voxwatch.pipeline.cascade import CascadeRule
from voxwatch.pipeline.decision import DecisionSettings, Judgement
from voxwatch.pipeline.router import CascadeRouter, VerifyRequest
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.windower import UtteranceEnd, WindowSpec

S = SAMPLE_RATE
RULE = CascadeRule(gate=0.05, threshold=0.9)


def feed(router: CascadeRouter, scores: list[float], answer, utterance: int = 0, offset_s: int = 0):
    """One utterance of windows through the router; ``answer(request)`` gives the verifier's score (None: the
    request could not be queued). Returns (judgements, requests) in order."""
    judgements: list[Judgement] = []
    requests: list[VerifyRequest] = []

    def take(outputs):
        for output in outputs:
            if isinstance(output, VerifyRequest):
                requests.append(output)
                score = answer(output)  # a score, or (score, telephone band)
                if score is None:
                    take(router.on_unverified(output))
                else:
                    take(router.on_verified(output, *score) if isinstance(score, tuple) else
                         router.on_verified(output, score))
            else:
                judgements.append(output)

    start = offset_s * S
    for i, score in enumerate(scores):
        take(router.on_window(WindowSpec(utterance, start + i * S, start + (i + 2) * S), score))
    take(router.on_end(UtteranceEnd(utterance, start, start + (len(scores) + 1) * S, len(scores))))
    return judgements, requests


def kinds(judgements):
    return [j.kind for j in judgements]


def test_filter_alone_decides_with_early_alerts_and_says_why():
    router = CascadeRouter(DecisionSettings(early_windows=2), 0.5, None)
    judged, requests = feed(router, [0.9, 0.9, 0.9, 0.2], lambda r: 1.0)
    assert requests == [] and kinds(judged) == ["alert", "verdict"]
    alert, verdict = judged
    assert alert.early and alert.end == 3 * S and alert.stage == "filter" and alert.refractory_s == 5.0
    assert verdict.verdict == "fake" and verdict.score == pytest.approx(0.725)
    assert verdict.why == "filter 0.73 >= 0.50 on 0.0-5.0 s"


def test_a_synthetic_monologue_alerts_after_its_first_windows_not_at_its_end():
    router = CascadeRouter(DecisionSettings(), 0.5, RULE)  # early_windows = 3
    judged, requests = feed(router, [0.99] * 25, lambda r: 0.97)
    assert [r.kind for r in requests] == ["early", "segment", "utterance"]
    alert = judged[0]
    assert alert.kind == "alert" and alert.early and alert.end_s == 4.0 and alert.stage == "verifier"
    assert alert.why == "verifier 0.97 >= 0.90 on 0.0-4.0 s; filter 0.99"
    verdict = judged[-1]
    assert kinds(judged) == ["alert", "verdict"] and verdict.verdict == "fake" and verdict.early_alert


def test_fake_speech_spliced_into_real_speech_is_found_by_its_run_of_windows():
    # 6 s real, 8 s fake, 6 s real in one utterance: the utterance as a whole scores real, its fake run does not
    scores = [0.1] * 6 + [0.99] * 8 + [0.1] * 6

    def verifier(request):
        fake = 6 * S <= request.start and request.end <= 16 * S
        return 0.99 if fake else 0.2

    router = CascadeRouter(DecisionSettings(), 0.5, RULE)
    judged, requests = feed(router, scores, verifier)
    segments = [r for r in requests if r.kind != "utterance"]
    assert [(r.kind, r.start // S, r.end // S) for r in segments] == [("early", 6, 10), ("segment", 6, 15)]
    verdict = judged[-1]
    assert verdict.verdict == "fake" and verdict.score >= verdict.threshold == 0.9
    assert "on 6.0-" in verdict.why and verdict.start == 0  # the utterance's span, the segment's in why
    assert [a.start // S for a in judged if a.kind == "alert"] == [6]


def test_real_speech_with_a_suspicious_run_stays_real_when_the_verifier_says_so():
    router = CascadeRouter(DecisionSettings(), 0.5, RULE)
    judged, requests = feed(router, [0.1] * 4 + [0.8] * 5 + [0.1] * 4, lambda r: 0.1)
    assert {r.kind for r in requests} == {"early", "segment", "utterance"}
    assert kinds(judged) == ["verdict"] and judged[0].verdict == "real" and judged[0].score < judged[0].threshold


def test_segment_windows_sets_the_shortest_run_checked_whole():
    scores = [0.1, 0.1, 0.99, 0.99, 0.1, 0.1]  # a two-window run inside real speech
    for segment_windows, expected in ((2, ["segment", "utterance"]), (3, ["utterance"])):
        rule = CascadeRule(0.05, 0.9, segment_windows=segment_windows)
        _, requests = feed(CascadeRouter(DecisionSettings(), 0.5, rule), scores, lambda r: 0.1)
        assert [r.kind for r in requests] == expected


def test_what_is_checked_depends_only_on_the_filter():
    scores = [0.1, 0.9, 0.9, 0.9, 0.9, 0.2, 0.9, 0.1]
    spans = []
    for answer in (lambda r: 0.0, lambda r: 1.0, lambda r: None):
        _, requests = feed(CascadeRouter(DecisionSettings(), 0.5, RULE), scores, answer)
        spans.append([(r.kind, r.start, r.end) for r in requests])
    assert spans[0] == spans[1] == spans[2] and len(spans[0]) == 3


def test_one_refractory_rule_for_every_alert_whichever_stage_raises_it():
    decision = DecisionSettings(refractory_s=30.0)
    router = CascadeRouter(decision, 0.5, RULE)
    first, _ = feed(router, [0.99] * 5, lambda r: 0.99, utterance=0, offset_s=0)
    second, _ = feed(router, [0.99] * 5, lambda r: 0.99, utterance=1, offset_s=10)
    third, _ = feed(router, [0.99] * 5, lambda r: 0.99, utterance=2, offset_s=40)
    alerts = [j for j in first + second + third if j.kind == "alert"]
    assert [a.utterance for a in alerts] == [0, 2]  # the second came within 30 s of the first
    assert all(a.refractory_s == 30.0 for a in alerts)
    assert [j.verdict for j in second if j.kind == "verdict"] == ["fake"]  # verdicts are never suppressed


def test_uncertain_only_around_the_deciding_threshold_never_the_gate():
    decision = DecisionSettings(uncertain_band=0.05)
    router = CascadeRouter(decision, 0.5, CascadeRule(gate=0.02, threshold=0.9))
    quiet, requests = feed(router, [0.03, 0.03], lambda r: 0.5)  # over the gate: the verifier decides
    assert quiet[-1].stage == "verifier" and quiet[-1].verdict == "real"
    router = CascadeRouter(decision, 0.5, CascadeRule(gate=0.2, threshold=0.9))
    under, requests = feed(router, [0.01, 0.01], lambda r: 0.5)  # under the gate, near it: still real
    assert requests == [] and under[-1].verdict == "real" and under[-1].threshold == 0.5
    near, _ = feed(CascadeRouter(decision, 0.5, RULE), [0.99] * 3, lambda r: 0.88)
    assert near[-1].verdict == "uncertain" and near[-1].stage == "verifier" and near[-1].band == 0.05
    gate_above, _ = feed(CascadeRouter(decision, 0.5, CascadeRule(gate=0.8, threshold=0.9)), [0.78], lambda r: 0.5)
    assert (gate_above[-1].verdict, gate_above[-1].threshold, gate_above[-1].band) == ("real", 0.8, 0.0)


def test_score_against_threshold_is_the_verdict_outside_the_band():
    for verifier_score in (0.1, 0.5, 0.89, 0.9, 0.95):
        for scores in ([0.99] * 6, [0.3] * 4, [0.01] * 3):
            judged, _ = feed(CascadeRouter(DecisionSettings(), 0.5, RULE), scores, lambda r, v=verifier_score: v)
            for j in judged:
                assert (j.score >= j.threshold) == (j.verdict == "fake"), j


def test_a_lost_utterance_check_leaves_the_filters_verdict_and_alert_standing():
    router = CascadeRouter(DecisionSettings(early_windows=0), 0.5, CascadeRule(0.05, 0.9, segment_windows=10))
    judged, requests = feed(router, [0.99] * 4, lambda r: None)
    assert [r.kind for r in requests] == ["utterance"]
    assert kinds(judged) == ["alert", "verdict"] and all(j.stage == "filter" for j in judged)
    assert judged[-1].verdict == "fake" and judged[-1].why.endswith("verifier busy")


def test_answers_arriving_after_the_utterance_ended_still_make_its_verdict():
    router = CascadeRouter(DecisionSettings(), 0.5, RULE)
    pending = []
    for i in range(5):
        pending += [o for o in router.on_window(WindowSpec(0, i * S, (i + 2) * S), 0.99)
                    if isinstance(o, VerifyRequest)]
    pending += [o for o in router.on_end(UtteranceEnd(0, 0, 6 * S, 5)) if isinstance(o, VerifyRequest)]
    assert router.pending == len(pending) == 3
    out = [j for request in pending for j in router.on_verified(request, 0.95)]
    assert kinds(out) == ["alert", "verdict"] and out[0].early and router.pending == 0


def test_a_reload_that_turns_the_verifier_off_while_checks_are_out_still_gives_the_verdict():
    router = CascadeRouter(DecisionSettings(), 0.5, RULE)
    pending = [o for i in range(4) for o in router.on_window(WindowSpec(0, i * S, (i + 2) * S), 0.99)
               if isinstance(o, VerifyRequest)]
    pending += [o for o in router.on_end(UtteranceEnd(0, 0, 5 * S, 4)) if isinstance(o, VerifyRequest)]
    router.reconfigure(DecisionSettings(), 0.5, None)  # SIGHUP: [verifier] enabled = false
    out = [j for request in pending for j in router.on_verified(request, 0.99)]
    assert [j.kind for j in out] == ["verdict"] and out[0].stage == "filter" and router.pending == 0
    assert out[0].why.endswith("verifier off")
