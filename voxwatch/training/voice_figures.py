"""The figures of clone watch's person-of-interest evaluation (``voxwatch.training.voice_eval``): EER, clones
caught within a false-clone-alarm budget, the product's own verdicts, other people's false alarms, per system.

A trial is one check of audio against a voice: ``genuine`` (a target's held-out real clip), ``clone`` (a clip
imitating the target) or ``other`` (someone not enrolled, against the nearest voice).

Figures per (k, condition, system):

* ``eer``: equal error rate of ``clone_score`` (clones positive, genuine trials negative), pooled over targets
  and folds; ``eer_similarity`` the same for the raw similarity (no per-voice calibration);
* ``caught_at_budget``: the share of clones a clone alert catches at the lowest ``clone_score`` threshold that
  keeps false clone alarms on the held-out genuine speech at or under ``budget`` per hour (an alert: the voice
  claimed, ``match`` not ``none``, and ``clone_score`` at or above the threshold);
* at the product's own thresholds: ``caught`` (clones judged ``clone``), ``genuine_false_alarms_per_hour``
  (genuine trials judged ``clone``), ``genuine_missed`` (genuine trials judged ``none``: the person not
  recognised);
* ``others``: false clone alarms per hour of other people's real speech (judged ``clone`` of the nearest voice),
  and how often another person is taken as an enrolled voice (``genuine``).

With a ``CloneFusion`` (``voxwatch.voices.fusion``) every entry also has ``fused``: the same figures with each
trial that has a verifier score decided by the fused rule, as the daemon decides an utterance the verifier
judged. ``fit_fusion`` fits that rule on a split's trials (the lab's ``python -m lab.voice_eval fusion``, on dev).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from voxwatch.training.logistic import balanced_logistic, logit
from voxwatch.voices import calibration as cal
from voxwatch.voices.check import CLONE, GENUINE, NONE, VoiceMatch
from voxwatch.voices.fusion import CloneFusion, fuse

CLEAN = "clean"
TELEPHONE = "telephone"


@dataclass(frozen=True)
class Trial:
    kind: str  # "genuine", "clone" or "other"
    voice: str  # the voice checked against (for "other": the nearest enrolled voice)
    system: str  # a clone's source ("" for real speech)
    condition: str  # "clean", or the telephone chain a genuine clip went through
    duration_s: float  # of the audio checked
    similarity: float
    clone_score: float
    match: str
    fold: int
    score: float | None = None  # the S-norm score (S-norm voiceprints)
    verifier: float | None = None  # the verifier's raw score of the audio (where the evaluation ran it)


def eer(negatives: Sequence[float], positives: Sequence[float]) -> float | None:
    """Equal error rate with ``positives`` scoring higher (None without both)."""
    from voxwatch.training.metrics import eer as metrics_eer

    if not len(negatives) or not len(positives):
        return None
    labels = np.r_[np.zeros(len(negatives)), np.ones(len(positives))]
    return metrics_eer(labels, np.r_[np.asarray(negatives, float), np.asarray(positives, float)])[0]


def caught_at_budget(genuine: Sequence[Trial], clones: Sequence[Trial], budget_per_hour: float
                     ) -> tuple[float | None, float | None, float]:
    """(share of clones caught, the clone_score threshold, false clone alarms per hour there) at the lowest
    threshold whose false clone alarms on ``genuine`` stay within ``budget_per_hour``. An alert needs the voice
    claimed (``match`` not ``none``) and ``clone_score`` at or above the threshold."""
    hours = sum(t.duration_s for t in genuine) / 3600.0
    if not clones or hours <= 0:
        return None, None, 0.0
    allowed = math.floor(budget_per_hour * hours + 1e-9)  # how many alarms the budget affords on this speech
    alarms = sorted((t.clone_score for t in genuine if t.match != NONE), reverse=True)
    if len(alarms) <= allowed:
        threshold = -math.inf  # every claimed clone alerts
    else:
        threshold = float(np.nextafter(alarms[allowed], math.inf))  # just above the (allowed+1)-th alarm
    caught = sum(1 for t in clones if t.match != NONE and t.clone_score >= threshold)
    fa = sum(1 for t in genuine if t.match != NONE and t.clone_score >= threshold)
    return caught / len(clones), (None if threshold == -math.inf else threshold), fa / hours


def figures(genuine: Sequence[Trial], clones: Sequence[Trial], budget_per_hour: float) -> dict[str, Any]:
    hours = sum(t.duration_s for t in genuine) / 3600.0
    caught, threshold, fa_at = caught_at_budget(genuine, clones, budget_per_hour)
    g_clone = sum(1 for t in genuine if t.match == CLONE)
    return {
        "targets": len({t.voice for t in genuine} | {t.voice for t in clones}),
        "genuine_trials": len(genuine),
        "genuine_hours": round(hours, 4),
        "clone_trials": len(clones),
        "eer": _round(eer([t.clone_score for t in genuine], [t.clone_score for t in clones])),
        "eer_similarity": _round(eer([-t.similarity for t in genuine], [-t.similarity for t in clones])),
        "caught_at_budget": _round(caught),
        "budget_threshold": _round(threshold),
        "false_alarms_per_hour_at_budget": round(fa_at, 3),
        "caught": _round(sum(1 for t in clones if t.match == CLONE) / len(clones) if clones else None),
        "clones_taken_as_genuine": _round(sum(1 for t in clones if t.match == GENUINE) / len(clones)
                                          if clones else None),
        "genuine_false_alarms": g_clone,
        "genuine_false_alarms_per_hour": round(g_clone / hours, 2) if hours > 0 else None,
        "genuine_missed": _round(sum(1 for t in genuine if t.match == NONE) / len(genuine) if genuine else None),
        "similarity_mean": {"genuine": _round(_mean(t.similarity for t in genuine)),
                            "clone": _round(_mean(t.similarity for t in clones))},
    }


def others_figures(others: Sequence[Trial]) -> dict[str, Any]:
    hours = sum(t.duration_s for t in others) / 3600.0
    clone = sum(1 for t in others if t.match == CLONE)
    genuine = sum(1 for t in others if t.match == GENUINE)
    return {"trials": len(others), "hours": round(hours, 4), "clone_alarms": clone,
            "false_alarms_per_hour": round(clone / hours, 2) if hours > 0 else None,
            "taken_as_genuine": genuine,
            "taken_as_genuine_per_hour": round(genuine / hours, 2) if hours > 0 else None,
            "similarity_p95": _round(float(np.percentile([t.similarity for t in others], 95)) if others else None)}


def summarize(trials_by_k: dict[str, list[Trial]], budget_per_hour: float, telephone: Sequence[str] = (),
              fusion: CloneFusion | None = None) -> list[dict[str, Any]]:
    """One entry per (k, condition): figures per system and overall, and the other people's false alarms.
    Conditions: ``clean``, and with telephone chains ``telephone`` (the genuine clips through every chain, against
    the clean clones) with each chain's figures under ``chains``. With ``fusion``, the fused figures under
    ``fused``."""
    out = []
    for k, trials in trials_by_k.items():
        for condition in (CLEAN, TELEPHONE) if telephone else (CLEAN,):
            entry: dict[str, Any] = {"k": k, "condition": condition,
                                     **_figures_of(trials, condition, budget_per_hour, telephone)}
            if fusion is not None:
                entry["fused"] = _figures_of(fused(trials, fusion), condition, budget_per_hour, telephone)
            out.append(entry)
    return out


def _figures_of(trials: Sequence[Trial], condition: str, budget_per_hour: float, telephone: Sequence[str]
                ) -> dict[str, Any]:
    clones = [t for t in trials if t.kind == "clone"]
    genuine = [t for t in trials if t.kind == "genuine"
               and (t.condition == CLEAN if condition == CLEAN else t.condition in telephone)]
    out: dict[str, Any] = {"systems": {}}
    for system in sorted({t.system for t in clones}):
        mine = [t for t in clones if t.system == system]
        voices = {t.voice for t in mine}
        out["systems"][system] = figures([t for t in genuine if t.voice in voices], mine, budget_per_hour)
    out["overall"] = figures(genuine, clones, budget_per_hour)
    out["others"] = others_figures([t for t in trials if t.kind == "other"])
    if condition == TELEPHONE:
        out["chains"] = {name: figures([t for t in genuine if t.condition == name], clones, budget_per_hour)
                         for name in telephone}
    return out


def fused(trials: Iterable[Trial], fusion: CloneFusion) -> list[Trial]:
    """The trials as the fused rule decides them (``voxwatch.voices.fusion.fuse``: trials without a verifier
    score, or not claimed, unchanged)."""
    out = []
    for t in trials:
        m = fuse(VoiceMatch(t.voice, t.similarity, t.clone_score, t.match, score=t.score), t.verifier, fusion)
        out.append(t if m is None or m.verifier is None else replace(t, clone_score=m.clone_score, match=m.match))
    return out


def fit_fusion(trials: Sequence[Trial], budget_per_hour: float, verifier_sha256: str = "",
               telephone: Sequence[str] = ()) -> tuple[CloneFusion, dict[str, Any]]:
    """The fused rule fitted on these trials (one k, one split): class-balanced logistic regression of clone
    (1) against genuine (0) on the claimed trials with a verifier score (genuine telephone copies of ``telephone``
    included), then the threshold by ``SNORM_GENUINE``'s rule: the lowest that keeps false clone alarms on the
    clean held-out genuine speech within ``budget_per_hour`` (rounded up to 0.01). Also what it was fitted on."""
    usable = [t for t in trials if t.match != NONE and t.score is not None and t.verifier is not None
              and t.kind in ("genuine", "clone") and (t.condition == CLEAN or t.condition in telephone)]
    labels = np.array([t.kind == "clone" for t in usable], float)
    if len(set(labels.tolist())) < 2:
        raise ValueError("fitting the fusion needs claimed clone and genuine trials with verifier scores")
    features = np.array([[(cal.SNORM_GENUINE - float(t.score or 0.0)) / cal.SNORM_SCALE, float(t.verifier or 0.0)]
                         for t in usable])
    features[:, 1] = logit(features[:, 1])
    w = balanced_logistic(features, labels)
    unthresholded = CloneFusion(float(w[0]), float(w[1]), float(w[2]), 0.0, verifier_sha256)
    as_scored = fused([t for t in trials if t.kind in ("genuine", "clone")], unthresholded)
    genuine = [t for t in as_scored if t.kind == "genuine" and t.condition == CLEAN]
    _, at, _ = caught_at_budget(genuine, [t for t in as_scored if t.kind == "clone"], budget_per_hour)
    threshold = -math.inf if at is None else math.log(at / (1.0 - at)) if at < 1.0 else math.inf
    threshold = math.ceil(threshold * 100) / 100 if math.isfinite(threshold) else threshold
    fusion = replace(unthresholded, threshold=threshold)
    return fusion, {"clone_trials": int(labels.sum()), "genuine_trials": int(len(labels) - labels.sum()),
                    "genuine_hours_for_threshold": round(sum(t.duration_s for t in genuine) / 3600.0, 4)}


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return float(np.mean(values)) if values else None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


