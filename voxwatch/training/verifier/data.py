"""Verifier training data: every clip trimmed like the daemon trims speech, then ``verifier_features``.

Features are computed once per clip (and per augmented copy) in a small process pool and cached per folder
of clips (float16 frames end to end, with offsets), so that candidates trained on the same data, or on a set
that differs by a few sources, do not recompute them. Copy 0 of a clip is clean; later copies go through the
filter's own augmentation (noise, reverberation, band limit, gain), so both models see the same nuisances.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from voxwatch.pipeline.sources import load_audio
from voxwatch.pipeline.stages.verifier.features import VerifierFeatureSettings, verifier_features
from voxwatch.training.augment import AugmentSettings, augment
from voxwatch.training.datasets import Clip, load_dataset, select
from voxwatch.training.pool import map_with_progress
from voxwatch.training.windows import trim


@dataclass
class UtteranceSet:
    """Variable-length feature matrices of clips (and copies): ``item(i)`` is (frames, bands) float16."""

    frames: np.ndarray  # (total_frames, bands) float16
    offsets: np.ndarray  # (N + 1,) int64
    y: np.ndarray  # (N,) int8, 1 = fake
    clip: np.ndarray  # (N,) int32 index into the clip list

    def __len__(self) -> int:
        return len(self.y)

    def item(self, i: int) -> np.ndarray:
        return self.frames[self.offsets[i] : self.offsets[i + 1]]

    def save(self, path: Path) -> None:
        """Written beside ``path`` and renamed into place: a run reading the cache meanwhile never sees half a file."""
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial.npz")
        np.savez(partial, frames=self.frames, offsets=self.offsets, y=self.y, clip=self.clip)
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> UtteranceSet:
        with np.load(path) as data:
            return cls(data["frames"], data["offsets"], data["y"], data["clip"])


def load_training_clips(paths: Sequence[str], fmt: str = "auto") -> list[Clip]:
    """Clips of every dataset; in the train split, rows of a manifest with a ``use`` column count only where
    ``use`` is ``train`` (a data builder marks evaluation-only systems that no training may see). Dev keeps them:
    the evaluation-only systems dealt to dev are there to choose the epoch and the operating point, those dealt
    to test are seen by neither."""
    clips: list[Clip] = []
    for path in paths:
        root = Path(path)
        loaded = load_dataset(root, fmt)
        manifest = root / "manifest.csv"
        if manifest.is_file():
            with open(manifest, newline="") as handle:
                rows = list(csv.DictReader(handle))
            if rows and "use" in rows[0]:
                banned = {str(root / r["path"]) for r in rows
                          if (r.get("use") or "train").strip() != "train" and r.get("split") == "train"}
                loaded = [c for c in loaded if str(c.path) not in banned]
        clips.extend(loaded)
    return clips


def train_and_dev(paths: Sequence[str], train_only: Sequence[str] = (),
                  fmt: str = "auto") -> tuple[list[Clip], list[Clip]]:
    """The verifier trainer's reading of its sets, in one place for it and for anyone repeating it (card
    backfill, ensembles): the train and dev splits of ``paths`` (see :func:`load_training_clips`), plus the train
    split of each ``train_only`` set, whose dev and test splits are ignored (all of them in layout ``fmt``)."""
    clips = load_training_clips(paths, fmt)
    train = select(clips, "train") + select(load_training_clips(train_only, fmt), "train")
    return train, select(clips, "dev")


def clip_features(path: str, settings: VerifierFeatureSettings, copies: int, seed: int) -> list:
    """Copy 0 clean, the others augmented with a generator seeded by the clip's path (the same in any list)."""
    audio = trim(load_audio(path))
    stream = int(hashlib.sha256(path.encode()).hexdigest()[:12], 16)
    out = []
    for copy in range(copies):
        x = audio if copy == 0 else augment(audio, np.random.default_rng([seed, stream, copy]), AugmentSettings())
        out.append(verifier_features(x, settings).astype(np.float16))
    return out


