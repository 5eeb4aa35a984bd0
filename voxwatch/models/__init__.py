"""Model files and their cards. ``default.onnx`` + ``default.json`` (the filter) and ``verifier.onnx`` +
``verifier.json`` (the cascade's verifier) ship here as package data."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = MODELS_DIR / "default.onnx"
DEFAULT_VERIFIER = MODELS_DIR / "verifier.onnx"


def default_model_path() -> Path | None:
    """The bundled model, or None when this install has none (then ``--model`` is required)."""
    if DEFAULT_MODEL.is_file() and DEFAULT_MODEL.with_suffix(".json").is_file():
        return DEFAULT_MODEL
    return None


def default_verifier_path() -> Path | None:
    """The bundled verifier, or None when this install has none (then the filter decides alone)."""
    if DEFAULT_VERIFIER.is_file() and DEFAULT_VERIFIER.with_suffix(".json").is_file():
        return DEFAULT_VERIFIER
    return None
