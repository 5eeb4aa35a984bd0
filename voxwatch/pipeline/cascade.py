"""The cascade's rules: which utterances the verifier judges, and what its score makes of them.

The filter scores every window; an utterance whose filter score (the decision's aggregate) reaches the **gate**
goes to the verifier, whose score against its own **threshold** is the verdict and may raise the alert. Below the
gate the filter's REAL stands (``uncertain`` within the band under the gate) and nothing more is spent.

The verifier's deciding score is its network's score, or, where its card has a ``fusion`` (fitted on dev), a
logistic fusion of its network's and the filter's scores: the verifier then decides with the filter's evidence
as one of its inputs instead of discarding it (``fused_score``; docs/verifier.md). Both the
threaded ``Pipeline`` and the synchronous ``Detector`` apply exactly these functions.

Early alerts: where a verifier judges a stream, the filter raises none (``filter_settings``): a fake verdict needs
the verifier, which sees the whole utterance (up to its ``max_s``), so alerts come when the utterance ends (at the
latest after ``[vad] max_utterance_s``). An alert that the verifier would overturn a second later is the false
alarm the cascade exists to avoid.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from voxwatch.errors import ConfigError
from voxwatch.pipeline.decision import DecisionSettings, Judgement, alerts_on, verdict_for
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.stages.verifier.card import VerifierCard


@dataclass(frozen=True)
class VerifierSettings:
    """``[verifier]`` (and ``[streams.<id>.verifier]``): whether and how the verifier runs behind the filter."""

    enabled: bool = True  # without a verifier model the filter decides alone whatever this says
    model: str = ""  # "" = the verifier bundled with the package, if any
    gate: float | None = None  # None: the verifier card's gate (chosen on dev for its filter)
    threshold: float | None = None  # None: the verifier card's threshold
    queue_utterances: int = 64  # utterances waiting for the verifier; beyond it the filter's verdict stands
    threads: int = 1  # onnxruntime intra-op threads of the verifier

    def __post_init__(self) -> None:
        for name in ("gate", "threshold"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f'verifier.{name} must be in [0, 1] or "model"')
        if self.queue_utterances <= 0 or self.threads <= 0:
            raise ConfigError("verifier.queue_utterances and verifier.threads must be > 0")


@dataclass(frozen=True)
class CascadeRule:
    """A stream's resolved gate (on the filter's utterance score), verifier threshold and the card's fusion
    weights (filter logit, verifier logit, bias; None: the network's score decides alone)."""

    gate: float
    threshold: float
    fusion: tuple[float, float, float] | None = None


def resolve_rule(settings: VerifierSettings, card: VerifierCard) -> CascadeRule | None:
    """The rule for settings whose verifier is loaded (None: this stream is judged by the filter alone)."""
    if not settings.enabled:
        return None
    return CascadeRule(card.gate if settings.gate is None else settings.gate,
                       card.threshold if settings.threshold is None else settings.threshold, card.fusion_weights)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1.0 - 1e-6)
    return math.log(p / (1.0 - p))


def fused_score(filter_score: float, verifier_score: float, fusion: tuple[float, float, float] | None) -> float:
    """The verifier's deciding score: its network's, or sigmoid(a*logit(filter) + b*logit(network) + c)."""
    if fusion is None:
        return float(verifier_score)
    a, b, c = fusion
    z = a * _logit(filter_score) + b * _logit(verifier_score) + c
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def filter_settings(decision: DecisionSettings, rule: CascadeRule | None) -> DecisionSettings:
    """The filter's own decision settings on a stream: no early alerts where a verifier has the last word."""
    return decision if rule is None else dataclasses.replace(decision, early_windows=0)


def gated(verdict: Judgement, rule: CascadeRule) -> bool:
    return verdict.score >= rule.gate


def below_gate(verdict: Judgement, rule: CascadeRule, decision: DecisionSettings) -> Judgement:
    """The filter's verdict on an utterance under the gate: real (uncertain within the band under the gate)."""
    label = verdict_for(verdict.score, rule.gate, decision.uncertain_band)
    return dataclasses.replace(verdict, verdict=label, threshold=rule.gate, stage="filter",
                               filter_score=verdict.score)


def verified(verdict: Judgement, score: float, rule: CascadeRule, decision: DecisionSettings) -> Judgement:
    """The verifier's verdict on a gated utterance from its network's ``score``: ``score`` of the verdict is the
    deciding (possibly fused) score, ``verifier_score`` the network's; the filter's score travels with it."""
    deciding = fused_score(verdict.score, score, rule.fusion)
    label = verdict_for(deciding, rule.threshold, decision.uncertain_band)
    return dataclasses.replace(verdict, score=deciding, threshold=rule.threshold, verdict=label, stage="verifier",
                               filter_score=verdict.score, verifier_score=float(score), early=False)


class VerifierAlerts:
    """One stream's alert rules for verifier verdicts: ``min_alert_s`` and ``refractory_s`` as the filter's."""

    def __init__(self) -> None:
        self._last_alert_end: int | None = None

    def alert_for(self, verdict: Judgement, decision: DecisionSettings) -> Judgement | None:
        if not alerts_on(verdict.verdict, decision):
            return None
        if verdict.end - verdict.start < decision.min_alert_s * SAMPLE_RATE:
            return None
        if self._last_alert_end is not None and \
                verdict.end - self._last_alert_end < decision.refractory_s * SAMPLE_RATE:
            return None
        self._last_alert_end = verdict.end
        return dataclasses.replace(verdict, kind="alert")
