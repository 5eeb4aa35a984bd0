"""The voiceprint file and the voices directory.

A voiceprint is one JSON file, ``<dir>/<name>.voiceprint.json``, mode 0600 (it describes a person's voice):

* ``encoder``: the speaker encoder's model id, ONNX sha256 and feature hash; a voiceprint is only ever compared
  with embeddings of the same encoder (another one is refused, never silently used);
* ``recordings``: the enrolment files (base name, sha256, seconds of speech);
* ``embeddings``: per channel (``"clean"``, and one per telephone codec chain enrolled: ``"ulaw"``, ``"gsm"``,
  ...), one L2-normalised embedding per enrolment unit (a recording, or a piece of one: ``voxwatch.voices.enrol``),
  with ``centroids`` their normalised means; ``Voiceprint.channels`` lists them;
* ``stats``: how close the units are to the centroid of the *other* units (leave-one-out mean, spread, min);
* ``thresholds``: ``claim`` (a cosine similarity: below it the speech is not this voice at all), ``genuine`` (at
  or above it the voice is taken as the person's) and ``scale`` (the clone score's slope), fixed at enrolment;
* ``scoring``: how ``genuine`` and ``scale`` read: absent (voiceprints of before) or ``{"method": "cosine"}``:
  the cosine similarity, with per-voice thresholds from ``stats``; ``{"method": "snorm", "top_k": ...,
  "cohort_sha256": ...}``: the adaptive S-norm score against the speaker cohort (``voxwatch.voices.cohort``),
  with the thresholds of ``voxwatch.voices.calibration``.

Files are written to a temporary file in the same directory, flushed and synced, then renamed over the target
(``os.replace``): a reader sees the old voiceprint or the new one, never a part.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxwatch.errors import VoxwatchError

FORMAT = "voxwatch-voiceprint"
VERSION = 1
SUFFIX = ".voiceprint.json"
CLEAN = "clean"
COSINE, SNORM = "cosine", "snorm"
SCORINGS = (COSINE, SNORM)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class VoiceprintError(VoxwatchError):
    """A voiceprint or the voices directory is missing, unreadable, or does not fit this voxwatch."""


def check_name(name: str) -> str:
    if not _NAME.match(name) or name.endswith(".") or ".." in name:
        raise VoiceprintError(f"{name!r}: a voice name is 1-64 letters, digits, '.', '_' or '-', starting with a "
                              "letter or digit")
    return name


@dataclass(frozen=True)
class EncoderId:
    """Which speaker encoder made the embeddings (a voiceprint is tied to it)."""

    model_id: str
    sha256: str
    feature_hash: str

    def to_dict(self) -> dict[str, str]:
        return {"model_id": self.model_id, "sha256": self.sha256, "feature_hash": self.feature_hash}

    def same_as(self, other: EncoderId) -> bool:
        return self.sha256 == other.sha256 and self.feature_hash == other.feature_hash


@dataclass(frozen=True)
class Thresholds:
    claim: float  # similarity below which the speech is taken as someone else
    genuine: float  # similarity at or above which it is taken as the enrolled person
    scale: float  # the clone score's slope: clone_score = sigmoid((genuine - similarity) / scale)

    def to_dict(self) -> dict[str, float]:
        return {"claim": round(self.claim, 4), "genuine": round(self.genuine, 4), "scale": round(self.scale, 4)}


@dataclass(frozen=True)
class Voiceprint:
    name: str
    encoder: EncoderId
    embeddings: dict[str, np.ndarray]  # channel -> (units, dim), L2-normalised rows
    thresholds: Thresholds
    stats: dict[str, Any] = field(default_factory=dict)
    recordings: tuple[dict[str, Any], ...] = ()
    created: str = ""
    scoring: dict[str, Any] = field(default_factory=dict)  # {} = cosine

    @property
    def method(self) -> str:
        return str(self.scoring.get("method", COSINE))

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels enrolled: ``clean`` first, then the telephone codec chains."""
        return (CLEAN, *(ch for ch in self.embeddings if ch != CLEAN))

    def centroid(self, channel: str = CLEAN) -> np.ndarray:
        return normalized(self.embeddings[channel].mean(axis=0))

    @property
    def speech_s(self) -> float:
        return float(sum(r.get("speech_s", 0.0) for r in self.recordings))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "created": self.created,
            "encoder": self.encoder.to_dict(),
            "recordings": list(self.recordings),
            "stats": self.stats,
            "thresholds": self.thresholds.to_dict(),
            **({"scoring": self.scoring} if self.scoring else {}),
            "centroids": {ch: _rounded(self.centroid(ch)) for ch in self.embeddings},
            "embeddings": {ch: [_rounded(row) for row in rows] for ch, rows in self.embeddings.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str) -> Voiceprint:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise VoiceprintError(f"{source}: not a voxwatch voiceprint")
        if data.get("version") != VERSION:
            raise VoiceprintError(f"{source}: voiceprint version {data.get('version')!r}; this voxwatch reads "
                                  f"version {VERSION}")
        try:
            encoder = EncoderId(**{k: str(v) for k, v in data["encoder"].items()})
            embeddings = {str(ch): np.asarray(rows, np.float32) for ch, rows in data["embeddings"].items()}
            t = data["thresholds"]
            thresholds = Thresholds(float(t["claim"]), float(t["genuine"]), float(t["scale"]))
            voiceprint = cls(name=check_name(str(data["name"])), encoder=encoder, embeddings=embeddings,
                             thresholds=thresholds, stats=dict(data.get("stats", {})),
                             recordings=tuple(dict(r) for r in data.get("recordings", [])),
                             created=str(data.get("created", "")), scoring=dict(data.get("scoring", {})))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise VoiceprintError(f"{source}: invalid voiceprint ({exc.__class__.__name__}: {exc})") from None
        if CLEAN not in embeddings or any(e.ndim != 2 or len(e) == 0 for e in embeddings.values()):
            raise VoiceprintError(f"{source}: invalid voiceprint (no '{CLEAN}' embeddings)")
        if thresholds.scale <= 0:
            raise VoiceprintError(f"{source}: invalid voiceprint (thresholds.scale must be > 0)")
        if voiceprint.method not in SCORINGS:
            raise VoiceprintError(f"{source}: scoring method {voiceprint.method!r}; this voxwatch knows "
                                  f"{', '.join(SCORINGS)}")
        if voiceprint.method == SNORM and not isinstance(voiceprint.scoring.get("top_k"), int):
            raise VoiceprintError(f"{source}: invalid voiceprint (scoring.top_k must be a whole number)")
        return voiceprint


