"""Which model files to load (the filter, and the cascade's verifier), the config fitted to the filter, and its
classifier: for the commands and ``Detector``.

A model is trained on one feature set and window length, written in its card. A config that does not set them
(no ``[features]`` table, no ``[window] window_s``) takes them from the card, so ``--model other.onnx`` works on
its own; a config that sets them must match the card, or the classifier refuses the model (``ModelError``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from voxwatch.config import Config
from voxwatch.errors import ModelError
from voxwatch.models import default_model_path, default_verifier_path
from voxwatch.pipeline.stages.cards import card_path
from voxwatch.pipeline.stages.filter.card import ModelCard
from voxwatch.pipeline.stages.filter.features import FeatureSettings
from voxwatch.pipeline.stages.filter.session import OnnxClassifier
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
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


def load_verifier(config: Config, cli_verifier: str | None = None,
                  filter_sha256: str | None = None) -> OnnxVerifier | None:
    """The cascade's verifier: ``--verifier`` beats ``[verifier] model``, which beats the bundled one. None when
    ``[verifier] enabled = false`` (and no ``--verifier``), or when no model is given and none is bundled: then
    the filter decides alone, exactly as without a cascade. ``cli_verifier == "none"`` turns it off.

    The bundled verifier's gate was chosen for the bundled filter: with another filter (``filter_sha256`` not the
    one its card names) it is not used unless given explicitly, since its gate would mean nothing there."""
    settings = config.pipeline.verifier
    if cli_verifier == "none":
        return None
    if cli_verifier:
        return OnnxVerifier(cli_verifier, settings.threads)
    if not settings.enabled and not any(s.enabled for _, s in config.pipeline.stream_verifiers):
        return None
    if settings.model:
        return OnnxVerifier(settings.model, settings.threads)
    path = default_verifier_path()
    if path is None:
        return None
    verifier = OnnxVerifier(path, settings.threads)
    made_for = verifier.card.filter.get("sha256")
    if filter_sha256 is not None and made_for and made_for != filter_sha256:
        return None
    return verifier