def _task(args: tuple) -> tuple[int, list]:
    index, path, settings, copies, seed = args
    return index, clip_features(path, settings, copies, seed)


def _stack(clips: list[Clip], indices: list[int], features: dict[int, list]) -> UtteranceSet:
    """One folder's set: the copies of ``clips[i]`` for ``i`` in ``indices``, with ``clip`` the position in
    ``indices`` (cached this way, a folder's set fits any list the folder's clips appear in)."""
    mats, ys, cs = [], [], []
    for position, i in enumerate(indices):
        for m in features[i]:
            mats.append(m)
            ys.append(clips[i].label)
            cs.append(position)
    offsets = np.concatenate([[0], np.cumsum([len(m) for m in mats])]).astype(np.int64)
    return UtteranceSet(np.concatenate(mats), offsets, np.asarray(ys, np.int8), np.asarray(cs, np.int32))


def concatenate(parts: list[UtteranceSet]) -> UtteranceSet:
    """Sets end to end (their ``clip`` indices already index the one clip list)."""
    starts = np.cumsum([0] + [len(p.frames) for p in parts[:-1]])
    shifted = [p.offsets[1:] + start for p, start in zip(parts, starts, strict=True)]
    offsets = np.concatenate([[0], *shifted]).astype(np.int64)
    return UtteranceSet(np.concatenate([p.frames for p in parts]), offsets,
                        np.concatenate([p.y for p in parts]), np.concatenate([p.clip for p in parts]))


def _stamp(clip: Clip) -> tuple[int, int]:
    """(size, modification time in ns) of a clip's file: a rewritten file is another clip for the cache."""
    stat = os.stat(clip.path)
    return stat.st_size, stat.st_mtime_ns


def build(clips: list[Clip], settings: VerifierFeatureSettings, copies: int = 1, seed: int = 0, workers: int = 2,
          cache_dir: Path | None = None, label: str = "features") -> UtteranceSet:
    """Features of ``clips`` (``copies`` per clip), with a progress bar; cached in ``cache_dir`` when given.

    The cache holds one file per folder of clips, keyed by the settings and that folder's clips (path, label,
    size and modification time): a set that grew by a source (twins of a new vocoder), lost one (a
    leave-one-family-out run), moved speakers between splits or had a folder rewritten in place (twins of a
    vocoder trained longer, same paths) recomputes only the folders that changed."""
    folders: dict[Path, list[int]] = {}
    for i, clip in enumerate(clips):
        folders.setdefault(Path(clip.path).parent, []).append(i)
    common = {"s": settings.to_dict(), "c": copies, "seed": seed, "layout": 3}  # 3: clip = position, file stat

    def cache_of(indices: list[int]) -> Path | None:
        if not cache_dir:
            return None
        key = hashlib.sha256(json.dumps({**common, "clips": [(str(clips[i].path), clips[i].label, *_stamp(clips[i]))
                                                             for i in indices]}).encode()).hexdigest()[:20]
        return Path(cache_dir) / f"verifier-{label}" / f"{key}.npz"

    parts: dict[Path, UtteranceSet] = {}
    for folder, indices in folders.items():
        cache = cache_of(indices)
        if cache is not None and cache.is_file():
            parts[folder] = UtteranceSet.load(cache)
    jobs = [(i, str(clips[i].path), settings, copies, seed)
            for folder, indices in folders.items() if folder not in parts for i in indices]
    results = dict(map_with_progress(_task, jobs, label, workers)) if jobs else {}
    for folder, indices in folders.items():
        if folder in parts:
            continue
        parts[folder] = _stack(clips, indices, {i: results.pop(i) for i in indices})
        cache = cache_of(indices)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            parts[folder].save(cache)
    return concatenate([replace(parts[folder], clip=np.asarray(indices, np.int32)[parts[folder].clip])
                        for folder, indices in folders.items()])
