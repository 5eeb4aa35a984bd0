"""Model files and their cards. ``default.onnx`` + ``default.json`` ship here as package data."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = MODELS_DIR / "default.onnx"


def default_model_path() -> Path | None:
    """The bundled model, or None when this install has none (then ``--model`` is required)."""
    if DEFAULT_MODEL.is_file() and DEFAULT_MODEL.with_suffix(".json").is_file():
        return DEFAULT_MODEL
    return None
