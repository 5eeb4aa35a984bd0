"""The one loader of model cards, for both stages: the JSON beside every ``.onnx`` file.

The filter's ``ModelCard`` and the verifier's ``VerifierCard`` keep their own fields (``stages.filter.card``,
``stages.verifier.card``); reading a card, building it, checking its recorded ``feature_hash`` and checking the
model file's sha256 against it happen here, so both stages fail the same way: one ``ModelError`` line that names
the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from voxwatch.errors import ConfigError, ModelError


class _Features(Protocol):
    def digest(self) -> str: ...


class Card(Protocol):
    """What the loader needs of a card: its feature settings (their digest) and the sha256 of its model file."""

    @property
    def features(self) -> _Features: ...

    @property
    def onnx_sha256(self) -> str: ...


C = TypeVar("C", bound=Card)


def card_path(model_path: Path | str) -> Path:
    """The card of a model file: the same name with ``.json``."""
    return Path(model_path).with_suffix(".json")


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_card(path: Path | str, data: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(data, indent=2) + "\n")


def read_card(path: Path | str, what: str = "model card") -> dict[str, Any]:
    """The card's JSON; a missing or unreadable file is one ModelError line."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{path}: {what} not found (every .onnx needs its .json card beside it)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: cannot read {what}: {exc}") from None


def card_from_dict(data: dict[str, Any], build: Callable[[dict[str, Any]], C], source: str,
                   what: str = "model card") -> C:
    """``build(data)`` with its errors as one ModelError line, and the recorded ``feature_hash`` (when there is
    one) checked against the digest of the settings the card holds."""
    try:
        card = build(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{source}: invalid {what} ({exc.__class__.__name__}: {exc})") from None
    except ConfigError as exc:  # settings no voxwatch can run (another sample rate, an unknown kind)
        raise ModelError(f"{source}: {exc}") from None
    recorded, own = data.get("feature_hash"), card.features.digest()
    if recorded and recorded != own:
        raise ModelError(f"{source}: feature_hash {recorded} does not match its own feature settings ({own})")
    return card


def load_card(path: Path | str, build: Callable[[dict[str, Any]], C], what: str = "model card") -> C:
    """The card at ``path``, read and built by ``build`` (see :func:`card_from_dict`)."""
    return card_from_dict(read_card(path, what), build, str(path), what)


def open_model(model_path: Path | str, load: Callable[[Path], C], what: str = "model") -> tuple[Path, C, str]:
    """(path, card, sha256) of a model file and the card beside it (``load(card_path)``); the file must exist and,
    where the card records a sha256, be the file the card was written for."""
    path = Path(model_path)
    if not path.is_file():
        raise ModelError(f"{path}: {what} file not found")
    card = load(card_path(path))
    sha = file_sha256(path)
    if card.onnx_sha256 and card.onnx_sha256 != sha:
        raise ModelError(f"{path}: sha256 {sha[:12]}… differs from its card's {card.onnx_sha256[:12]}… "
                         "(the card belongs to another model file)")
    return path, card, sha
