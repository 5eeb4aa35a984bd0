"""What users feel: false alarms per hour of real speech and fake utterances caught, by the daemon's own rules.

Each clip is replayed as a stream of its own through ``Detector`` (VAD, windower, features, classifier: the daemon
path, no tiling of short clips). Its *trace* (every window score and every utterance end) is kept, and the
decision stage (``UtteranceDecider``: aggregate, early alerts, ``min_alert_s``, refractory period) is re-run on
the trace for any threshold or rule, so a threshold sweep costs no further inference and gives exactly what
``voxwatch run`` would have raised.

* False alarm: an alert on a real clip. Rate: alerts per hour of real audio (the clips' full durations).
* Caught fake utterance: an utterance of a fake clip that raised an alert, or whose verdict was fake while an
  earlier alert still held the refractory period (the user had just been warned). Utterances too short for any
  window (``min_segment_s``) are never judged, as in the daemon, and do not count.
* Clip flag score: the highest threshold at which the clip raises at least one alert (alerting only grows as the
  threshold falls); a clip with no judged utterance is never flagged. The daemon-path EER uses it.
* The decisions are ``CascadeRouter``'s (voxwatch.pipeline.router), the daemon's own. With the cascade
  (``rule``) a trace also carries the verifier's score of every span the router may ask about (each utterance,
  and each run of windows over the filter's threshold: ``with_verifier_scores``, on the audio the daemon would
  hand the verifier). What the router asks depends only on the filter's scores, so the same rules re-run for any
  gate and verifier threshold; the cascade's sweep moves the verifier threshold at a fixed gate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.cascade import CascadeRule
from voxwatch.pipeline.decision import DecisionSettings, Judgement
from voxwatch.pipeline.router import CascadeRouter, RouterOutput, VerifyRequest
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.windower import UtteranceEnd, WindowSpec

if TYPE_CHECKING:
    from voxwatch.detector import Detector
    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
    from voxwatch.training.datasets import Clip

NEVER_FLAGGED = -1.0  # flag score of a clip that raises no alert at any threshold in [0, 1]


@dataclass(frozen=True)
class TraceStep:
    """One step of a stream: a scored window, or the end of an utterance (``score`` None)."""

    utterance: int
    start: int
    end: int
    score: float | None = None
    windows: int = 0


@dataclass(frozen=True)
class ClipTrace:
    """A clip replayed as a stream: its steps, length and label (1 = fake)."""

    steps: tuple[TraceStep, ...]
    duration_s: float
    label: int
    source: str = ""
    path: str = ""
    filter_threshold: float = 0.5  # the filter's threshold when the trace was made (where segment checks lie)
    # (start, end, verifier score, telephone band) of every span it may ask
    checks: tuple[tuple[int, int, float, bool], ...] = ()

    @property
    def verifier_scores(self) -> dict[tuple[int, int], tuple[float, bool]]:
        return {(start, end): (score, telephone) for start, end, score, telephone in self.checks}

    @property
    def candidates(self) -> list[float]:
        """Every threshold at which the decisions can change: window scores and utterance means/medians/maxima
        are all among the window scores or their aggregates, so the sorted set of those is enough."""
        values: set[float] = set()
        current: list[float] = []
        for step in self.steps:
            if step.score is None:
                if current:
                    values.update((float(np.mean(current)), float(np.median(current))))
                current = []
            else:
                values.add(step.score)
                current.append(step.score)
        return sorted(values)


def trace_from_judgements(judgements: Iterable, duration_s: float, label: int, source: str = "",
                          path: str = "", filter_threshold: float = 0.5) -> ClipTrace:
    """A trace from ``Detector`` judgements (kinds ``window`` and ``verdict``; alerts are re-derived)."""
    steps = []
    for j in judgements:
        if j.kind == "window":
            steps.append(TraceStep(j.utterance, j.start, j.end, float(j.score)))
        elif j.kind == "verdict":
            steps.append(TraceStep(j.utterance, j.start, j.end, None, j.windows))
    return ClipTrace(tuple(steps), duration_s, label, source, path, filter_threshold)


def decide(trace: ClipTrace, settings: DecisionSettings, threshold: float,
           rule: CascadeRule | None = None) -> list[Judgement]:
    """The daemon's verdicts and alerts for this stream at the filter ``threshold`` (and the cascade ``rule``):
    the trace replayed through a ``CascadeRouter``, its verifier requests answered from the trace's checks (a
    span without one counts as unverified, as when the daemon's verifier queue is full)."""
    router = CascadeRouter(settings, threshold, rule)
    scores = trace.verifier_scores
    out: list[Judgement] = []
    for step in trace.steps:
        out += _answered(router, _route(router, step), scores)
    return out


