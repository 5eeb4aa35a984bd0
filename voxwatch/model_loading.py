"""Which model files to load (the filter, and the cascade's verifier), checked against a config: for the commands
and ``Detector``."""

from __future__ import annotations

from pathlib import Path

from voxwatch.config import Config
from voxwatch.errors import ModelError
from voxwatch.models import default_model_path, default_verifier_path
from voxwatch.pipeline.classifier import OnnxClassifier
from voxwatch.pipeline.verifier import OnnxVerifier


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
