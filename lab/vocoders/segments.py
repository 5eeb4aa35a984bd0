"""The real speech the vocoders may learn from, and random fixed-length segments of it.

Training rows: real (``bonafide``) clips of split ``train`` and use ``train`` of a set written by ``build_data``,
never the Lyra twins' repository; read from the manifest at run time, since the set may be rebuilt. A seeded
handful of them is held out for the Griffin-Lim comparison (``evaluate``). Segments are read by seeking into the
FLAC files, so no clip is loaded whole.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from lab.data.build_data import unit
from lab.vocoders.arches import VocoderError
from voxwatch.pipeline.samplerate import SAMPLE_RATE

EXCLUDED_REPOS = ("google/lyra",)  # a neural codec's twins are not real speech, whatever a row says
QUIET_RMS = 1e-3  # a segment quieter than this is mostly silence: draw another (a few times)
MAX_UNREADABLE = 50  # consecutive unreadable clips before a run gives up


def read_manifest(root: Path) -> list[dict[str, str]]:
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise VocoderError(f"{root}: no manifest.csv (a set written by lab.data.build_data)")
    with open(manifest, newline="") as handle:
        return list(csv.DictReader(handle))


def real_train_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    found = [r for r in rows if r.get("label") == "bonafide" and r.get("split") == "train"
             and r.get("use") == "train" and r.get("repo") not in EXCLUDED_REPOS]
    return sorted(found, key=lambda r: r["path"])


def held_out(rows: list[dict[str, str]], count: int, seed: int = 0) -> list[dict[str, str]]:
    """``count`` rows chosen by a stable hash of their path (the same rows whatever else the set holds)."""
    return sorted(rows, key=lambda r: unit(f"{seed}:vocoder-held-out:{r['path']}"))[:count]


def summary(rows: list[dict[str, str]]) -> dict[str, object]:
    """What a card says about training data: clips, hours, speakers, licences."""
    return {"clips": len(rows), "hours": round(sum(float(r["duration_s"]) for r in rows) / 3600, 3),
            "speakers": len({r["speaker"] for r in rows}),
            "licenses": dict(Counter(r["license"] for r in rows).most_common())}


class Segments:
    """Random segments of ``samples`` samples from the rows' files (zero-padded when a clip is shorter)."""

    def __init__(self, root: Path, rows: list[dict[str, str]], samples: int, seed: int = 0) -> None:
        if not rows:
            raise VocoderError(f"{root}: no real train rows to learn from")
        self.root, self.rows, self.samples = root, rows, samples
        self.rng = np.random.default_rng(seed)
        self.unreadable = 0  # clips that vanished or broke since the manifest was read (the card reports it)

    def _one(self) -> np.ndarray:
        import soundfile as sf

        for _ in range(MAX_UNREADABLE):
            row = self.rows[self.rng.integers(len(self.rows))]
            path = self.root / row["path"]
            try:
                info = sf.info(path)
                break
            except (sf.LibsndfileError, RuntimeError):
                self.unreadable += 1  # a source being rebuilt under a long run: draw another clip
        else:
            raise VocoderError(f"{self.root}: {MAX_UNREADABLE} clips in a row cannot be read (last {path})")
        if info.samplerate != SAMPLE_RATE:
            raise VocoderError(f"{path}: {info.samplerate} Hz, the builder writes {SAMPLE_RATE}")
        start = int(self.rng.integers(max(1, info.frames - self.samples + 1)))
        try:
            audio, _ = sf.read(path, frames=self.samples, start=start, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError):
            self.unreadable += 1
            return np.zeros(self.samples, np.float32)
        audio = audio.mean(axis=1)
        return np.pad(audio, (0, self.samples - len(audio)))

    def batch(self, size: int) -> torch.Tensor:
        out = []
        for _ in range(size):
            for _ in range(4):
                segment = self._one()
                if np.sqrt(np.mean(segment ** 2)) >= QUIET_RMS:
                    break
            out.append(segment)
        return torch.from_numpy(np.stack(out))
