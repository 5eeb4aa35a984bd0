"""The caches of clone watch's evaluation: speaker embeddings and verifier scores, keyed by the audio heard.

A set is evaluated again and again (k, scorings, fusion on and off, telephone copies): each clip's embedding and
verifier score are computed once, kept in memory and, with a cache directory, in one ``.npz`` per model (its
sha256 in the name), so another model never reads them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder, VoiceEmbedding


class VoiceCacheError(VoxwatchError):
    """A cache file that cannot be read (one line: delete it)."""


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Written beside ``path`` and renamed into place: a run reading the cache meanwhile never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def audio_sha(array: np.ndarray) -> str:
    """The sha256 of audio samples as float32: the key of everything computed from them."""
    return hashlib.sha256(np.ascontiguousarray(array, np.float32).tobytes()).hexdigest()


class EmbeddingCache:
    """Embeddings by the sha256 of the speech the encoder heard; on disk in ``directory`` when given (one
    ``.npz`` per encoder: its sha256 and feature hash in the name)."""

    def __init__(self, encoder: OnnxVoiceEncoder, directory: Path | str | None = None) -> None:
        self.path = (Path(directory).expanduser() / f"voice-embeddings-{encoder.sha256[:16]}-"
                     f"{encoder.card.features.digest()}.npz") if directory else None
        self.entries: dict[str, tuple[np.ndarray, float, int]] = {}
        self.added = 0
        if self.path is not None and self.path.is_file():
            try:
                with np.load(self.path) as data:
                    keys, vectors, meta = data["keys"], data["vectors"], data["meta"]
                self.entries = {str(k): (v.astype(np.float32), float(m[0]), int(m[1]))
                                for k, v, m in zip(keys, vectors, meta, strict=True)}
            except (OSError, KeyError, ValueError) as exc:
                raise VoiceCacheError(f"{self.path}: unreadable embedding cache ({exc}); delete it") from None

    def get(self, key: str) -> VoiceEmbedding | None:
        hit = self.entries.get(key)
        return None if hit is None else VoiceEmbedding(hit[0], hit[1], hit[2])

    def put(self, key: str, embedding: VoiceEmbedding) -> None:
        self.entries[key] = (np.asarray(embedding.vector, np.float32), embedding.speech_s, embedding.n_partials)
        self.added += 1

    def save(self) -> None:
        if self.path is None or not self.added:
            return
        keys = sorted(self.entries)
        _save_npz(self.path, keys=np.array(keys),
                  vectors=np.stack([self.entries[k][0] for k in keys]).astype(np.float32),
                  meta=np.array([[self.entries[k][1], self.entries[k][2]] for k in keys], np.float64))
        self.added = 0


class CachingEncoder(OnnxVoiceEncoder):
    """The bundled speaker encoder with its embeddings (and, in memory, its silence trimming) cached: the
    product's enrolment runs on it unchanged."""

    def __init__(self, model_path: Path | str | None = None, cache_dir: Path | str | None = None) -> None:
        super().__init__(model_path, threads=1)
        self.cache = EmbeddingCache(self, cache_dir)
        self._speech: dict[str, np.ndarray] = {}

    def speech(self, audio: np.ndarray) -> np.ndarray:
        key = audio_sha(audio)
        if key not in self._speech:
            self._speech[key] = super().speech(audio)
        return self._speech[key]

    def embed_speech(self, speech: np.ndarray) -> VoiceEmbedding:
        key = audio_sha(speech)
        hit = self.cache.get(key)
        if hit is None:
            hit = super().embed_speech(speech)
            self.cache.put(key, hit)
        return hit


class VerifierScores:
    """The verifier's raw score of a clip's audio (its last ``max_s`` seconds), by the sha256 of that audio; on
    disk in ``directory`` when given (one ``.npz`` per verifier: its sha256 in the name)."""

    def __init__(self, verifier: OnnxVerifier, directory: Path | str | None = None) -> None:
        self.verifier = verifier
        self.keep = verifier.card.features.max_samples
        self.path = (Path(directory).expanduser() / f"verifier-scores-{verifier.sha256[:16]}.npz"
                     if directory else None)
        self.entries: dict[str, float] = {}
        self.added = 0
        if self.path is not None and self.path.is_file():
            try:
                with np.load(self.path) as data:
                    self.entries = {str(k): float(v) for k, v in zip(data["keys"], data["scores"], strict=True)}
            except (OSError, KeyError, ValueError) as exc:
                raise VoiceCacheError(f"{self.path}: unreadable verifier score cache ({exc}); delete it") from None

    def score(self, audio: np.ndarray) -> float:
        heard = np.ascontiguousarray(audio[-self.keep:], np.float32)
        key = audio_sha(heard)
        if key not in self.entries:
            self.entries[key] = float(self.verifier.judge(heard)[0])
            self.added += 1
        return self.entries[key]

    def save(self) -> None:
        if self.path is None or not self.added:
            return
        keys = sorted(self.entries)
        _save_npz(self.path, keys=np.array(keys), scores=np.array([self.entries[k] for k in keys], np.float64))
        self.added = 0
