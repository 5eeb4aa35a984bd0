"""``CascadeRouter``: one stream's decisions, and the one place the cascade's routing is written.

Filter window scores and utterance ends go in; verdicts, alerts and verifier requests come out; the verifier's
answers go back in. The threaded ``Pipeline``, the synchronous ``Detector`` and the daemon-path evaluation
(``eval``, ``calibrate``: ``voxwatch.training.alarms``) all drive this object, so the same audio gets the same
verdicts and alerts everywhere.

Without a verifier (no ``rule``) the filter decides alone (``UtteranceDecider``: early alerts on windows over its
threshold, a verdict when the utterance ends).

With a verifier the filter raises nothing itself; it only chooses what the verifier judges, and that choice
depends on the filter's scores alone (never on a verifier answer, so an evaluation can score every request once
and re-run the rules for any verifier threshold):

* **segments**: a run of consecutive windows at or over the filter's threshold is suspicious. When the run
  reaches ``early_windows`` windows the verifier judges the run so far (an *early* check): a fake answer alerts
  at once, mid-utterance, so a synthetic monologue is flagged seconds after it starts. When the run ends (a
  window under the threshold, or the utterance's end) with at least ``segment_windows`` windows and longer than
  at its early check, the verifier judges the whole run (a *segment* check; a short run's needs the rule's
  ``short_threshold`` besides). Fake speech spliced into real speech is found this way with no pause around it.
* **the utterance**: when it ends with its filter score at or over the gate, the verifier judges it (its last
  ``max_s`` seconds).

Each check's deciding score is the verifier's score fused with the filter's score over the same span
(``fused_score``), against the verifier's threshold for the check's channel (``CascadeRule.threshold_for``: the
answer says whether the audio was in the telephone band). The utterance's verdict comes when its last check is
answered: its check furthest over (or least under) its threshold decides, with the span that set it in ``why``.
With no check (under the gate, no suspicious run) the filter's verdict stands, against its threshold. A check
that could not be queued (the verifier was busy) is answered ``unverified``: a lost utterance check lets the
filter's verdict (and alert) stand, a lost segment check counts for nothing.

Alerts follow one rule whichever stage raises them: each carries the stream's ``refractory_s``, and no alert
comes within that many seconds of stream time after the previous one. ``uncertain`` applies only around the
deciding threshold: the verifier's where it decided, the filter's otherwise, never the gate.

**Clone watch** (``voice``: a ``VoiceWatch``, where the stream has enrolled voices to watch): each utterance that
gets a verdict and lasts at least ``min_s`` is also sent for a voice check (a ``VerifyRequest`` of kind
``voice``, its last ``max_s`` seconds, answered with ``on_voice``: a ``VoiceMatch``, or None where no check could
be made). The verdict waits for it as for the verifier's checks and carries the match (``Judgement.voice``). A
``clone`` match (it sounds like the enrolled voice, less than that person does) raises an alert with ``reason``
``clone`` under the same refractory rule; where the utterance's own artifact alert is due at the same time, the
clone alert takes its place (one alert per utterance, its ``why`` names both stages), and an alert already raised
(early, or the filter's own without a verifier) stands alone. Where the verifier judged the utterance, the match
is decided on both scores fused, ``clone_score`` the fused one (``VoiceWatch.fusion``; ``voxwatch.voices.fusion``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from voxwatch.pipeline.cascade import CascadeRule, fused_score
from voxwatch.pipeline.decision import (
    DecisionSettings,
    Judgement,
    Stage,
    UtteranceDecider,
    Verdict,
    alerts_on,
    verdict_for,
)
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.windower import UtteranceEnd, WindowSpec
from voxwatch.voices.calibration import MIN_WATCH_SPEECH_S
from voxwatch.voices.check import CLONE, VoiceMatch
from voxwatch.voices.fusion import CloneFusion, fuse

CheckKind = Literal["early", "segment", "utterance", "voice"]
CLONE_THRESHOLD = 0.5  # a clone alert's threshold: the clone score at the voice's genuine threshold
VOICE_MAX_S = 10.0  # a voice check hears at most an utterance's last this many seconds


@dataclass(frozen=True)
class VoiceWatch:
    """Clone watch on a stream: voice checks of utterances of at least ``min_s`` seconds (their last ``max_s``),
    against the voiceprint ``expect`` (None: the nearest enrolled voice)."""

    expect: str | None = None
    min_s: float = MIN_WATCH_SPEECH_S
    max_s: float = VOICE_MAX_S
    alerts: bool = True  # a clone match raises an alert (else the verdict only carries it)
    fusion: CloneFusion | None = None  # clone against genuine fused with the verifier's score of the utterance


@dataclass(frozen=True)
class VerifyRequest:
    """Audio [start, end) of one utterance for the verifier to judge, and the filter's score over it."""

    utterance: int
    start: int
    end: int
    filter_score: float
    windows: int
    kind: CheckKind
    serial: int  # the router's count of requests: answers are matched by it
    mid_utterance: bool = False  # asked before the utterance ended: an alert it raises is an early one
    expect: str | None = None  # a voice check's expected voice (kind "voice"; None: the nearest voice)