def _route(router: CascadeRouter, step: TraceStep) -> list[RouterOutput]:
    """One step of a trace through the router, as the daemon hands it a window score or an utterance's end."""
    if step.score is None:
        return router.on_end(UtteranceEnd(step.utterance, step.start, step.end, step.windows))
    return router.on_window(WindowSpec(step.utterance, step.start, step.end), step.score)


def _answered(router: CascadeRouter, outputs: list[RouterOutput],
              scores: dict[tuple[int, int], tuple[float, bool]]) -> list[Judgement]:
    out: list[Judgement] = []
    for output in outputs:
        if isinstance(output, VerifyRequest):
            answer = scores.get((output.start, output.end))
            out += router.on_unverified(output) if answer is None else router.on_verified(output, *answer)
        else:
            out.append(output)
    return out


def requested_spans(trace: ClipTrace, settings: DecisionSettings, rule: CascadeRule) -> list[tuple[int, int]]:
    """Every span the router may ask the verifier about on this trace at its filter threshold, whatever the gate
    (the gate only decides whether an utterance is asked about, never its span)."""
    router = CascadeRouter(settings, trace.filter_threshold, replace(rule, gate=0.0))
    spans: list[tuple[int, int]] = []
    for step in trace.steps:
        for output in _route(router, step):
            if isinstance(output, VerifyRequest):
                spans.append((output.start, output.end))
                router.on_unverified(output)
    return spans


def cascade_candidates(trace: ClipTrace, settings: DecisionSettings, filter_threshold: float,
                       rule: CascadeRule) -> list[float]:
    """Every verifier threshold at which the cascade's decisions can change: the verifier's deciding scores of
    the utterances that pass the gate (they do not depend on its threshold)."""
    return sorted({j.score for j in decide(trace, settings, filter_threshold, rule)
                   if j.kind == "verdict" and j.stage == "verifier"})


def _candidates(trace: ClipTrace, settings: DecisionSettings, filter_threshold: float,
                rule: CascadeRule | None) -> list[float]:
    return trace.candidates if rule is None else cascade_candidates(trace, settings, filter_threshold, rule)


def alerts(trace: ClipTrace, settings: DecisionSettings, threshold: float, rule: CascadeRule | None = None) -> int:
    return sum(j.kind == "alert" for j in decide(trace, settings, threshold, rule))


def _count_utterances(judgements: list[Judgement], settings: DecisionSettings) -> tuple[int, int, int]:
    """(caught, judged, uncertain) among a stream's judgements."""
    judged = caught = uncertain = 0
    last_alert_end: int | None = None
    alerted: set[int] = set()
    for j in judgements:
        if j.kind == "alert":
            alerted.add(j.utterance)
            last_alert_end = j.end
            continue
        judged += 1
        uncertain += j.verdict == "uncertain"
        held = (last_alert_end is not None and j.verdict == "fake"
                and j.end - last_alert_end <= settings.refractory_s * SAMPLE_RATE)
        caught += j.utterance in alerted or held
    return caught, judged, uncertain


def flag_score(trace: ClipTrace, settings: DecisionSettings, rule: CascadeRule | None = None,
               filter_threshold: float = 0.5) -> float:
    """The highest threshold at which the clip raises an alert (``NEVER_FLAGGED`` if none); for the cascade the
    verifier's threshold at the rule's gate, one for both channels (the filter's ``filter_threshold`` then plays
    no part)."""
    rule = None if rule is None else rule.at(rule.threshold, None)
    candidates = _candidates(trace, settings, filter_threshold, rule)

    def alerting(t: float) -> bool:
        return bool(alerts(trace, settings, t, None) if rule is None
                    else alerts(trace, settings, filter_threshold, rule.at(t, None)))

    if not candidates or not alerting(candidates[0]):
        return NEVER_FLAGGED
    lo, hi = 0, len(candidates) - 1  # alerts at candidates[lo]; search the last index that still alerts
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if alerting(candidates[mid]):
            lo = mid
        else:
            hi = mid - 1
    return candidates[lo]


