"""Speech against the enrolled voices: whose voice it sounds like, and whether it is that person or a clone.

``similarity``: cosine of the utterance's embedding to the voice's centroid (the nearest channel's when the
voiceprint holds several). ``match``: ``none`` below the voice's ``claim`` threshold (another speaker: nothing to
say about this voice), ``clone`` from ``claim`` up to its ``genuine`` threshold (it sounds like the person, less
than the person's own recordings do), ``genuine`` at or above it. ``clone_score`` is
``sigmoid((genuine - similarity) / scale)``: 0.5 at the genuine threshold, towards 1 the further the speech falls
below the person's own range, ``scale`` being the spread of the enrolment's leave-one-out similarities (floored).
It reads as "more likely a clone of this voice" only where the voice is claimed (``match`` not ``none``).

Two scorings, as the voiceprint says (``Voiceprint.scoring``):

* ``cosine`` (voiceprints enrolled before the cohort shipped): ``genuine`` and ``scale`` are cosine similarities,
  per voice from the enrolment's own statistics;
* ``snorm``: the claim is still the cosine ``claim`` threshold, but genuine against clone is decided on the
  adaptive S-norm score (``voxwatch.voices.cohort``): ``clone_score = sigmoid((genuine - snorm) / scale)`` with
  the global ``genuine`` and ``scale`` of ``voxwatch.voices.calibration``. ``VoiceMatch.score`` is the S-norm
  score and ``VoiceMatch.genuine`` the cosine similarity at which this check would have turned genuine (S-norm is
  linear in the cosine for a given voice and utterance), so that a reason shown to people reads in similarities
  either way.

Where the utterance also has the verifier's score, clone against genuine is decided on the two fused
(``voxwatch.voices.fusion``): the match then carries ``verifier`` and its ``clone_score`` is the fused one.

Measured (``voxwatch eval --voices``; ``lab/notes/voice-encoder.md``): S-norm separates clones from the person's
own recordings better than the cosine, and the per-voice cosine thresholds did worse than one global one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxwatch.voices.cohort import Cohort, bundled_cohort, snorm
from voxwatch.voices.voiceprint import SNORM, Thresholds, Voiceprint, VoiceprintError

GENUINE, CLONE, NONE = "genuine", "clone", "none"


@dataclass(frozen=True)
class VoiceMatch:
    name: str
    similarity: float
    clone_score: float
    match: str
    genuine: float | None = None  # the similarity from which it is genuine (for reasons shown; not in ``record``)
    score: float | None = None  # the S-norm score, for a voiceprint scored so (not in ``record``)
    per_cosine: float | None = None  # S-norm units per unit of cosine here (where a fused threshold falls)
    verifier: float | None = None  # the verifier's score the decision was fused with (``voxwatch.voices.fusion``)

    def record(self) -> dict[str, object]:
        record: dict[str, object] = {"name": self.name, "similarity": round(self.similarity, 4),
                                     "clone_score": round(self.clone_score, 4), "match": self.match}
        if self.verifier is not None:  # clone_score and match are the fused ones
            record["fused_verifier_score"] = round(self.verifier, 4)
        return record


def similarity(vector: np.ndarray, voiceprint: Voiceprint) -> float:
    return max(float(np.asarray(vector, np.float32) @ voiceprint.centroid(ch)) for ch in voiceprint.embeddings)


def clone_score(sim: float, thresholds: Thresholds) -> float:
    z = (thresholds.genuine - sim) / thresholds.scale
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def verdict(sim: float, thresholds: Thresholds) -> str:
    if sim < thresholds.claim:
        return NONE
    return GENUINE if sim >= thresholds.genuine else CLONE


TestStats = dict[int, tuple[Any, Any]]  # top_k -> the utterance's cohort (mean, std), as ``Cohort.stats`` gives
# (id of the voiceprint, channel, top_k, cohort sha256) -> (that voiceprint, its channel's centroid, its cohort
# (mean, std)): the enrolment side of S-norm, the same for every check until the voiceprints change
EnrolStats = dict[tuple[int, str, int, str], tuple[Voiceprint, np.ndarray, tuple[Any, Any]]]


def match(vector: np.ndarray, voiceprint: Voiceprint, cohort: Cohort | None = None,
          tests: TestStats | None = None, enrolled: EnrolStats | None = None) -> VoiceMatch:
    """``vector`` against one voiceprint, scored as the voiceprint says (``cohort``: for S-norm voiceprints, else
    the bundled cohort; ``tests``, ``enrolled``: see ``snorm_match``)."""
    if voiceprint.method == SNORM:
        return snorm_match(vector, voiceprint, cohort, tests, enrolled)
    sim = similarity(vector, voiceprint)
    t = voiceprint.thresholds
    return VoiceMatch(voiceprint.name, sim, clone_score(sim, t), verdict(sim, t), t.genuine)


def snorm_match(vector: np.ndarray, voiceprint: Voiceprint, cohort: Cohort | None = None,
                tests: TestStats | None = None, enrolled: EnrolStats | None = None) -> VoiceMatch:
    """The S-norm check: the channel with the highest S-norm score; ``none`` below the cosine claim threshold.

    ``tests`` (optional, filled here) keeps the utterance's own cohort statistics per ``top_k``: ``check``
    against every enrolled voice passes one dict, so they are computed once per utterance, not once per voice.
    ``enrolled`` (optional, filled here) keeps each voiceprint channel's side across checks (a ``VoiceChecker``
    holds one per set of voiceprints).
    """
    top_k = int(voiceprint.scoring.get("top_k", 0))
    cohort = bundled_cohort(top_k) if cohort is None else cohort.with_top_k(top_k)
    if cohort.encoder_sha256 and cohort.encoder_sha256 != voiceprint.encoder.sha256:
        raise VoiceprintError(f"voice {voiceprint.name!r}: the speaker cohort was made with another speaker encoder "
                              f"(sha256 {cohort.encoder_sha256[:12]}…) than the voiceprint "
                              f"({voiceprint.encoder.sha256[:12]}…)")
    vector = np.asarray(vector, np.float32)
    if tests is None:
        tests = {}
    test = tests.get(top_k)
    if test is None:
        test = tests[top_k] = cohort.stats(vector)
    t = voiceprint.thresholds
    best: tuple[float, float, float, float] | None = None  # (score, cosine, cosine at the genuine threshold, a)
    for channel in voiceprint.embeddings:
        centroid, enrol = _enrol_side(voiceprint, channel, top_k, cohort, enrolled)
        cos = float(vector @ centroid)
        score = float(snorm(cos, enrol, test))
        # snorm = cos * a - b: the cosine at which it reaches the genuine threshold
        a = 0.5 * (1.0 / float(enrol[1]) + 1.0 / float(test[1]))
        b = 0.5 * (float(enrol[0]) / float(enrol[1]) + float(test[0]) / float(test[1]))
        if best is None or score > best[0]:
            best = (score, cos, (t.genuine + b) / a, a)
    assert best is not None
    score, cos, genuine_cos, per_cosine = best
    verdict_ = NONE if cos < t.claim else (GENUINE if score >= t.genuine else CLONE)
    return VoiceMatch(voiceprint.name, cos, clone_score(score, t), verdict_, genuine_cos, score, per_cosine)


def _enrol_side(voiceprint: Voiceprint, channel: str, top_k: int, cohort: Cohort,
                cache: EnrolStats | None) -> tuple[np.ndarray, tuple[Any, Any]]:
    """A voiceprint channel's centroid and cohort statistics, from ``cache`` where it holds them for this very
    voiceprint (an id can be reused once an object is gone: the entry keeps the object and is checked with ``is``)."""
    key = (id(voiceprint), channel, top_k, cohort.sha256)
    hit = None if cache is None else cache.get(key)
    if hit is not None and hit[0] is voiceprint:
        return hit[1], hit[2]
    centroid = voiceprint.centroid(channel)
    stats = cohort.stats(centroid)
    if cache is not None:
        cache[key] = (voiceprint, centroid, stats)
    return centroid, stats


def check(vector: np.ndarray, voiceprints: Sequence[Voiceprint], expect: str | None = None,
          cohort: Cohort | None = None, enrolled: EnrolStats | None = None) -> VoiceMatch:
    """The match against ``expect``'s voiceprint, else against the nearest voice (highest similarity)."""
    if not voiceprints:
        raise ValueError("no voiceprints to check against")
    if expect is not None:
        chosen = next((v for v in voiceprints if v.name == expect), None)
        if chosen is None:
            raise ValueError(f"no voiceprint named {expect!r}")
        return match(vector, chosen, cohort, enrolled=enrolled)
    tests: TestStats = {}  # the utterance's side of S-norm, shared by the voices (one cohort product, not N)
    return max((match(vector, v, cohort, tests, enrolled) for v in voiceprints), key=lambda m: m.similarity)