RouterOutput = Judgement | VerifyRequest


@dataclass
class _Check:
    request: VerifyRequest
    deciding: float | None = None  # the fused score once answered (None: not answered, or unverified)
    verifier_score: float | None = None
    threshold: float = 0.5  # the verifier's threshold for the answered audio's channel
    telephone: bool = False  # the answered audio was in the telephone band


@dataclass
class _Utterance:
    """What the router keeps of the utterance in progress (and of one whose checks are still out)."""

    index: int
    checks: dict[int, _Check] = field(default_factory=dict)
    pending: int = 0
    ended: UtteranceEnd | None = None
    filter_verdict: Judgement | None = None
    filter_alert: Judgement | None = None  # the filter's own alert, standing if its utterance check is lost
    alerted: bool = False
    alerted_early: bool = False
    run_start: int = 0
    run_end: int = 0
    run_scores: list[float] = field(default_factory=list)
    run_checked: int = 0  # windows of the current run when it was last sent to the verifier
    voice_serial: int = 0  # the voice check still out (0: none)
    voice: VoiceMatch | None = None
    filter_only: bool = False  # ended with no verifier in force: the filter decided (a reload may add one since)


def _why(stage: str, score: float, threshold: float, start: int, end: int, extra: str = "") -> str:
    relation = ">=" if score >= threshold else "<"
    text = f"{stage} {score:.2f} {relation} {threshold:.2f} on {start / SAMPLE_RATE:.1f}-{end / SAMPLE_RATE:.1f} s"
    return f"{text}; {extra}" if extra else text