@dataclass(frozen=True)
class OperatingPoint:
    """The user-facing figures of one threshold on a set of traces."""

    threshold: float
    false_alarms: int
    real_hours: float
    caught: int
    fake_utterances: int
    per_source: dict[str, tuple[int, int]] = field(default_factory=dict)  # fake source -> (caught, judged)
    uncertain: int = 0  # utterances (real and fake) with verdict "uncertain"
    utterances: int = 0  # all judged utterances, real and fake

    @property
    def uncertain_share(self) -> float:
        return self.uncertain / self.utterances if self.utterances else 0.0

    @property
    def false_alarms_per_hour(self) -> float:
        return self.false_alarms / self.real_hours if self.real_hours else 0.0

    @property
    def catch_rate(self) -> float:
        return self.caught / self.fake_utterances if self.fake_utterances else float("nan")


def operating_point(traces: Sequence[ClipTrace], settings: DecisionSettings, threshold: float,
                    rule: CascadeRule | None = None) -> OperatingPoint:
    """Figures at the filter ``threshold`` (and the cascade ``rule``; the point's threshold is then the rule's)."""
    false_alarms, caught, judged, uncertain, utterances = 0, 0, 0, 0, 0
    per_source: dict[str, tuple[int, int]] = {}
    real_s = 0.0
    for trace in traces:
        judgements = decide(trace, settings, threshold, rule)
        c, n, u = _count_utterances(judgements, settings)
        uncertain, utterances = uncertain + u, utterances + n
        if trace.label == 0:
            real_s += trace.duration_s
            false_alarms += sum(j.kind == "alert" for j in judgements)
        else:
            caught, judged = caught + c, judged + n
            old = per_source.get(trace.source, (0, 0))
            per_source[trace.source] = (old[0] + c, old[1] + n)
    shown = threshold if rule is None else rule.threshold
    return OperatingPoint(shown, false_alarms, real_s / 3600.0, caught, judged, per_source, uncertain, utterances)


def sweep(traces: Sequence[ClipTrace], settings: DecisionSettings, points: int = 200,
          rule: CascadeRule | None = None, filter_threshold: float = 0.5) -> list[OperatingPoint]:
    """Operating points over thresholds from 0 to 1 (the DET-style curve: false alarms per hour vs misses): the
    filter's threshold, or with a cascade ``rule`` the verifier's at the rule's gate (one for both channels)."""
    rule = None if rule is None else rule.at(rule.threshold, None)
    values = [c for t in traces for c in _candidates(t, settings, filter_threshold, rule)]
    grid = np.unique(np.concatenate([np.linspace(0.0, 1.0, points), np.quantile(
        values or [0.5], np.linspace(0, 1, points))]))
    if rule is None:
        return [operating_point(traces, settings, float(t)) for t in grid]
    return [operating_point(traces, settings, filter_threshold, rule.at(float(t))) for t in grid]


def catch_at_false_alarms(curve: Sequence[Sequence[float]], max_per_hour: float) -> float:
    """The best catch rate on a sweep's curve ([threshold, false alarms/h, catch rate] rows) within the budget."""
    rates = [c for _, fa, c in curve if fa <= max_per_hour and c == c]
    return max(rates) if rates else 0.0


