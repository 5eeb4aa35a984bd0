"""Decision: window scores -> per-utterance verdicts and alerts, for one stream.

* Verdict: when an utterance ends, its window scores are aggregated (``mean``, ``median`` or ``max``) and compared
  with the threshold (the model card's unless the config sets one). One verdict per scored utterance.
* Early alert: ``early_windows`` consecutive windows over the threshold raise an alert before the utterance ends
  (0 disables early alerts). The alert carries the aggregate of the windows so far, as they are: it may be below
  the threshold (a low first window), and the utterance's verdict may still be real; that verdict then says
  ``early_alert`` so nobody reads the two as a contradiction.
* Early alerts may also use ``early_of`` > ``early_windows``: ``early_windows`` of the last ``early_of`` windows
  over the threshold (k of n), which tolerates one low window in a fake run.
* No alert before the utterance holds ``min_alert_s`` seconds of judged speech (first window start to last window
  end): very short utterances carry little evidence and raise most false alarms on real speech. Their verdicts
  are still published.
* Uncertain: with ``uncertain_band`` > 0, a score within that distance of the deciding threshold gives the verdict
  ``uncertain`` instead of forcing fake or real (:func:`verdict_for`, the one place of this rule, used by the
  filter and by the cascade's verifier alike); an uncertain utterance raises no alert unless
  ``alert_on_uncertain``.
* At most one alert per utterance, and none within ``refractory_s`` of stream time after the previous alert
  (so a long fake monologue split by pauses does not flood subscribers). Verdicts are never suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from voxwatch.errors import ConfigError
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.windower import UtteranceEnd, WindowSpec

if TYPE_CHECKING:
    from voxwatch.voices.check import VoiceMatch

AGGREGATES = ("mean", "median", "max")
JudgementKind = Literal["window", "verdict", "alert"]
Verdict = Literal["fake", "real", "uncertain"]
Stage = Literal["filter", "verifier", "voice"]  # "voice": clone watch's check decided (a clone alert)
AlertReason = Literal["synthetic", "clone"]


@dataclass(frozen=True)
class DecisionSettings:
    threshold: float | None = None  # None: the model card's calibrated threshold
    aggregate: str = "mean"
    early_windows: int = 3
    refractory_s: float = 5.0
    early_of: int = 0  # 0: the early windows must be consecutive; n >= early_windows: k of the last n
    min_alert_s: float = 0.0
    uncertain_band: float = 0.0  # 0: off; else scores within this distance of the threshold are "uncertain"
    alert_on_uncertain: bool = False

    def __post_init__(self) -> None:
        if self.aggregate not in AGGREGATES:
            raise ConfigError(f"decision.aggregate must be one of {AGGREGATES}, not {self.aggregate!r}")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ConfigError("decision.threshold must be in [0, 1] or \"model\"")
        if self.early_windows < 0 or self.refractory_s < 0 or self.min_alert_s < 0:
            raise ConfigError("decision.early_windows, refractory_s and min_alert_s must be >= 0")
        if self.early_of and self.early_of < self.early_windows:
            raise ConfigError("decision.early_of must be 0 or at least decision.early_windows")
        if not 0.0 <= self.uncertain_band < 0.5:
            raise ConfigError("decision.uncertain_band must be in [0, 0.5)")


def alerts_on(verdict: str, settings: DecisionSettings) -> bool:
    """Whether a verdict may raise an alert: fake always, uncertain only when the settings ask for it."""
    return verdict == "fake" or (verdict == "uncertain" and settings.alert_on_uncertain)


def resolve_threshold(decision: DecisionSettings, model_threshold: float) -> float:
    """The threshold in force: the config's when it sets one, else the model card's (``threshold = "model"``).

    The one place this rule lives; the threaded ``Pipeline`` and the synchronous ``Detector`` both ask here, so
    they cannot judge the same audio against different thresholds.
    """
    return decision.threshold if decision.threshold is not None else model_threshold


def verdict_for(score: float, threshold: float, band: float = 0.0) -> Verdict:
    """A score at or over the threshold is fake: the one comparison every verdict and alert is made by; with an
    uncertain ``band`` > 0, a score within that distance of the threshold is ``uncertain`` instead."""
    if band > 0 and abs(score - threshold) < band:
        return "uncertain"
    return "fake" if score >= threshold else "real"


def aggregate_scores(scores: list[float] | np.ndarray, how: str = "mean") -> float:
    """The utterance score from its window scores (also used by ``voxwatch eval`` and ``score``)."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no scores to aggregate")
    if how == "mean":
        return float(values.mean())
    if how == "median":
        return float(np.median(values))
    if how == "max":
        return float(values.max())
    raise ValueError(f"unknown aggregate {how!r}")


