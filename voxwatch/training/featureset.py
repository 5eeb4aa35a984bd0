"""Feature windows for a list of clips: decode, trim, (augment), window, ``features()`` - in worker processes.

A ``FeatureSet`` holds float16 windows (N, n_frames, n_features), their labels and the index of the clip each
came from (so clip scores can be aggregated like the daemon does). Work is split per clip over a small process
pool; each clip's randomness is seeded from (seed, clip index, copy), so the result does not depend on the
number of workers.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from voxwatch.pipeline.sources import load_audio
from voxwatch.pipeline.stages.filter.features import FeatureSettings, features
from voxwatch.pipeline.vad import VadSettings
from voxwatch.pipeline.windower import WindowSettings
from voxwatch.training.augment import AugmentSettings, augment, band_limit
from voxwatch.training.datasets import Clip
from voxwatch.training.pool import map_with_progress
from voxwatch.training.windows import cut_windows, trim


@dataclass(frozen=True)
class ExtractSettings:
    """How clips become training/eval windows. ``copies`` > 1 adds augmented copies (copy 0 stays clean);
    ``max_windows`` caps windows per clip and copy (0: all), so long clips do not dominate; ``bandlimit``
    band-limits every clip (the telephone check of ``voxwatch eval``)."""

    features: FeatureSettings = FeatureSettings()
    window: WindowSettings = WindowSettings()
    vad: VadSettings = VadSettings()
    augment: AugmentSettings | None = None
    copies: int = 1
    max_windows: int = 0
    bandlimit: int = 0
    seed: int = 0

    def key(self, clips: list[Clip]) -> str:
        text = json.dumps({"settings": asdict(self), "clips": [str(c.path) for c in clips]}, sort_keys=True,
                          default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class FeatureSet:
    x: np.ndarray  # (N, n_frames, n_features) float16
    y: np.ndarray  # (N,) int8, 1 = fake
    clip: np.ndarray  # (N,) int32 index into clips

    def __len__(self) -> int:
        return len(self.y)

    def save(self, path: Path) -> None:
        np.savez(path, x=self.x, y=self.y, clip=self.clip)

    @classmethod
    def load(cls, path: Path) -> FeatureSet:
        with np.load(path) as data:
            return cls(data["x"], data["y"], data["clip"])


def clip_windows(path: Path, settings: ExtractSettings, index: int = 0) -> list[np.ndarray]:
    """Feature windows of one clip (all copies), float16."""
    audio = load_audio(path)
    if settings.bandlimit:
        audio = band_limit(audio, settings.bandlimit)
    audio = trim(audio, settings.vad)
    out: list[np.ndarray] = []
    for copy in range(settings.copies):
        rng = np.random.default_rng([settings.seed, index, copy])
        x = audio
        if settings.augment is not None and copy > 0:
            x = augment(audio, rng, settings.augment)
        windows = cut_windows(x, settings.window)
        if settings.max_windows and len(windows) > settings.max_windows:
            keep = np.sort(rng.choice(len(windows), settings.max_windows, replace=False))
            windows = [windows[i] for i in keep]
        out.extend(features(w, settings.features).astype(np.float16) for w in windows)
    return out


def _task(args: tuple[int, str, ExtractSettings]) -> tuple[int, list[np.ndarray]]:
    index, path, settings = args
    return index, clip_windows(Path(path), settings, index)


def default_workers() -> int:
    return max(1, min(int(os.environ.get("VOXWATCH_WORKERS", "0")) or (os.cpu_count() or 1), 16))


def extract(clips: list[Clip], settings: ExtractSettings, workers: int | None = None, label: str = "features",
            cache_dir: Path | None = None) -> FeatureSet:
    """Feature windows for ``clips`` with a progress bar; cached in ``cache_dir`` when given."""
    cache = Path(cache_dir) / f"{label}-{settings.key(clips)}.npz" if cache_dir else None
    if cache is not None and cache.is_file():
        return FeatureSet.load(cache)
    n_frames = settings.features.n_frames(settings.window.window_samples)
    jobs = [(i, str(c.path), settings) for i, c in enumerate(clips)]
    results = dict(map_with_progress(_task, jobs, label, workers or default_workers()))
    xs, ys, cs = [], [], []
    for i, clip in enumerate(clips):
        for w in results[i]:
            xs.append(w)
            ys.append(clip.label)
            cs.append(i)
    x = np.stack(xs) if xs else np.zeros((0, n_frames, settings.features.n_features), np.float16)
    fs = FeatureSet(x, np.asarray(ys, np.int8), np.asarray(cs, np.int32))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fs.save(cache)
    return fs