def threshold_for_false_alarms(traces: Sequence[ClipTrace], settings: DecisionSettings,
                               max_per_hour: float, rule: CascadeRule | None = None,
                               filter_threshold: float = 0.5, telephone: bool = False) -> float:
    """The lowest threshold whose false alarms per hour on the (real) traces stay at or under ``max_per_hour``.

    Alerts on real audio only fall as the threshold rises, so the candidates (every window score and utterance
    aggregate of the real traces) are searched from the top; the threshold returned sits just above the last
    candidate that would raise one alarm too many. With a cascade ``rule`` it is the verifier's threshold (at
    the rule's gate, the filter at ``filter_threshold``) that is searched, over the verifier's utterance scores:
    its threshold for the telephone band where ``telephone``, the other one staying as the rule has it."""
    real = [t for t in traces if t.label == 0]
    hours = sum(t.duration_s for t in real) / 3600.0
    if not real or hours == 0:
        raise ValueError("no real audio to calibrate on")
    allowed = max_per_hour * hours
    candidates = sorted({c for t in real for c in _candidates(t, settings, filter_threshold, rule)})
    if not candidates:
        return 0.0  # no speech judged at all: nothing can raise an alarm

    def too_many(threshold: float) -> bool:
        if rule is None:
            return sum(alerts(t, settings, threshold) for t in real) > allowed
        at = rule.at(threshold, telephone)
        return sum(alerts(t, settings, filter_threshold, at) for t in real) > allowed

    if not too_many(0.0):
        return 0.0
    if too_many(candidates[-1]):
        return float(np.nextafter(candidates[-1], 2.0))  # only above every score is quiet enough
    lo, hi = 0, len(candidates) - 1  # too_many is False at hi; find the first candidate where it is False
    while lo < hi:
        mid = (lo + hi) // 2
        if too_many(candidates[mid]):
            lo = mid + 1
        else:
            hi = mid
    # nothing changes between two neighbouring candidates, so the first quiet enough candidate is the lowest
    # threshold that keeps the budget
    return float(candidates[lo])


def deciding_traces(traces: Sequence[ClipTrace], settings: DecisionSettings, threshold: float,
                    rule: CascadeRule | None = None, filter_threshold: float = 0.5,
                    telephone: bool = False) -> list[ClipTrace]:
    """The real traces that set a ``threshold_for_false_alarms`` result: those that would raise more alarms at
    the next lower candidate (where the budget breaks). Empty when the threshold is the lowest possible. With a
    cascade ``rule``, ``threshold`` is the verifier's (the filter at ``filter_threshold``)."""
    real = [t for t in traces if t.label == 0]
    lower = [c for t in real for c in _candidates(t, settings, filter_threshold, rule) if c < threshold]
    if not lower:
        return []
    below = max(lower)

    def raised(trace: ClipTrace, at: float) -> int:
        if rule is None:
            return alerts(trace, settings, at)
        return alerts(trace, settings, filter_threshold, rule.at(at, telephone))

    return [t for t in real if raised(t, below) > raised(t, threshold)]


def telephone_share(traces: Sequence[ClipTrace]) -> float:
    """The share of the checked audio (seconds of the spans the verifier judged) that was in the telephone band."""
    seconds = [(end - start, telephone) for t in traces for start, end, _, telephone in t.checks]
    total = sum(s for s, _ in seconds)
    return sum(s for s, telephone in seconds if telephone) / total if total else 0.0


def judged_speech_s(traces: Sequence[ClipTrace]) -> float:
    """Seconds of speech the daemon judged in the traces (the spans of their scored utterances)."""
    return sum(step.end - step.start for t in traces for step in t.steps
               if step.score is None and step.windows) / SAMPLE_RATE


def clip_flag_scores(traces: Sequence[ClipTrace], settings: DecisionSettings, rule: CascadeRule | None = None,
                     filter_threshold: float = 0.5) -> np.ndarray:
    return np.array([flag_score(t, settings, rule, filter_threshold) for t in traces])


def with_verifier_scores(traces: Sequence[ClipTrace], verifier: OnnxVerifier, bandlimit: int = 0,
                         label: str = "verifier", settings: DecisionSettings | None = None,
                         rule: CascadeRule | None = None) -> list[ClipTrace]:
    """Each trace with the verifier's score of every span the router may ask about (``requested_spans``; the
    rule defaults to the verifier card's): the span's last ``max_s`` seconds, as the daemon's history hands them
    on, so a sweep over gate and threshold needs no more inference."""
    from voxwatch.pipeline.cascade import VerifierSettings, resolve_rule
    from voxwatch.pipeline.sources import load_audio
    from voxwatch.training.augment import band_limit
    from voxwatch.training.pool import counting

    settings = settings or DecisionSettings()
    rule = rule or resolve_rule(VerifierSettings(), verifier.card)
    assert rule is not None
    keep = verifier.card.features.max_samples
    out = []
    with counting(label, len(traces)) as advance:
        for trace in traces:
            audio = load_audio(trace.path)
            if bandlimit:
                audio = band_limit(audio, bandlimit)
            spans = sorted(set(requested_spans(trace, settings, rule)))
            checks = tuple((start, end, *verifier.judge(audio[max(start, end - keep) : end]))
                           for start, end in spans if end > start)
            out.append(replace(trace, checks=checks))
            advance()
    return out


