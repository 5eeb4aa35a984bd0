"""Which model file to load, and its classifier checked against a config: for the commands and ``Detector``."""

from __future__ import annotations

from pathlib import Path

from voxwatch.config import Config
from voxwatch.errors import ModelError
from voxwatch.models import default_model_path
from voxwatch.pipeline.classifier import OnnxClassifier


def resolve_model(cli_model: str | None, config: Config) -> Path:
    """--model beats the config's [model] path, which beats the bundled default."""
    chosen = cli_model or config.model
    if chosen:
        return Path(chosen)
    bundled = default_model_path()
    if bundled is None:
        raise ModelError("no model is bundled with this install; pass --model PATH (a .onnx with its .json card)")
    return bundled


def load_classifier(cli_model: str | None, config: Config) -> OnnxClassifier:
    settings = config.pipeline
    return OnnxClassifier(
        resolve_model(cli_model, config), settings.features, settings.window.window_s, settings.inference_threads
    )
