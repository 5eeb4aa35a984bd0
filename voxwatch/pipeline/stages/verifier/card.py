"""The JSON card beside the verifier's ``.onnx``: the features it needs, its gate and threshold, its training.

ONNX contract: one float32 input of shape (batch, 1, frames, bands) holding ``verifier_features()`` of one
utterance (any number of frames), one output of shape (batch,) holding the probability that it is
machine-generated. ``gate`` is a threshold on the *filter's* utterance score (chosen on dev against the filter
named in ``filter``): utterances scoring below it never reach the verifier. ``fusion`` (optional) holds the
weights of the logistic fusion of the filter's and the network's scores that decides (voxwatch.pipeline.cascade);
``threshold`` applies to that deciding score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxwatch.errors import ModelError
from voxwatch.pipeline.stages.verifier.features import VerifierFeatureSettings

VERIFIER_CARD_VERSION = 1


@dataclass(frozen=True)
class VerifierCard:
    model_id: str
    features: VerifierFeatureSettings
    threshold: float = 0.5
    gate: float = 0.5
    onnx_sha256: str = ""
    filter: dict[str, Any] = field(default_factory=dict)
    fusion: dict[str, float] = field(default_factory=dict)  # {"filter": a, "verifier": b, "bias": c} or empty
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def fusion_weights(self) -> tuple[float, float, float] | None:
        if not self.fusion:
            return None
        return (float(self.fusion["filter"]), float(self.fusion["verifier"]), float(self.fusion["bias"]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "card_version": VERIFIER_CARD_VERSION,
            "kind": "verifier",
            "model_id": self.model_id,
            "features": self.features.to_dict(),
            "feature_hash": self.features.digest(),
            "threshold": self.threshold,
            "gate": self.gate,
            "onnx_sha256": self.onnx_sha256,
            "filter": self.filter,
            "fusion": self.fusion,
            "training": self.training,
            "metrics": self.metrics,
        }

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> VerifierCard:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelError(f"{path}: verifier card not found (the .onnx needs its .json card beside it)") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: cannot read verifier card: {exc}") from None
        try:
            card = cls(model_id=str(data["model_id"]), features=VerifierFeatureSettings.from_dict(data["features"]),
                       threshold=float(data.get("threshold", 0.5)), gate=float(data.get("gate", 0.5)),
                       onnx_sha256=str(data.get("onnx_sha256", "")), filter=dict(data.get("filter", {})),
                       fusion={k: float(v) for k, v in dict(data.get("fusion") or {}).items()},
                       training=dict(data.get("training", {})), metrics=dict(data.get("metrics", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: invalid verifier card ({exc.__class__.__name__}: {exc})") from None
        if card.fusion and set(card.fusion) != {"filter", "verifier", "bias"}:
            raise ModelError(f"{path}: fusion needs exactly the weights filter, verifier and bias")
        recorded = data.get("feature_hash")
        if recorded and recorded != card.features.digest():
            raise ModelError(f"{path}: feature_hash {recorded} does not match its own feature settings")
        return card