@dataclass(frozen=True)
class Judgement:
    """A window's score, an utterance's verdict, or an alert about it.

    ``start``/``end`` are absolute sample indices of the stream at ``SAMPLE_RATE``; ``start_s``/``end_s`` the same
    in seconds. ``verdict`` is ``score`` against ``threshold`` (``verdict_for``); ``windows`` counts the windows
    behind the judgement (1 for a window). ``UtteranceDecider`` makes verdicts and alerts; ``Detector`` also
    reports each window.

    An alert carries the ``refractory_s`` that follows it (the stream's own setting, which a reload may change), so
    a consumer that shows "alert in progress" (the MQTT sensor of ``voxwatch notify``) knows how long the daemon
    will stay quiet about this stream without needing the daemon's configuration; it is 0 otherwise.

    Clone watch (``voxwatch.voices``): ``voice`` is the utterance's voice check (a verdict's, and a clone alert's)
    where one was made; ``reason`` says why an alert was raised: ``synthetic`` (the audio's artifacts: filter or
    verifier) or ``clone`` (it sounds like an enrolled voice, less than that person does; ``stage`` is then
    ``voice``, ``score`` the clone score against 0.5, the clone score at the voice's genuine threshold).
    """

    kind: JudgementKind
    utterance: int
    start: int
    end: int
    score: float
    threshold: float
    verdict: Verdict  # "fake", "real" or "uncertain" (verdict_for)
    windows: int
    early: bool = False  # an alert raised before its utterance ended
    refractory_s: float = 0.0
    stage: Stage = "filter"  # what decided: "filter" or "verifier" (the cascade, voxwatch.pipeline.cascade)
    filter_score: float | None = None  # the filter's utterance score (verdicts; also where the verifier decided)
    verifier_score: float | None = None  # the verifier network's score where the utterance reached it
    early_alert: bool = False  # a verdict whose utterance raised an early alert
    why: str = ""  # a short reason: the deciding stage, its score against its threshold, the span
    band: float = 0.0  # the uncertain band around ``threshold`` in force (``uncertain_band``; 0: off)
    reason: AlertReason = "synthetic"  # an alert's cause: "synthetic" (artifacts) or "clone" (clone watch)
    voice: VoiceMatch | None = None  # the utterance's voice check (clone watch), where one was made

    def __post_init__(self) -> None:
        if self.kind not in get_args(JudgementKind) or self.verdict not in get_args(Verdict) \
                or self.stage not in get_args(Stage) or self.reason not in get_args(AlertReason):
            raise ValueError(f"not a judgement: kind {self.kind!r}, verdict {self.verdict!r}, stage {self.stage!r}, "
                             f"reason {self.reason!r}")

    @property
    def start_s(self) -> float:
        return self.start / SAMPLE_RATE

    @property
    def end_s(self) -> float:
        return self.end / SAMPLE_RATE


class UtteranceDecider:
    """Per-stream decision state. Feed scores in window order, then the utterance's end."""

    def __init__(self, settings: DecisionSettings, threshold: float) -> None:
        self.settings = settings
        self.threshold = threshold
        self._scores: list[float] = []
        self._utterance = -1
        self._start = 0
        self._first_window = 0
        self._last_window_end = 0
        self._alerted = False
        self._alerted_early = False
        self._last_alert_end: int | None = None

    def reconfigure(self, settings: DecisionSettings, threshold: float) -> None:
        """New thresholds/rules (SIGHUP); the current utterance keeps its scores."""
        self.settings = settings
        self.threshold = threshold

    def note_alert(self, at: int) -> None:
        """Another alert of this stream ended at ``at`` (a clone alert): the refractory period runs from it too."""
        self._last_alert_end = at if self._last_alert_end is None else max(self._last_alert_end, at)

    def on_score(self, window: WindowSpec, score: float) -> list[Judgement]:
        if window.utterance != self._utterance:
            self._begin(window.utterance, window.start)
        if not self._scores:
            self._first_window = window.start
        self._last_window_end = max(self._last_window_end, window.end)
        self._scores.append(float(score))
        if self._early_hit() and self._long_enough() and self._may_alert(window.end):
            agg = aggregate_scores(self._scores, self.settings.aggregate)
            return [self._alert(window.end, agg, early=True)]
        return []

    def on_end(self, end: UtteranceEnd) -> list[Judgement]:
        if end.utterance != self._utterance:
            self._begin(end.utterance, end.start)
        if not self._scores:
            return []
        agg = aggregate_scores(self._scores, self.settings.aggregate)
        label = verdict_for(agg, self.threshold, self.settings.uncertain_band)
        verdict = Judgement(
            "verdict", end.utterance, end.start, end.end, agg, self.threshold, label, len(self._scores),
            filter_score=agg, early_alert=self._alerted_early,
        )
        out = [verdict]
        if alerts_on(label, self.settings) and self._long_enough() and self._may_alert(end.end):
            out.insert(0, self._alert(end.end, agg, early=False, verdict=label))
        self._scores = []
        return out

    def _begin(self, utterance: int, start: int) -> None:
        self._utterance = utterance
        self._start = start
        self._scores = []
        self._first_window = start
        self._last_window_end = start
        self._alerted = False
        self._alerted_early = False

    def _early_hit(self) -> bool:
        """k consecutive windows over the threshold, or k of the last n (``early_of``)."""
        k = self.settings.early_windows
        if not k or len(self._scores) < k:
            return False
        n = self.settings.early_of or k
        recent = self._scores[-n:]
        over = [verdict_for(score, self.threshold) == "fake" for score in recent]
        return sum(over) >= k and over[-1]

    def _long_enough(self) -> bool:
        judged = self._last_window_end - self._first_window
        return judged >= self.settings.min_alert_s * SAMPLE_RATE

    def _may_alert(self, at: int) -> bool:
        if self._alerted:
            return False
        if self._last_alert_end is None:
            return True
        return at - self._last_alert_end >= self.settings.refractory_s * SAMPLE_RATE

    def _alert(self, at: int, score: float, early: bool, verdict: Verdict = "fake") -> Judgement:
        self._alerted = True
        self._alerted_early = early
        self._last_alert_end = at
        return Judgement(
            "alert", self._utterance, self._start, at, score, self.threshold, verdict, len(self._scores), early,
            self.settings.refractory_s, filter_score=score,
        )
