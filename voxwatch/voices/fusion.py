"""Clone watch fused with the verifier: one rule for clone against genuine where an utterance has both a claimed
voice and the verifier's score of its audio.

The best clones of zero-shot systems sit as close to the enrolled voice as the person's own recordings, while
the verifier still hears something synthetic in them; the person's own recordings sound real to it. So where
both exist the decision is on the fused evidence

    evidence = clone * (genuine - snorm) / scale + verifier * logit(verifier score) + bias

(``genuine`` and ``scale``: ``SNORM_GENUINE`` and ``SNORM_SCALE``; the first term is the logit of the S-norm
``clone_score``), ``clone`` at or above ``threshold``, else ``genuine``; the match's ``clone_score`` becomes
``sigmoid(evidence - threshold)``, 0.5 at the threshold as before, and its ``genuine`` the similarity at which
this check would have turned genuine. A ``none`` match (another speaker), a voiceprint scored on the cosine (its
per-voice thresholds are another scale) and an utterance the verifier did not judge keep the S-norm decision.

The weights are fitted on the dev systems only (``python -m lab.voice_eval fusion``; ``voxwatch.voices.calibration``
holds them with their provenance), for one verifier: ``for_verifier`` gives the fusion only for the verifier
(sha256) it was fitted on, since another verifier's scores mean something else.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voxwatch.voices import calibration as cal
from voxwatch.voices.check import CLONE, GENUINE, NONE, VoiceMatch

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier


@dataclass(frozen=True)
class CloneFusion:
    clone: float  # weight of the S-norm clone evidence, (genuine - snorm) / scale
    verifier: float  # weight of logit(the verifier's raw score)
    bias: float
    threshold: float  # evidence at or above which the voice is taken as a clone
    verifier_sha256: str = ""  # the verifier the weights were fitted on ("" : any)

    def evidence(self, snorm_score: float, verifier_score: float) -> float:
        z = (cal.SNORM_GENUINE - snorm_score) / cal.SNORM_SCALE
        return self.clone * z + self.verifier * _logit(verifier_score) + self.bias

    def snorm_at_threshold(self, verifier_score: float) -> float:
        """The S-norm score at which the evidence reaches the threshold, for this verifier score."""
        rest = self.threshold - self.verifier * _logit(verifier_score) - self.bias
        return cal.SNORM_GENUINE - cal.SNORM_SCALE * rest / self.clone if self.clone > 0 else math.inf


def fitted() -> CloneFusion:
    """The fusion fitted on dev (``voxwatch.voices.calibration``), whether or not the product uses it."""
    return CloneFusion(cal.FUSION_CLONE, cal.FUSION_VERIFIER, cal.FUSION_BIAS, cal.FUSION_THRESHOLD,
                       cal.FUSION_VERIFIER_SHA256)


def bundled() -> CloneFusion | None:
    """The fusion the product uses: ``fitted``, or None where ``calibration.FUSION`` turns it off."""
    return fitted() if cal.FUSION else None


def bundled_verifier(warn: Callable[[str], None]) -> OnnxVerifier | None:
    """The bundled verifier where clone watch decides with it, as the daemon does (for ``voices check`` and the
    web's Voices page): None where the fusion is off or no verifier is bundled; one that will not load is said
    through ``warn`` once, and the voice decides alone."""
    from voxwatch.errors import VoxwatchError
    from voxwatch.models import default_verifier_path
    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier

    path = default_verifier_path()
    if bundled() is None or path is None:
        return None
    try:
        return OnnxVerifier(path)
    except VoxwatchError as exc:
        warn(f"{exc}; the voice check decides without the verifier")
        return None


def for_verifier(verifier_sha256: str | None, fusion: CloneFusion | None = None) -> CloneFusion | None:
    """The fusion to use beside this verifier (None without one, or where the fusion was fitted on another)."""
    fusion = bundled() if fusion is None else fusion
    if fusion is None or verifier_sha256 is None:
        return None
    if fusion.verifier_sha256 and fusion.verifier_sha256 != verifier_sha256:
        return None
    return fusion


def fuse(match: VoiceMatch | None, verifier_score: float | None, fusion: CloneFusion | None) -> VoiceMatch | None:
    """``match`` decided on the fused evidence where the rule applies (see the module), else unchanged."""
    if (match is None or fusion is None or verifier_score is None or match.match == NONE or match.score is None
            or not math.isfinite(verifier_score)):
        return match
    margin = fusion.evidence(match.score, verifier_score) - fusion.threshold
    genuine = match.genuine
    if match.per_cosine:  # S-norm is linear in the cosine: the similarity at which the fused rule turns genuine
        genuine = match.similarity + (fusion.snorm_at_threshold(verifier_score) - match.score) / match.per_cosine
    return dataclasses.replace(match, clone_score=_sigmoid(margin), match=CLONE if margin >= 0 else GENUINE,
                               genuine=genuine, verifier=float(verifier_score))


def with_verifier(match: VoiceMatch, audio: np.ndarray, verifier: OnnxVerifier | None) -> VoiceMatch:
    """A whole recording's match (``voxwatch voices check``, ``Detector.check_voice``) decided as the router
    decides an utterance the verifier judged, the verifier hearing the recording's last ``max_s`` seconds as it
    hears an utterance's (a file has no filter gate in front of the verifier)."""
    fusion = None if verifier is None else for_verifier(verifier.sha256)
    if verifier is None or fusion is None or match.match == NONE or match.score is None:
        return match
    return fuse(match, verifier.judge(audio[-verifier.card.features.max_samples:])[0], fusion) or match


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1.0 - 1e-6)
    return math.log(p / (1.0 - p))


def _sigmoid(z: float) -> float:
    z = max(-50.0, min(50.0, z))
    return 1.0 / (1.0 + math.exp(-z))
