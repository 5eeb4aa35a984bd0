"""The verifier's one feature function, shared by the runtime verifier and by verifier training.

The verifier sees more than the filter's 2-second window: the last ``max_s`` seconds of an utterance (the
runtime keeps no more than that per stream), tiled up to ``min_s`` when shorter (the filter's padding rule:
repetition, never digital silence). Its front end is a finer linear-frequency log filterbank than the filter's
(``FeatureSettings`` with more bands), normalised once over the whole utterance, so a fixed channel response
or gain is removed as for the filter but slow changes within the utterance stay visible.

Training (``voxwatch.training.verifier``) and ``voxwatch.pipeline.stages.verifier.session`` both call
:func:`verifier_features`; the model card records :class:`VerifierFeatureSettings` and the runtime refuses a
model whose settings it cannot reproduce.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voxwatch.errors import ConfigError
from voxwatch.pipeline.stages.filter.features import (
    FeatureSettings,
    as_float_audio,
    check_fields,
    features,
    settings_digest,
)
from voxwatch.pipeline.windower import tile_to_length


def _default_spectrum() -> FeatureSettings:
    return FeatureSettings(kind="linfbank", nfilt=128, nfft=512, normalize="cmn")


@dataclass(frozen=True)
class VerifierFeatureSettings:
    """What turns an utterance's audio into the verifier's input matrix (frames x bands)."""

    spectrum: FeatureSettings = field(default_factory=_default_spectrum)
    max_s: float = 8.0  # the last max_s seconds of an utterance are seen
    min_s: float = 2.0  # shorter utterances are tiled to this length

    def __post_init__(self) -> None:
        if not 0 < self.min_s <= self.max_s:
            raise ConfigError("verifier features: need 0 < min_s <= max_s")

    @property
    def max_samples(self) -> int:
        return int(round(self.max_s * self.spectrum.sample_rate))

    @property
    def min_samples(self) -> int:
        return int(round(self.min_s * self.spectrum.sample_rate))

    @property
    def n_features(self) -> int:
        return self.spectrum.n_features

    def to_dict(self) -> dict[str, Any]:
        return {"spectrum": self.spectrum.to_dict(), "max_s": self.max_s, "min_s": self.min_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VerifierFeatureSettings:
        check_fields(cls, data, "verifier feature settings")
        spectrum = FeatureSettings.from_dict(dict(data.get("spectrum", {})))
        return cls(spectrum=spectrum, max_s=float(data.get("max_s", 8.0)), min_s=float(data.get("min_s", 2.0)))

    def digest(self) -> str:
        """A stable hash of the settings, recorded in the verifier's card."""
        return settings_digest(self.to_dict())


def verifier_audio(audio: np.ndarray, settings: VerifierFeatureSettings) -> np.ndarray:
    """The part of an utterance the verifier sees: its last ``max_s`` seconds, tiled up to ``min_s``."""
    x = np.asarray(audio)
    if x.dtype != np.float32 or x.ndim != 1:  # float32 (the pipeline's audio) is used as it is: no float64 round trip
        x = as_float_audio(x).astype(np.float32, copy=False)
    if len(x) == 0:
        raise ValueError("no audio to verify")
    x = x[-settings.max_samples :]
    return tile_to_length(x, settings.min_samples) if len(x) < settings.min_samples else x


def verifier_features(audio: np.ndarray, settings: VerifierFeatureSettings) -> np.ndarray:
    """(frames, bands) float32: the verifier's input for one utterance (any length; see ``verifier_audio``)."""
    return features(verifier_audio(audio, settings), settings.spectrum).astype(np.float32, copy=False)
