"""The short-run threshold is searched over the verifier's deciding scores, on the fusion's scale."""

from lab.short_threshold import _deciding_scores
from tests.test_alarms import RULES, stream, with_verifier
from voxwatch.pipeline.cascade import CascadeRule, fused_score


def test_the_candidates_are_the_fused_scores_not_the_networks():
    trace = with_verifier(stream([[0.9, 0.95, 0.97], [0.9, 0.9]], gap_s=10.0), [0.8, 0.6])
    fusion = (1.0, 1.0, 0.5)
    rule = CascadeRule(gate=0.5, threshold=0.5, fusion=fusion)
    scores = _deciding_scores([trace], RULES, 0.5, rule, 0.0)
    assert scores and not scores & {0.8, 0.6}  # the network's raw answers are on another scale
    from voxwatch.training import alarms

    judged = [j for j in alarms.decide(trace, RULES, 0.5, rule) if j.stage == "verifier"]
    assert scores == {fused_score(j.filter_score, j.verifier_score, fusion) for j in judged}
    assert _deciding_scores([trace], RULES, 0.5, rule, 1.0) == set()  # ``least`` bounds them from below
