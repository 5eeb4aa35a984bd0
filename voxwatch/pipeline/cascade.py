"""The cascade's settings and rules: which verifier threshold and gate apply to a stream, and how the verifier's
score and the filter's are fused into the deciding score.

The filter scores every window; the verifier judges what the filter finds suspicious (an utterance whose filter
score reaches the **gate**, and runs of windows over the filter's threshold), and its deciding score against its
own **threshold** is the verdict. Where the verifier's card has a ``fusion`` (fitted on dev), the deciding score
is a logistic fusion of the verifier network's score and the filter's score over the same audio
(``fused_score``): the verifier then decides with the filter's evidence as one of its inputs instead of discarding
it (docs/verifier.md). What is checked when, and what the answers make of an utterance, is ``CascadeRouter``'s
job (voxwatch.pipeline.router), the one place of those rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from voxwatch.errors import ConfigError
from voxwatch.pipeline.stages.verifier.card import VerifierCard

SHORT_RUN_WINDOWS = 3  # a run of fewer windows is short: its segment check needs ``short_threshold``


@dataclass(frozen=True)
class VerifierSettings:
    """``[verifier]`` (and ``[streams.<id>.verifier]``): whether and how the verifier runs behind the filter."""

    enabled: bool = True  # without a verifier model the filter decides alone whatever this says
    model: str = ""  # "" = the verifier bundled with the package, if any
    gate: float | None = None  # None: the verifier card's gate (chosen on dev for its filter)
    threshold: float | None = None  # None: the verifier card's threshold
    telephone_threshold: float | None = None  # None: the card's (its threshold where the card has none)
    short_threshold: float | None = None  # None: the card's; the least deciding score of a short run's check
    queue_utterances: int = 64  # checks waiting for the verifier; beyond it the filter's verdict stands
    threads: int = 1  # onnxruntime intra-op threads of the verifier
    segment_windows: int = 2  # a run of at least this many windows over the filter's threshold is checked whole

    def __post_init__(self) -> None:
        for name in ("gate", "threshold", "telephone_threshold", "short_threshold"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f'verifier.{name} must be in [0, 1] or "model"')
        if self.queue_utterances <= 0 or self.threads <= 0 or self.segment_windows <= 0:
            raise ConfigError("verifier.queue_utterances, verifier.threads and verifier.segment_windows must be > 0")


@dataclass(frozen=True)
class CascadeRule:
    """A stream's resolved gate (on the filter's utterance score), verifier thresholds (for wideband audio and for
    audio in the telephone band, ``voxwatch.pipeline.channel``), the card's fusion weights (filter logit, verifier
    logit, bias; None: the network's score decides alone) and the shortest run of windows over the filter's
    threshold that is checked as a segment. A segment check of a run shorter than ``SHORT_RUN_WINDOWS`` (a few
    seconds of audio, where the verifier is least sure) needs at least ``short_threshold`` besides."""

    gate: float
    threshold: float
    fusion: tuple[float, float, float] | None = None
    segment_windows: int = 2
    telephone_threshold: float | None = None  # None: ``threshold`` for telephone-band audio too
    short_threshold: float | None = None  # None: short runs' checks need no more than the others

    def at(self, threshold: float, telephone: bool | None = False) -> CascadeRule:
        """This rule with its verifier threshold for wideband audio (``telephone`` False), for the telephone band
        (True), or for both (None: one threshold everywhere, as a sweep of the scores' separability wants)."""
        if telephone is None:
            return replace(self, threshold=threshold, telephone_threshold=None)
        return replace(self, telephone_threshold=threshold) if telephone else replace(self, threshold=threshold)

    def threshold_for(self, telephone: bool, run_windows: int | None = None) -> float:
        """The verifier's threshold for audio in the telephone band (``telephone``) or wider; for the segment
        check of a run of ``run_windows`` windows (None: not a segment check) at least ``short_threshold`` where
        the run is short."""
        threshold = self.threshold
        if telephone and self.telephone_threshold is not None:
            threshold = self.telephone_threshold
        if run_windows is not None and run_windows < SHORT_RUN_WINDOWS and self.short_threshold is not None:
            threshold = max(threshold, self.short_threshold)
        return threshold


def resolve_rule(settings: VerifierSettings, card: VerifierCard) -> CascadeRule | None:
    """The rule for settings whose verifier is loaded (None: this stream is judged by the filter alone)."""
    if not settings.enabled:
        return None
    telephone = card.telephone_threshold if settings.telephone_threshold is None else settings.telephone_threshold
    short = card.short_threshold if settings.short_threshold is None else settings.short_threshold
    return CascadeRule(card.gate if settings.gate is None else settings.gate,
                       card.threshold if settings.threshold is None else settings.threshold, card.fusion_weights,
                       settings.segment_windows, telephone, short)


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