def normalized(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _rounded(vector: np.ndarray) -> list[float]:
    return [round(float(x), 6) for x in vector]


def dumps(data: dict[str, Any]) -> str:
    """JSON with one top-level key per line (each value compact: an embedding is one line, not 256)."""
    items = [f" {json.dumps(key)}: {json.dumps(value, separators=(',', ':'))}" for key, value in data.items()]
    return "{\n" + ",\n".join(items) + "\n}\n"


def write_atomically(path: Path, text: str, mode: int = 0o600) -> None:
    """``text`` into ``path`` all at once: a temporary file beside it, synced, then renamed over it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # the rename itself durable too
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def default_voices_dir() -> Path:
    """``$XDG_DATA_HOME/voxwatch/voices`` (``~/.local/share/voxwatch/voices``)."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "voxwatch" / "voices"


class VoiceStore:
    """The voices directory: one ``<name>.voiceprint.json`` per enrolled voice."""

    def __init__(self, directory: Path | str) -> None:
        self.dir = Path(directory).expanduser()

    def path(self, name: str) -> Path:
        return self.dir / f"{check_name(name)}{SUFFIX}"

    def names(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.name[: -len(SUFFIX)] for p in self.dir.glob(f"*{SUFFIX}") if not p.name.startswith("."))

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def load(self, name: str) -> Voiceprint:
        path = self.path(name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise VoiceprintError(f"no voice named {name!r} in {self.dir}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VoiceprintError(f"{path}: cannot read voiceprint: {exc}") from None
        voiceprint = Voiceprint.from_dict(data, str(path))
        if voiceprint.name != name:
            raise VoiceprintError(f"{path}: holds the voice {voiceprint.name!r}, not {name!r} (renamed by hand?)")
        return voiceprint

    def load_all(self) -> list[Voiceprint]:
        return [self.load(name) for name in self.names()]

    def save(self, voiceprint: Voiceprint) -> Path:
        path = self.path(voiceprint.name)
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomically(path, dumps(voiceprint.to_dict()))
        except OSError as exc:
            raise VoiceprintError(f"{path}: cannot write voiceprint: {exc.strerror or exc}") from None
        return path

    def remove(self, name: str) -> Path:
        path = self.path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise VoiceprintError(f"no voice named {name!r} in {self.dir}") from None
        except OSError as exc:
            raise VoiceprintError(f"{path}: cannot remove: {exc.strerror or exc}") from None
        return path


def require_encoder(voiceprint: Voiceprint, encoder: EncoderId, source: str) -> None:
    """One line when a voiceprint was made with another speaker encoder than the one in use."""
    if not voiceprint.encoder.same_as(encoder):
        raise VoiceprintError(
            f"{source}: voice {voiceprint.name!r} was enrolled with the speaker encoder {voiceprint.encoder.model_id} "
            f"(sha256 {voiceprint.encoder.sha256[:12]}…), this voxwatch uses {encoder.model_id} "
            f"(sha256 {encoder.sha256[:12]}…); its embeddings cannot be compared: enrol it again "
            f"(voxwatch voices remove {voiceprint.name}, then voices add)")
