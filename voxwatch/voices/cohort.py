"""Score normalisation against a cohort of other people's voices: adaptive S-norm.

A raw cosine between an utterance and a voice means different things for different voices and utterances: some
voices sit close to many people, and a generic-sounding utterance (a clone, for one) sits close to many voices.
Adaptive symmetric normalisation (S-norm; Matejka et al. 2017, "Analysis of score normalization in multilingual
speaker recognition") measures both sides against a cohort of other speakers' embeddings:

    snorm(e, t) = ((s - mean_e) / std_e + (s - mean_t) / std_t) / 2,    s = cos(e, t)

where ``mean_e``/``std_e`` are the mean and standard deviation of the ``top_k`` highest cosines between the
enrolled voice ``e`` and the cohort, and ``mean_t``/``std_t`` those of the test utterance ``t`` (adaptive: only the
closest cohort voices count, the ones an impostor would resemble).

The shipped cohort (``voxwatch/models/voice-cohort.npy``, its card ``voice-cohort.json``) holds embeddings only,
one per speaker of the training-licensed real speech of the shared corpus and extra sets (``train`` split), made
with the bundled speaker encoder; ``python -m lab.voice_eval cohort`` rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from voxwatch.errors import ModelError

BUNDLED_COHORT = "voice-cohort.npy"
STD_FLOOR = 1e-3  # a cohort whose top cosines are all equal must not divide by zero


def bundled_cohort_path() -> Path:
    from voxwatch import models

    return Path(models.__file__).resolve().parent / BUNDLED_COHORT


@dataclass(frozen=True)
class Cohort:
    """Other speakers' embeddings (rows L2-normalised) and how many of the closest count (``top_k``)."""

    embeddings: np.ndarray  # (n, dim) float32
    top_k: int
    encoder_sha256: str = ""
    feature_hash: str = ""
    sha256: str = ""  # of the .npy it came from

    def __post_init__(self) -> None:
        if self.embeddings.ndim != 2 or len(self.embeddings) < 2:
            raise ModelError("a voice cohort needs at least two embeddings")
        if self.top_k < 2:
            raise ModelError("a voice cohort's top_k must be at least 2")

    @property
    def k(self) -> int:
        return min(self.top_k, len(self.embeddings))

    def stats(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(means, stds) of each vector's ``top_k`` highest cosines to the cohort; ``vectors`` (m, dim) or
        (dim,) (then two scalars' arrays of shape ())."""
        v = np.asarray(vectors, np.float32)
        scores = np.atleast_2d(v) @ self.embeddings.T
        top = -np.partition(-scores, self.k - 1, axis=1)[:, : self.k]
        mean, std = top.mean(axis=1), np.maximum(top.std(axis=1), STD_FLOOR)
        return (mean[0], std[0]) if v.ndim == 1 else (mean, std)

    def with_top_k(self, top_k: int) -> Cohort:
        return Cohort(self.embeddings, top_k, self.encoder_sha256, self.feature_hash, self.sha256)


def snorm(score: float | np.ndarray, enrol: tuple[Any, Any], test: tuple[Any, Any]) -> Any:
    """Adaptive S-norm of raw cosine(s) ``score`` from the enrolment side's and the test side's (mean, std)."""
    return 0.5 * ((score - enrol[0]) / enrol[1] + (score - test[0]) / test[1])


def card_path(path: Path | str) -> Path:
    return Path(path).with_suffix(".json")


def load_cohort(path: Path | str | None = None, top_k: int | None = None) -> Cohort:
    """The cohort in ``path`` (a ``.npy`` of embeddings, its card ``.json`` beside it; default: the bundled one);
    ``top_k`` overrides the card's."""
    path = Path(path) if path is not None else bundled_cohort_path()
    try:
        raw = path.read_bytes()
        embeddings = np.asarray(np.load(path, allow_pickle=False), np.float32)
        card = json.loads(card_path(path).read_text())
    except FileNotFoundError as exc:
        raise ModelError(f"{exc.filename or path}: voice cohort not found (the .npy needs its .json card beside "
                         "it)") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read voice cohort ({exc})") from None
    if card.get("kind") != "voice-cohort":
        raise ModelError(f"{card_path(path)}: not a voice cohort card (kind {card.get('kind')!r})")
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True) if embeddings.ndim == 2 else None
    if norms is None:
        raise ModelError(f"{path}: a voice cohort is a 2-d array of embeddings")
    embeddings = (embeddings / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    encoder = card.get("encoder", {})
    return Cohort(embeddings, int(top_k if top_k is not None else card.get("top_k", 100)),
                  str(encoder.get("sha256", "")), str(encoder.get("feature_hash", "")),
                  hashlib.sha256(raw).hexdigest())


@lru_cache(maxsize=4)
def bundled_cohort(top_k: int | None = None) -> Cohort:
    """The bundled cohort (read once), with ``top_k`` (default: its card's)."""
    if top_k is None or top_k == 0:
        return _bundled()
    return _bundled().with_top_k(top_k)


@lru_cache(maxsize=1)
def _bundled() -> Cohort:
    return load_cohort()


def save_cohort(path: Path | str, embeddings: np.ndarray, card: dict[str, Any]) -> None:
    """The embeddings as float16 (a cosine needs no more) in ``path`` (``.npy``) and ``card`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(embeddings, np.float16), allow_pickle=False)
    card_path(path).write_text(json.dumps({"kind": "voice-cohort", **card}, indent=2) + "\n")
