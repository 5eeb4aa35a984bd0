"""The JSON card beside the speaker encoder's ``.onnx``: its features, provenance, licence and measured cost.

ONNX contract: one float32 input of shape (batch, partial_frames, n_mels) holding ``partials()`` of an utterance
(the batch is the utterance's partials), one float32 output of shape (batch, embedding_size): each partial's
embedding, non-negative and L2-normalised. The utterance embedding is the L2-normalised mean of its partials'
(``voxwatch.pipeline.stages.voice.session``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxwatch.errors import ConfigError, ModelError
from voxwatch.pipeline.stages.voice.features import VoiceFeatureSettings

VOICE_CARD_VERSION = 1


@dataclass(frozen=True)
class VoiceEncoderCard:
    model_id: str
    features: VoiceFeatureSettings = field(default_factory=VoiceFeatureSettings)
    embedding_size: int = 256
    onnx_sha256: str = ""
    license: str = ""
    license_file: str = ""
    attribution: str = ""
    source: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "card_version": VOICE_CARD_VERSION,
            "kind": "voice-encoder",
            "model_id": self.model_id,
            "features": self.features.to_dict(),
            "feature_hash": self.features.digest(),
            "embedding_size": self.embedding_size,
            "onnx_sha256": self.onnx_sha256,
            "license": self.license,
            "license_file": self.license_file,
            "attribution": self.attribution,
            "source": self.source,
            "metrics": self.metrics,
        }

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> VoiceEncoderCard:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelError(f"{path}: voice encoder card not found (the .onnx needs its .json card beside it)") \
                from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: cannot read voice encoder card: {exc}") from None
        if data.get("kind") != "voice-encoder":
            raise ModelError(f"{path}: not a voice encoder card (kind {data.get('kind')!r})")
        try:
            card = cls(model_id=str(data["model_id"]), features=VoiceFeatureSettings.from_dict(data["features"]),
                       embedding_size=int(data.get("embedding_size", 256)),
                       onnx_sha256=str(data.get("onnx_sha256", "")), license=str(data.get("license", "")),
                       license_file=str(data.get("license_file", "")), attribution=str(data.get("attribution", "")),
                       source=dict(data.get("source", {})), metrics=dict(data.get("metrics", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: invalid voice encoder card ({exc.__class__.__name__}: {exc})") from None
        except ConfigError as exc:
            raise ModelError(f"{path}: {exc}") from None
        recorded = data.get("feature_hash")
        if recorded and recorded != card.features.digest():
            raise ModelError(f"{path}: feature_hash {recorded} does not match its own feature settings")
        return card
