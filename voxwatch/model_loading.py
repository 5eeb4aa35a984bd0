"""Which model file to load, the config fitted to it, and its classifier: for the commands and ``Detector``.

A model is trained on one feature set and window length, written in its card. A config that does not set them
(no ``[features]`` table, no ``[window] window_s``) takes them from the card, so ``--model other.onnx`` works on
its own; a config that sets them must match the card, or the classifier refuses the model (``ModelError``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from voxwatch.config import Config
from voxwatch.errors import ModelError
from voxwatch.models import default_model_path
from voxwatch.pipeline.classifier import OnnxClassifier
from voxwatch.pipeline.features import FeatureSettings
from voxwatch.pipeline.modelcard import ModelCard, card_path
from voxwatch.pipeline.windower import WindowSettings


def resolve_model(cli_model: str | None, config: Config) -> Path:
    """--model beats the config's [model] path, which beats the bundled default."""
    chosen = cli_model or config.model
    if chosen:
        return Path(chosen)
    bundled = default_model_path()
    if bundled is None:
        raise ModelError("no model is bundled with this install; pass --model PATH (a .onnx with its .json card)")
    return bundled


def fit_to_card(config: Config, card: ModelCard) -> Config:
    """``config`` with the card's feature settings and window length where the config leaves them at their
    defaults without naming them (what a file names, or code sets to other values, is kept and checked)."""
    pipeline = config.pipeline
    features, window = pipeline.features, pipeline.window
    if "features" not in config.explicit and features == FeatureSettings():
        features = card.features
    if "window.window_s" not in config.explicit and window.window_s == WindowSettings().window_s:
        window = dataclasses.replace(window, window_s=card.window_s)
    if (features, window) == (pipeline.features, pipeline.window):
        return config
    return dataclasses.replace(config, pipeline=dataclasses.replace(pipeline, features=features, window=window))


def load_model(cli_model: str | None, config: Config) -> tuple[OnnxClassifier, Config]:
    """The classifier and the config fitted to its card (``fit_to_card``); run the pipeline with that config."""
    path = resolve_model(cli_model, config)
    if path.is_file():  # a missing file: the classifier says so
        config = fit_to_card(config, ModelCard.load(card_path(path)))
    return load_classifier(str(path), config), config


def load_classifier(cli_model: str | None, config: Config) -> OnnxClassifier:
    """The classifier checked against ``config`` as it is (its features must be the card's): for a caller that
    builds the pipeline from that same config. ``load_model`` fits the config to the card first."""
    settings = config.pipeline
    return OnnxClassifier(resolve_model(cli_model, config), settings.features, settings.window.window_s,
                          settings.inference_threads)
