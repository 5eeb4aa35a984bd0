"""The verifier's operating point on dev, by the daemon's own rules (voxwatch.training.alarms).

Every dev clip is replayed as a stream through the filter (``Detector`` without a verifier); each utterance also
gets the verifier's score of the audio the daemon would hand it. Then:

* the **gate** is the highest filter utterance score that still lets ``gate_pass`` of the fake dev utterances
  through (below it the filter's "real" stands);
* the **fusion** (unless turned off) is a class-balanced logistic regression of the label on the logits of the
  filter's and the network's scores of the gated dev utterances: three numbers, so that the verifier decides with
  the filter's evidence instead of throwing it away;
* the **threshold** is the lowest verifier threshold whose cascade alerts stay within ``budget`` false alarms per
  hour of the dev real speech (the rule the filter's own card threshold follows).

The filter alone and the cascade are both summarised at those points for the card (catch within the budget).
The lab's ``python -m lab.refit_verifier VERIFIER.onnx --data DIR...`` chooses them again for an exported verifier
and rewrites its card.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from voxwatch.detector import Detector
from voxwatch.pipeline.cascade import CascadeRule
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.training import alarms
from voxwatch.training.datasets import Clip
from voxwatch.training.logistic import balanced_logistic, logit


def fake_utterance_scores(traces: list[alarms.ClipTrace], detector: Detector) -> np.ndarray:
    """The filter's utterance scores (the decision's aggregate) of the fake traces."""
    settings = detector.config.pipeline.decision
    return np.array([j.score for t in traces if t.label == 1
                     for j in alarms.decide(t, settings, detector.threshold) if j.kind == "verdict"])


def choose_gate(fake_scores: np.ndarray, gate_pass: float) -> float:
    """The highest gate that passes at least ``gate_pass`` of these fake utterance scores."""
    fake = np.sort(fake_scores[~np.isnan(fake_scores)])
    if len(fake) == 0:
        return 0.0
    return float(fake[int(np.floor((1.0 - gate_pass) * len(fake)))])


def fit_fusion(filter_scores: np.ndarray, verifier_scores: np.ndarray, labels: np.ndarray,
               l2: float = 1e-2) -> tuple[float, float, float]:
    """Class-balanced logistic regression (``voxwatch.training.logistic``) of the label on both logits."""
    w = balanced_logistic(np.c_[logit(filter_scores), logit(verifier_scores)], labels, l2)
    return float(w[0]), float(w[1]), float(w[2])


def gated_pairs(traces: list[alarms.ClipTrace], detector: Detector, gate: float) -> tuple[np.ndarray, ...]:
    """(filter score, network score, label) of every utterance that reaches the gate."""
    settings = detector.config.pipeline.decision
    rows = [(j.filter_score, j.verifier_score, t.label) for t in traces
            for j in alarms.decide(t, settings, detector.threshold, CascadeRule(gate, 0.5))
            if j.kind == "verdict" and j.stage == "verifier"]
    f, v, y = (np.array(c, dtype=float) for c in zip(*rows, strict=True)) if rows else (np.zeros(0),) * 3
    return f, v, y


def operating_point(verifier: OnnxVerifier, dev_clips: list[Clip], filter_model: str | None = None,
                    gate_pass: float = 0.98, budget: float = 2.0, fusion: bool = True) -> dict[str, Any]:
    detector = Detector(model=filter_model, verifier="none")
    settings = detector.config.pipeline.decision
    traces = alarms.trace_clips(detector, dev_clips, label="dev streams")
    gate = choose_gate(fake_utterance_scores(traces, detector), gate_pass)
    traces = alarms.with_verifier_scores(traces, verifier, label="dev verifier")
    weights = None
    if fusion:
        f, v, y = gated_pairs(traces, detector, gate)
        if len(set(y.tolist())) == 2:
            weights = fit_fusion(f, v, y)
    rule = CascadeRule(gate, 0.5, weights)
    threshold = alarms.threshold_for_false_alarms(traces, settings, budget, rule, detector.threshold)
    rule = replace(rule, threshold=threshold)
    filter_alone = alarms.summarize(traces, settings, detector.threshold, budget_per_hour=budget)
    cascade = alarms.summarize(traces, settings, detector.threshold, rule=rule, budget_per_hour=budget)
    keys = ("eer", "false_alarms_per_hour", "catch_rate", "catch_at_budget", "real_hours", "fake_utterances")
    return {"gate": gate, "threshold": threshold, "gate_pass": gate_pass, "budget_per_hour": budget,
            "fusion": {} if weights is None else dict(zip(("filter", "verifier", "bias"), weights, strict=True)),
            "filter": {"model_id": detector.model_id, "sha256": detector.classifier.sha256},
            "dev_filter_alone": {k: filter_alone[k] for k in keys},
            "dev_cascade": {k: cascade[k] for k in keys}}


@dataclass(frozen=True)
class OperatingChoice:
    """How a verifier's card gets its operating point on dev (the arguments of :func:`operating_point`)."""

    filter_model: str | None = None  # the filter the gate is chosen for (None: the bundled one)
    gate_pass: float = 0.98
    budget: float = 2.0
    fusion: bool = True

    def on(self, dev_clips: list[Clip]) -> Callable[[OnnxVerifier], dict[str, Any]]:
        """``choose(verifier)`` for ``export``: the operating point of that verifier on ``dev_clips``."""
        return lambda verifier: operating_point(verifier, dev_clips, self.filter_model, self.gate_pass, self.budget,
                                                self.fusion)
