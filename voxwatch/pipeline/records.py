"""A ``Judgement`` as plain JSON fields: the one serializer of the decision stage's result.

Every place that shows or sends a judgement takes its fields from ``judgement_fields``: the alert and verdict
events (``voxwatch.transport.events.event_fields`` adds the model), the evidence sidecars, ``voxwatch score
--json``'s spans (``FileScore.record``), and the web API's spans, windows and alerts. So a field added to
``Judgement`` (such as ``why``) reaches all of them at once, with the same name and rounding everywhere.

It lives in ``pipeline/`` (the lowest layer besides ``errors``) so that the transport, the daemon, the detector
and the web can all import it without importing each other.
"""

from __future__ import annotations

from typing import Any

from voxwatch.pipeline.decision import Judgement

SCORE_DIGITS = 6  # scores and thresholds
TIME_DIGITS = 3  # start_s and end_s: a millisecond


def rounded(value: float | None, digits: int = SCORE_DIGITS) -> float | None:
    return None if value is None else round(float(value), digits)


def judgement_fields(judgement: Judgement) -> dict[str, Any]:
    """The judgement's fields, in the event schema's names (README, "Events"; docs/guides.md).

    ``score`` and ``threshold`` are the deciding stage's (``stage``: ``filter`` or ``verifier``); ``filter_score``
    is the filter's score (its own ``score`` where the filter decided and no other was recorded) and
    ``verifier_score`` the verifier network's (None where the utterance did not reach it). An alert adds
    ``refractory_s`` (how long the daemon then stays quiet about its stream), a verdict ``early_alert`` (whether
    its utterance already raised an early alert, whose score may differ). ``why``, the short human reason, is
    there only when the decision stage gave one; ``band``, the uncertain band around the threshold, only when one
    is in force. Clone watch: an alert says its ``reason`` (``synthetic`` or ``clone``); ``voice`` (name,
    similarity, clone_score, match: ``VoiceMatch.record``) is there only where the utterance had a voice check.
    """
    filter_score = judgement.filter_score
    if filter_score is None and judgement.stage == "filter":
        filter_score = judgement.score
    fields: dict[str, Any] = {
        "utterance": judgement.utterance,
        "start_s": round(judgement.start_s, TIME_DIGITS),
        "end_s": round(judgement.end_s, TIME_DIGITS),
        "score": rounded(judgement.score),
        "threshold": rounded(judgement.threshold),
        "verdict": judgement.verdict,
        "windows": judgement.windows,
        "early": judgement.early,
        "stage": judgement.stage,
        "filter_score": rounded(filter_score),
        "verifier_score": rounded(judgement.verifier_score),
    }
    if judgement.kind == "alert":
        fields["refractory_s"] = judgement.refractory_s
        fields["reason"] = judgement.reason
    if judgement.kind == "verdict":
        fields["early_alert"] = judgement.early_alert
    if judgement.why:
        fields["why"] = judgement.why
    if judgement.band:
        fields["band"] = judgement.band
    if judgement.voice is not None:
        fields["voice"] = judgement.voice.record()
    return fields
