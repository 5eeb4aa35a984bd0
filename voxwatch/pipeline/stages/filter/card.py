"""The JSON model card that travels beside every ``.onnx`` file.

ONNX contract: one float32 input of shape (batch, 1, n_frames, n_features) holding ``features()`` output, one
output of shape (batch,) holding the probability that the window is machine-generated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxwatch.pipeline.stages.cards import card_from_dict, load_card, save_card
from voxwatch.pipeline.stages.filter.features import FeatureSettings

__all__ = ["CARD_VERSION", "ModelCard"]

CARD_VERSION = 1


@dataclass(frozen=True)
class ModelCard:
    model_id: str
    features: FeatureSettings
    window_s: float
    n_frames: int
    threshold: float = 0.5
    labels: tuple[str, ...] = ("real", "fake")
    onnx_sha256: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_hash(self) -> str:
        return self.features.digest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "card_version": CARD_VERSION,
            "model_id": self.model_id,
            "features": self.features.to_dict(),
            "feature_hash": self.feature_hash,
            "window_s": self.window_s,
            "n_frames": self.n_frames,
            "n_features": self.features.n_features,
            "threshold": self.threshold,
            "labels": list(self.labels),
            "onnx_sha256": self.onnx_sha256,
            "training": self.training,
            "metrics": self.metrics,
        }

    def save(self, path: Path) -> None:
        save_card(path, self.to_dict())

    @classmethod
    def _build(cls, data: dict[str, Any]) -> ModelCard:
        return cls(
            model_id=str(data["model_id"]),
            features=FeatureSettings.from_dict(data["features"]),
            window_s=float(data["window_s"]),
            n_frames=int(data["n_frames"]),
            threshold=float(data.get("threshold", 0.5)),
            labels=tuple(data.get("labels", ("real", "fake"))),
            onnx_sha256=str(data.get("onnx_sha256", "")),
            training=dict(data.get("training", {})),
            metrics=dict(data.get("metrics", {})),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "model card") -> ModelCard:
        return card_from_dict(data, cls._build, source)

    @classmethod
    def load(cls, path: Path) -> ModelCard:
        return load_card(path, cls._build)
