"""The speaker encoder's ONNX session: ``OnnxVoiceEncoder.embed(audio)`` is an utterance's voice embedding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxwatch.errors import ModelError
from voxwatch.pipeline.stages.cards import open_model
from voxwatch.pipeline.stages.filter.session import cpu_session
from voxwatch.pipeline.stages.voice.card import VoiceEncoderCard
from voxwatch.pipeline.stages.voice.features import partials, preprocess

BUNDLED_VOICE_ENCODER = "voice-encoder.onnx"


def bundled_voice_encoder_path() -> Path:
    """The encoder shipped in ``voxwatch/models`` (Resemblyzer's GE2E weights, Apache-2.0)."""
    from voxwatch import models

    return Path(models.__file__).resolve().parent / BUNDLED_VOICE_ENCODER


@dataclass(frozen=True)
class VoiceEmbedding:
    """One utterance's embedding (L2-normalised, float32) and how much speech it came from."""

    vector: np.ndarray
    speech_s: float  # seconds left after the silences were trimmed
    n_partials: int


class OnnxVoiceEncoder:
    """``voice-encoder.onnx`` + ``voice-encoder.json``; ``embed(audio)`` for 16 kHz float audio."""

    def __init__(self, model_path: Path | str | None = None, threads: int = 1) -> None:
        self.path, self.card, self.sha256 = open_model(
            model_path if model_path is not None else bundled_voice_encoder_path(), VoiceEncoderCard.load,
            "voice encoder model")
        self._session = cpu_session(self.path, threads)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 3 or len(outputs) != 1:
            raise ModelError(f"{self.path}: expected one input of shape (batch, frames, mels) and one output")
        frames, mels = inputs[0].shape[1:]
        features = self.card.features
        if (frames, mels) != (features.partial_frames, features.n_mels):
            raise ModelError(f"{self.path}: input is (batch, {frames}, {mels}), its card's features give "
                             f"(batch, {features.partial_frames}, {features.n_mels})")
        self._input = inputs[0].name

    @property
    def model_id(self) -> str:
        return self.card.model_id

    def embed_partials(self, batch: np.ndarray) -> np.ndarray:
        """(n, partial_frames, n_mels) -> (n, embedding_size): each partial's L2-normalised embedding."""
        x = np.ascontiguousarray(batch, dtype=np.float32)
        return np.asarray(self._session.run(None, {self._input: x})[0], dtype=np.float32)

    def embed_speech(self, speech: np.ndarray) -> VoiceEmbedding:
        """The embedding of already preprocessed speech (``features.preprocess``)."""
        speech = np.asarray(speech, np.float32)
        if len(speech) == 0:
            raise ValueError("no speech to embed")
        parts = self.embed_partials(partials(speech, self.card.features))
        mean = parts.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        vector = mean / norm if norm > 0 else mean
        return VoiceEmbedding(vector.astype(np.float32), len(speech) / self.card.features.sample_rate, len(parts))

    def embed(self, audio: np.ndarray) -> VoiceEmbedding:
        """The embedding of 16 kHz float audio: volume normalised, long silences trimmed, partials averaged."""
        return self.embed_speech(self.speech(audio))

    def speech(self, audio: np.ndarray) -> np.ndarray:
        """The speech the encoder hears in ``audio`` (``features.preprocess`` with this encoder's settings)."""
        return preprocess(np.asarray(audio, np.float32), self.card.features)