def trace_clips(detector: Detector, clips: Sequence[Clip], bandlimit: int = 0, label: str = "streams",
                unreadable: Callable[[Clip, VoxwatchError], None] | None = None) -> list[ClipTrace]:
    """Each clip replayed as a stream of its own through ``detector`` (a ``voxwatch.Detector``), with a progress
    bar on stderr. ``bandlimit`` (Hz of sampling) first band-limits every clip, as ``eval --telephone`` does.
    A clip that cannot be read raises, unless ``unreadable`` is given: it is then told, and the clip left out."""
    from voxwatch.pipeline.sources import load_audio
    from voxwatch.training.augment import band_limit
    from voxwatch.training.pool import counting

    traces = []
    with counting(label, len(clips)) as advance:
        for clip in clips:
            try:
                audio = load_audio(clip.path)
            except VoxwatchError as exc:
                if unreadable is None:
                    raise
                unreadable(clip, exc)
                advance()
                continue
            if bandlimit:
                audio = band_limit(audio, bandlimit)
            detector.reset()
            judgements = detector.process(audio) + detector.flush()
            traces.append(trace_from_judgements(judgements, len(audio) / SAMPLE_RATE, clip.label, clip.source,
                                                str(clip.path), detector.threshold))
            advance()
    return traces


def summarize(traces: Sequence[ClipTrace], settings: DecisionSettings, threshold: float,
              unseen_sources: Iterable[str] = (), rule: CascadeRule | None = None,
              budget_per_hour: float = 2.0) -> dict:
    """The daemon-path figures of one set at ``threshold``: EER of clip flag scores (a clip with no judged
    utterance is not flagged), false alarms per hour, fake utterances caught (overall, per source, and for
    sources training never saw), the share of uncertain verdicts, the best catch rate within ``budget_per_hour``
    false alarms, and the sweep behind the false-alarm plot. With a cascade ``rule`` (the filter at
    ``threshold``) the figures are the cascade's and the sweep moves the verifier's threshold."""
    from voxwatch.training import metrics

    labels = np.array([t.label for t in traces])
    flags = clip_flag_scores(traces, settings, rule, threshold)
    rate, eer_threshold = metrics.eer(labels, flags)
    point = operating_point(traces, settings, threshold, rule)
    unseen = sorted(set(unseen_sources) & set(point.per_source))
    unseen_caught = sum(point.per_source[s][0] for s in unseen)
    unseen_judged = sum(point.per_source[s][1] for s in unseen)
    curve = [[p.threshold, p.false_alarms_per_hour, p.catch_rate]
             for p in sweep(traces, settings, rule=rule, filter_threshold=threshold)]
    return {
        "stage": "cascade" if rule is not None else "filter",
        "gate": None if rule is None else rule.gate,
        "eer": rate, "eer_threshold": eer_threshold, "threshold": threshold if rule is None else rule.threshold,
        "uncertain_share": point.uncertain_share, "budget_per_hour": budget_per_hour,
        "catch_at_budget": catch_at_false_alarms(curve, budget_per_hour),
        "real_hours": point.real_hours, "false_alarms": point.false_alarms,
        "false_alarms_per_hour": point.false_alarms_per_hour,
        "fake_utterances": point.fake_utterances, "caught": point.caught, "catch_rate": point.catch_rate,
        "real_clips_unjudged": int(sum(1 for t in traces if t.label == 0 and not t.candidates)),
        "fake_clips_unjudged": int(sum(1 for t in traces if t.label == 1 and not t.candidates)),
        "per_source": {s: {"caught": c, "utterances": n, "catch_rate": c / n if n else None, "unseen": s in unseen}
                       for s, (c, n) in sorted(point.per_source.items())},
        "unseen": {"sources": unseen, "caught": unseen_caught, "utterances": unseen_judged,
                   "catch_rate": unseen_caught / unseen_judged if unseen_judged else None},
        "curve": curve,
        "flag_scores": [round(float(f), 6) for f in flags],
    }