class CascadeRouter:
    """One stream's decision state. Feed ``on_window`` and ``on_end`` in stream order; answer each
    ``VerifyRequest`` with ``on_verified`` (or ``on_unverified``), in the order they were made."""

    def __init__(self, decision: DecisionSettings, threshold: float, rule: CascadeRule | None,
                 voice: VoiceWatch | None = None) -> None:
        self.decision = decision
        self.threshold = threshold
        self.rule = rule
        self.voice = voice
        self._decider = UtteranceDecider(self._filter_settings(), threshold)
        self._current: _Utterance | None = None
        self._open: dict[int, _Utterance] = {}  # utterances with checks still out, by index
        self._serial = 0
        self._last_alert_end: int | None = None

    # ------------------------------------------------------------------ configuration
    def _filter_settings(self) -> DecisionSettings:
        """The filter's own rules: no early alerts of its own where a verifier has the last word."""
        return self.decision if self.rule is None else replace(self.decision, early_windows=0)

    def reconfigure(self, decision: DecisionSettings, threshold: float, rule: CascadeRule | None) -> None:
        """New settings (SIGHUP): the utterance in progress keeps its scores and checks."""
        self.decision, self.threshold, self.rule = decision, threshold, rule
        self._decider.reconfigure(self._filter_settings(), threshold)

    def watch_voice(self, voice: VoiceWatch | None) -> None:
        """Clone watch on (or off, None) from the next utterance's end (SIGHUP: the voices were reloaded)."""
        self.voice = voice

    @property
    def pending(self) -> int:
        """Checks asked for and not answered yet."""
        return sum(u.pending for u in self._open.values())

    # ------------------------------------------------------------------ filter side
    def on_window(self, spec: WindowSpec, score: float) -> list[RouterOutput]:
        """A window's filter score: early alerts (filter alone) or early checks (cascade)."""
        utterance = self._utterance(spec.utterance)
        decided = self._decider.on_score(spec, score)
        if self.rule is None:
            for judgement in decided:
                self._last_alert_end = judgement.end
                utterance.alerted = utterance.alerted_early = True
            return [self._with_why(j, "filter") for j in decided]
        if verdict_for(score, self.threshold) == "fake":
            if not utterance.run_scores:
                utterance.run_start = spec.start
            utterance.run_scores.append(float(score))
            utterance.run_end = max(utterance.run_end, spec.end)
            k = self.decision.early_windows
            if k and len(utterance.run_scores) == k:
                return [self._request(utterance, "early")]
            return []
        return self._close_run(utterance)

    def on_end(self, end: UtteranceEnd) -> list[RouterOutput]:
        """An utterance has ended: its verdict now, or the checks it still needs (its verdict then follows the last
        answer)."""
        utterance = self._utterance(end.utterance)
        self._current = None
        decided = self._decider.on_end(end)
        verdict = next((j for j in decided if j.kind == "verdict"), None)
        if verdict is None:  # no window was scored: nothing to judge
            return []
        utterance.ended = end
        out: list[RouterOutput] = []
        utterance.filter_only = self.rule is None
        if self.rule is None:  # the filter decides: its alert now, its verdict once the voice check is back
            for judgement in decided:
                if judgement.kind == "alert":
                    self._last_alert_end = judgement.end
                    utterance.alerted = True
                    out.append(self._with_why(judgement, "filter"))
            utterance.filter_verdict = self._with_why(verdict, "filter")
        else:
            out += self._close_run(utterance)
            utterance.filter_verdict = verdict
            utterance.filter_alert = next((j for j in decided if j.kind == "alert"), None)
            if verdict.score >= self.rule.gate:
                out.append(self._request(utterance, "utterance", end.start, end.end, verdict.score, verdict.windows))
        if self.voice is not None and end.end - end.start >= self.voice.min_s * SAMPLE_RATE:
            out.append(self._voice_request(utterance, end, verdict))
        if utterance.pending:
            self._open[utterance.index] = utterance
        else:
            out += self._finish(utterance)
        return out

    # ------------------------------------------------------------------ verifier side
    def on_verified(self, request: VerifyRequest, score: float, telephone: bool = False) -> list[Judgement]:
        """The verifier's score of a request's audio (``telephone``: that audio was in the telephone band): an
        alert, the utterance's verdict, both or neither."""
        if self.rule is None:  # a reload turned the verifier off while this check was out: it counts for nothing
            return self.on_unverified(request)
        utterance, check = self._check(request)
        if check is None or utterance is None:
            return []
        check.verifier_score = float(score)
        check.deciding = fused_score(request.filter_score, score, self.rule.fusion)
        run = request.windows if request.kind == "segment" else None
        check.threshold, check.telephone = self.rule.threshold_for(telephone, run), telephone
        utterance.pending -= 1
        out: list[Judgement] = []
        label = verdict_for(check.deciding, check.threshold, self.decision.uncertain_band)
        if request.kind != "utterance" and alerts_on(label, self.decision) and not utterance.alerted:
            alert = self._alert(utterance, request.start, request.end, check.deciding, label, request.windows,
                                early=request.mid_utterance, filter_score=request.filter_score,
                                verifier_score=check.verifier_score, threshold=check.threshold,
                                why=self._check_why(check))
            out += [] if alert is None else [alert]
        if utterance.ended is not None and not utterance.pending:
            out += self._finish(utterance)
        return out

    def on_unverified(self, request: VerifyRequest) -> list[Judgement]:
        """A request the verifier could not take (its queue was full): it counts for nothing, except that a lost
        utterance check leaves the filter's verdict standing (a lost voice check: the verdict without ``voice``)."""
        if request.kind == "voice":
            return self.on_voice(request, None)
        utterance, check = self._check(request)
        if check is None or utterance is None:
            return []
        utterance.pending -= 1
        if utterance.ended is not None and not utterance.pending:
            return self._finish(utterance)
        return []

    # ------------------------------------------------------------------ clone watch
    def on_voice(self, request: VerifyRequest, match: VoiceMatch | None) -> list[Judgement]:
        """A voice check's answer (None: no check could be made: too little speech, a full queue, no voiceprint):
        the utterance's verdict once nothing else is pending, with a clone alert where ``match`` is a clone."""
        utterance = self._open.get(request.utterance)
        if utterance is None and self._current is not None and self._current.index == request.utterance:
            utterance = self._current
        if utterance is None or not request.serial or utterance.voice_serial != request.serial:
            return []
        utterance.voice_serial = 0
        utterance.voice = match
        utterance.pending -= 1
        if utterance.ended is not None and not utterance.pending:
            return self._finish(utterance)
        return []

    def _voice_request(self, utterance: _Utterance, end: UtteranceEnd, verdict: Judgement) -> VerifyRequest:
        assert self.voice is not None
        self._serial += 1
        start = max(end.start, end.end - int(self.voice.max_s * SAMPLE_RATE))
        request = VerifyRequest(utterance.index, start, end.end, float(verdict.score), int(verdict.windows), "voice",
                                self._serial, expect=self.voice.expect)
        utterance.voice_serial = request.serial
        utterance.pending += 1
        return request

    def _with_voice(self, utterance: _Utterance, out: list[Judgement]) -> list[Judgement]:
        """The verdict with its voice check; a clone alert in place of (or besides) what ``out`` holds."""
        heard = [c.verifier_score for c in utterance.checks.values() if c.request.kind == "utterance"]
        match = fuse(utterance.voice, heard[0] if heard else None, None if self.voice is None else self.voice.fusion)
        if match is None:
            return out
        out = [replace(j, voice=match) if j.kind == "verdict" else j for j in out]
        if match.match != CLONE or self.voice is None or not self.voice.alerts:
            return out
        verdict = next(j for j in out if j.kind == "verdict")
        artifact_alert = next((j for j in out if j.kind == "alert"), None)
        if artifact_alert is None and utterance.alerted:  # an alert already went out for this utterance
            return out
        if artifact_alert is None and (verdict.end - verdict.start < self.decision.min_alert_s * SAMPLE_RATE
                                       or not self._may_alert(verdict.end)):
            return out
        genuine = match.genuine if match.genuine is not None else float("nan")
        filter_score = verdict.filter_score if verdict.filter_score is not None else verdict.score
        stage = (f"verifier {verdict.verifier_score:.2f}" if verdict.stage == "verifier"
                 and verdict.verifier_score is not None else f"filter {filter_score:.2f}")
        why = (f"clone of {match.name}: similarity {match.similarity:.2f} < {genuine:.2f} (genuine from "
               f"{genuine:.2f}); {stage}")
        alert = Judgement("alert", verdict.utterance, verdict.start, verdict.end, match.clone_score,
                          CLONE_THRESHOLD, "fake", verdict.windows, False, self.decision.refractory_s, "voice",
                          filter_score=verdict.filter_score, verifier_score=verdict.verifier_score, why=why,
                          reason="clone", voice=match)
        utterance.alerted = True
        self._last_alert_end = verdict.end
        self._decider.note_alert(verdict.end)
        rest = [j for j in out if j is not artifact_alert]
        return [alert, *rest]

    # ------------------------------------------------------------------ internals
    def _utterance(self, index: int) -> _Utterance:
        if self._current is None or self._current.index != index:
            self._current = _Utterance(index)
        return self._current

    def _request(self, utterance: _Utterance, kind: CheckKind, start: int | None = None, end: int | None = None,
                 filter_score: float | None = None, windows: int | None = None) -> VerifyRequest:
        if start is None or end is None or filter_score is None or windows is None:  # the current run
            start, end = utterance.run_start, utterance.run_end
            scores = utterance.run_scores
            filter_score, windows = sum(scores) / len(scores), len(scores)
            utterance.run_checked = len(scores)
        self._serial += 1
        request = VerifyRequest(utterance.index, start, end, float(filter_score), int(windows), kind, self._serial,
                                utterance.ended is None and kind != "utterance")
        utterance.checks[request.serial] = _Check(request)
        utterance.pending += 1
        return request

    def _close_run(self, utterance: _Utterance) -> list[RouterOutput]:
        """A run of windows over the threshold has ended: check it whole if it grew since its early check."""
        out: list[RouterOutput] = []
        assert self.rule is not None
        run = len(utterance.run_scores)
        if run and run >= self.rule.segment_windows and run > utterance.run_checked:
            out.append(self._request(utterance, "segment"))
        utterance.run_scores = []
        utterance.run_checked = 0
        return out

    def _check(self, request: VerifyRequest) -> tuple[_Utterance | None, _Check | None]:
        utterance = self._open.get(request.utterance)
        if utterance is None and self._current is not None and self._current.index == request.utterance:
            utterance = self._current
        if utterance is None or request.serial not in utterance.checks:
            return None, None
        return utterance, utterance.checks[request.serial]

    def _finish(self, utterance: _Utterance) -> list[Judgement]:
        """The utterance's verdict once every check is answered (and its alert, if one is still due)."""
        self._open.pop(utterance.index, None)
        if utterance.filter_only:  # the filter decided (its alerts went out already): the verdict, and clone watch's
            assert utterance.filter_verdict is not None
            return self._with_voice(utterance, [utterance.filter_verdict])
        return self._with_voice(utterance, self._artifact_verdict(utterance))

    def _artifact_verdict(self, utterance: _Utterance) -> list[Judgement]:
        """The cascade's verdict (and alert) of an utterance whose checks are all answered."""
        verdict, end = utterance.filter_verdict, utterance.ended
        assert verdict is not None and end is not None
        if self.rule is None:  # a reload turned the verifier off while the utterance's checks were out
            return [self._with_why(verdict, "filter", "verifier off")]
        answered = [c for c in utterance.checks.values() if c.deciding is not None]
        utterance_check = next((c for c in utterance.checks.values() if c.request.kind == "utterance"), None)
        if utterance_check is not None and utterance_check.deciding is None:
            # the verifier never saw the utterance: the filter's verdict and alert stand, as without a verifier
            out = [self._with_why(verdict, "filter", "verifier busy")]
            alert = utterance.filter_alert
            if alert is not None and not utterance.alerted and self._may_alert(alert.end):
                self._last_alert_end = alert.end
                out.insert(0, self._with_why(alert, "filter", "verifier busy"))
            return out
        if not answered:  # under the gate and no suspicious run checked: the filter decides
            # (a gate set above the filter's threshold keeps what lies under it real: the deciding threshold is
            # then the gate, with no uncertain band around it)
            threshold = max(self.threshold, self.rule.gate)
            band = self.decision.uncertain_band if threshold == self.threshold else 0.0
            label = verdict_for(verdict.score, threshold, band)
            final = replace(verdict, verdict=label, threshold=threshold, stage="filter", band=band,
                            why=_why("filter", verdict.score, threshold, end.start, end.end,
                                     f"under the gate {self.rule.gate:.3f}"))
            out = [final]
            if alerts_on(label, self.decision) and not utterance.alerted:
                alert = self._alert(utterance, end.start, end.end, verdict.score, label, verdict.windows,
                                    early=False, filter_score=verdict.score, threshold=threshold,
                                    stage="filter", why=final.why)
                out = [final] if alert is None else [alert, final]
            return out
        best = max(answered, key=lambda c: ((c.deciding or 0.0) - c.threshold, c.request.kind == "utterance"))
        assert best.deciding is not None
        label = verdict_for(best.deciding, best.threshold, self.decision.uncertain_band)
        final = replace(
            verdict, score=best.deciding, threshold=best.threshold, verdict=label, stage="verifier",
            filter_score=verdict.score, verifier_score=best.verifier_score, early=False,
            early_alert=utterance.alerted_early, why=self._check_why(best, len(answered)),
            band=self.decision.uncertain_band)
        out = [final]
        if alerts_on(label, self.decision) and not utterance.alerted:
            alert = self._alert(utterance, end.start, end.end, best.deciding, label, verdict.windows, early=False,
                                filter_score=verdict.score, verifier_score=best.verifier_score,
                                threshold=best.threshold, why=final.why)
            out = [final] if alert is None else [alert, final]
        return out

    def _check_why(self, check: _Check, of: int = 1) -> str:
        assert check.deciding is not None and self.rule is not None
        request = check.request
        extra = f"filter {request.filter_score:.2f}" + ("; telephone band" if check.telephone else "")
        if of > 1:
            extra += f"; highest of {of} checks"
        return _why("verifier", check.deciding, check.threshold, request.start, request.end, extra)

    def _may_alert(self, at: int) -> bool:
        last = self._last_alert_end
        return last is None or at - last >= self.decision.refractory_s * SAMPLE_RATE

    def _alert(self, utterance: _Utterance, start: int, end: int, score: float, label: Verdict, windows: int,
               early: bool, filter_score: float, verifier_score: float | None = None,
               threshold: float | None = None, stage: Stage = "verifier", why: str = "") -> Judgement | None:
        """An alert, unless the span is shorter than ``min_alert_s`` or the refractory period still holds."""
        if end - start < self.decision.min_alert_s * SAMPLE_RATE or not self._may_alert(end):
            return None
        assert self.rule is not None
        utterance.alerted = True
        utterance.alerted_early = early
        self._last_alert_end = end
        return Judgement("alert", utterance.index, start, end, score,
                         self.rule.threshold if threshold is None else threshold, label, windows, early,
                         self.decision.refractory_s, stage, filter_score=filter_score, verifier_score=verifier_score,
                         why=why, band=self.decision.uncertain_band
                         if stage == "verifier" or threshold == self.threshold else 0.0)

    def _with_why(self, judgement: Judgement, stage: Stage, extra: str = "") -> Judgement:
        why = _why(stage, judgement.score, judgement.threshold, judgement.start, judgement.end, extra)
        return replace(judgement, why=why, band=self.decision.uncertain_band)
