"""The JSON model card that travels beside every ``.onnx`` file.

ONNX contract: one float32 input of shape (batch, 1, n_frames, n_features) holding ``features()`` output, one
output of shape (batch,) holding the probability that the window is machine-generated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxwatch.errors import ConfigError, ModelError
from voxwatch.pipeline.stages.filter.features import FeatureSettings

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
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "model card") -> ModelCard:
        try:
            settings = FeatureSettings.from_dict(data["features"])
            card = cls(
                model_id=str(data["model_id"]),
                features=settings,
                window_s=float(data["window_s"]),
                n_frames=int(data["n_frames"]),
                threshold=float(data.get("threshold", 0.5)),
                labels=tuple(data.get("labels", ("real", "fake"))),
                onnx_sha256=str(data.get("onnx_sha256", "")),
                training=dict(data.get("training", {})),
                metrics=dict(data.get("metrics", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: invalid model card ({exc.__class__.__name__}: {exc})") from None
        except ConfigError as exc:  # settings no voxwatch can run (another sample rate, an unknown kind)
            raise ModelError(f"{source}: {exc}") from None
        recorded = data.get("feature_hash")
        if recorded and recorded != card.feature_hash:
            raise ModelError(
                f"{source}: feature_hash {recorded} does not match its own feature settings ({card.feature_hash})"
            )
        return card

    @classmethod
    def load(cls, path: Path) -> ModelCard:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelError(f"{path}: model card not found (every .onnx needs its .json card beside it)") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: cannot read model card: {exc}") from None
        return cls.from_dict(data, str(path))


def card_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
