"""Speech against the enrolled voices: whose voice it sounds like, and whether it is that person or a clone.

``similarity``: cosine of the utterance's embedding to the voice's centroid (the nearest channel's when the
voiceprint holds several). ``match``: ``none`` below the voice's ``claim`` threshold (another speaker: nothing to
say about this voice), ``clone`` from ``claim`` up to its ``genuine`` threshold (it sounds like the person, less
than the person's own recordings do), ``genuine`` at or above it. ``clone_score`` is
``sigmoid((genuine - similarity) / scale)``: 0.5 at the genuine threshold, towards 1 the further the speech falls
below the person's own range, ``scale`` being the spread of the enrolment's leave-one-out similarities (floored).
It reads as "more likely a clone of this voice" only where the voice is claimed (``match`` not ``none``).

This is a first, per-voice calibration from the enrolment alone. Next: cohort score normalisation (S-norm
against other speakers' embeddings) and fusion with the detector's cascade score, which judges the audio itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxwatch.voices.voiceprint import Thresholds, Voiceprint

GENUINE, CLONE, NONE = "genuine", "clone", "none"


@dataclass(frozen=True)
class VoiceMatch:
    name: str
    similarity: float
    clone_score: float
    match: str
    genuine: float | None = None  # the voice's genuine threshold (for reasons shown to people; not in ``record``)

    def record(self) -> dict[str, object]:
        return {"name": self.name, "similarity": round(self.similarity, 4), "clone_score": round(self.clone_score, 4),
                "match": self.match}


def similarity(vector: np.ndarray, voiceprint: Voiceprint) -> float:
    return max(float(np.asarray(vector, np.float32) @ voiceprint.centroid(ch)) for ch in voiceprint.embeddings)


def clone_score(sim: float, thresholds: Thresholds) -> float:
    z = (thresholds.genuine - sim) / thresholds.scale
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def verdict(sim: float, thresholds: Thresholds) -> str:
    if sim < thresholds.claim:
        return NONE
    return GENUINE if sim >= thresholds.genuine else CLONE


def match(vector: np.ndarray, voiceprint: Voiceprint) -> VoiceMatch:
    sim = similarity(vector, voiceprint)
    t = voiceprint.thresholds
    return VoiceMatch(voiceprint.name, sim, clone_score(sim, t), verdict(sim, t), t.genuine)


def check(vector: np.ndarray, voiceprints: Sequence[Voiceprint], expect: str | None = None) -> VoiceMatch:
    """The match against ``expect``'s voiceprint, else against the nearest voice (highest similarity)."""
    if not voiceprints:
        raise ValueError("no voiceprints to check against")
    if expect is not None:
        chosen = next((v for v in voiceprints if v.name == expect), None)
        if chosen is None:
            raise ValueError(f"no voiceprint named {expect!r}")
        return match(vector, chosen)
    return max((match(vector, v) for v in voiceprints), key=lambda m: m.similarity)
