"""The JSON card beside the verifier's ``.onnx``: the features it needs, its gate and threshold, its training.

ONNX contract: one float32 input of shape (batch, 1, frames, bands) holding ``verifier_features()`` of one
utterance (any number of frames), one output of shape (batch,) holding the probability that it is
machine-generated. ``gate`` is a threshold on the *filter's* utterance score (chosen on dev against the filter
named in ``filter``): utterances scoring below it never reach the verifier. ``fusion`` (optional) holds the
weights of the logistic fusion of the filter's and the network's scores that decides (voxwatch.pipeline.cascade);
``threshold`` applies to that deciding score; ``telephone_threshold`` (optional) replaces it for audio in the
telephone band (voxwatch.pipeline.channel), chosen on dev telephone copies; ``short_threshold`` (optional) is the
least deciding score a segment check of a short run needs (voxwatch.pipeline.cascade), chosen on dev.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxwatch.pipeline.stages.cards import load_card, save_card
from voxwatch.pipeline.stages.verifier.features import VerifierFeatureSettings

VERIFIER_CARD_VERSION = 1


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


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
    telephone_threshold: float | None = None  # the threshold for audio in the telephone band (None: ``threshold``)
    short_threshold: float | None = None  # the least deciding score of a short run's segment check (None: none)

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
            "telephone_threshold": self.telephone_threshold,
            "short_threshold": self.short_threshold,
            "gate": self.gate,
            "onnx_sha256": self.onnx_sha256,
            "filter": self.filter,
            "fusion": self.fusion,
            "training": self.training,
            "metrics": self.metrics,
        }

    def save(self, path: Path) -> None:
        save_card(path, self.to_dict())

    @classmethod
    def _build(cls, data: dict[str, Any]) -> VerifierCard:
        card = cls(model_id=str(data["model_id"]), features=VerifierFeatureSettings.from_dict(data["features"]),
                   threshold=float(data.get("threshold", 0.5)), gate=float(data.get("gate", 0.5)),
                   onnx_sha256=str(data.get("onnx_sha256", "")), filter=dict(data.get("filter", {})),
                   fusion={k: float(v) for k, v in dict(data.get("fusion") or {}).items()},
                   training=dict(data.get("training", {})), metrics=dict(data.get("metrics", {})),
                   telephone_threshold=_optional(data.get("telephone_threshold")),
                   short_threshold=_optional(data.get("short_threshold")))
        if card.fusion and set(card.fusion) != {"filter", "verifier", "bias"}:
            raise ValueError("fusion needs exactly the weights filter, verifier and bias")
        return card

    @classmethod
    def load(cls, path: Path) -> VerifierCard:
        return load_card(path, cls._build, "verifier card")
