"""The verifier stage's ONNX session: ``OnnxVerifier`` scores one utterance's audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxwatch.errors import ModelError
from voxwatch.pipeline.channel import in_telephone_band
from voxwatch.pipeline.stages.cards import open_model
from voxwatch.pipeline.stages.filter.session import cpu_session
from voxwatch.pipeline.stages.verifier.card import VerifierCard
from voxwatch.pipeline.stages.verifier.features import verifier_features


class OnnxVerifier:
    """``verifier.onnx`` + ``verifier.json``; ``score(audio)`` is the probability that an utterance is fake."""

    def __init__(self, model_path: Path | str, threads: int = 1) -> None:
        self.path, self.card, self.sha256 = open_model(model_path, VerifierCard.load, "verifier model")
        self._session = cpu_session(self.path, threads)
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ModelError(f"{self.path}: expected one input of shape (batch, 1, frames, bands)")
        bands = inputs[0].shape[3]
        if isinstance(bands, int) and bands != self.card.features.n_features:
            raise ModelError(f"{self.path}: input has {bands} bands, its card's features give "
                             f"{self.card.features.n_features}")
        self._input = inputs[0].name

    @property
    def model_id(self) -> str:
        return self.card.model_id

    def score_features(self, feats: np.ndarray) -> float:
        x = np.asarray(feats, np.float32)[None, None]
        return float(np.asarray(self._session.run(None, {self._input: x})[0]).reshape(-1)[0])

    def score(self, audio: np.ndarray) -> float:
        """The utterance's score (its last ``max_s`` seconds; shorter audio tiled)."""
        return self.score_features(verifier_features(audio, self.card.features))

    def judge(self, audio: np.ndarray) -> tuple[float, bool]:
        """``score(audio)``, and whether what it heard (the last ``max_s`` seconds) was in the telephone band,
        where the cascade applies its telephone threshold (voxwatch.pipeline.channel)."""
        return self.score(audio), in_telephone_band(audio[-self.card.features.max_samples:])
