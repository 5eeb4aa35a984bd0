"""Splice sets for evaluation: fake speech inserted into real speech with no pause, and long real-only recordings.

``python -m lab.splice_set OUT --data SET [--data SET ...] --split dev|test [--count N] [--seed S]`` writes, from
the labelled sets' clips of that split (manifest format of ``../shared/data/corpus``):

* ``OUT/manifest.csv``: ``N`` spliced clips (label spoof): real speech, a fake clip of 2-10 s, real speech, 10-40 s
  in all, each part trimmed of its leading and trailing silence so that nothing separates them; and ``N`` long
  real-only recordings (label bonafide): real clips joined the same way, 10-40 s;
* ``OUT/alone/manifest.csv``: the very same parts on their own (each fake clip, each real clip, trimmed), so
  ``voxwatch eval --data OUT --data OUT/alone`` compares spliced fakes caught with the same fakes caught alone,
  and false alarms per hour on the long recordings with those on their clips alone.

Dev splice sets take the dev split's fakes (training-licensed systems), test splice sets the test split's
(evaluation-only systems where the source set has them, e.g. the hours set of lab/notes). Each row records the
sources and licences of its parts. Audio is written as 16 kHz FLAC outside the repository.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import load_audio
from voxwatch.training.datasets import Clip, load_dataset, select

FIELDS = ["path", "label", "source", "speaker", "split", "duration_s", "license"]
FAKE_S = (2.0, 10.0)
TOTAL_S = (10.0, 40.0)


def trim(audio: np.ndarray, floor_db: float = -40.0, frame: int = 320) -> np.ndarray:
    """The audio from its first to its last frame within ``floor_db`` of its loudest frame."""
    n = len(audio) // frame
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1)) + 1e-12
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > floor_db)
    return audio[loud[0] * frame : (loud[-1] + 1) * frame]


@dataclass(frozen=True)
class Part:
    clip: Clip
    audio: np.ndarray
    license: str


def _parts(clips: list[Clip]) -> list[Part]:
    parts = []
    for clip in clips:
        try:
            audio = trim(load_audio(clip.path))
        except VoxwatchError as exc:
            print(f"splice_set: skipped {clip.path}: {exc}", file=sys.stderr)
            continue
        if len(audio) >= SAMPLE_RATE // 4:
            parts.append(Part(clip, audio, clip.license))
    return parts


def _fill(real: list[Part], rng: np.random.Generator, seconds: float) -> list[Part]:
    """Real parts, drawn at random, until they hold ``seconds`` of audio."""
    chosen: list[Part] = []
    while sum(len(p.audio) for p in chosen) < seconds * SAMPLE_RATE:
        chosen.append(real[int(rng.integers(len(real)))])
    return chosen


def build(out: Path, sets: list[str], split: str, count: int, seed: int) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    clips = [c for root in sets for c in select(load_dataset(root), split)]
    real = _parts([c for c in clips if c.label == 0])
    fakes = [p for p in _parts([c for c in clips if c.label == 1])
             if FAKE_S[0] * SAMPLE_RATE <= len(p.audio) <= FAKE_S[1] * SAMPLE_RATE]
    if not real or not fakes:
        raise VoxwatchError(f"split {split!r} of {', '.join(sets)} needs real clips and fake clips of 2-10 s")
    (out / "audio").mkdir(parents=True, exist_ok=True)
    (out / "alone" / "audio").mkdir(parents=True, exist_ok=True)
    rows, alone, used = [], [], set()

    def write(folder: Path, name: str, audio: np.ndarray) -> str:
        sf.write(folder / "audio" / f"{name}.flac", audio, SAMPLE_RATE)
        return f"audio/{name}.flac"

    def keep_alone(part: Part) -> None:
        key = str(part.clip.path)
        if key not in used:
            used.add(key)
            name = f"{len(used):05d}-{part.clip.path.stem}"
            alone.append({"path": write(out / "alone", name, part.audio), "label": "spoof" if part.clip.label
                          else "bonafide", "source": part.clip.source, "speaker": part.clip.speaker, "split": split,
                          "duration_s": f"{len(part.audio) / SAMPLE_RATE:.3f}", "license": part.license})

    for i in range(count):
        fake = fakes[int(rng.integers(len(fakes)))]
        total = float(rng.uniform(*TOTAL_S))
        around = max(0.0, total - len(fake.audio) / SAMPLE_RATE)
        before = _fill(real, rng, around * float(rng.uniform(0.3, 0.7)))
        after = _fill(real, rng, around - sum(len(p.audio) for p in before) / SAMPLE_RATE)
        parts = before + [fake] + after
        audio = np.concatenate([p.audio for p in parts])
        rows.append({"path": write(out, f"splice-{i:04d}", audio), "label": "spoof",
                     "source": f"splice:{fake.clip.source}", "speaker": fake.clip.speaker, "split": split,
                     "duration_s": f"{len(audio) / SAMPLE_RATE:.3f}",
                     "license": "; ".join(sorted({p.license for p in parts if p.license}))})
        long_real = _fill(real, rng, float(rng.uniform(*TOTAL_S)))
        audio = np.concatenate([p.audio for p in long_real])
        rows.append({"path": write(out, f"long-real-{i:04d}", audio), "label": "bonafide",
                     "source": "long:" + "+".join(sorted({p.clip.source for p in long_real})), "speaker": "mixed",
                     "split": split, "duration_s": f"{len(audio) / SAMPLE_RATE:.3f}",
                     "license": "; ".join(sorted({p.license for p in long_real if p.license}))})
        for part in parts + long_real:
            keep_alone(part)
    for folder, table in ((out, rows), (out / "alone", alone)):
        with open(folder / "manifest.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, FIELDS)
            writer.writeheader()
            writer.writerows(table)
    return len(rows), len(alone)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.splice_set", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write (audio and manifest.csv; alone/ beside)")
    parser.add_argument("--data", action="append", required=True, metavar="SET", help="a labelled set (repeatable)")
    parser.add_argument("--split", default="dev", help="the split to draw from (dev, test)")
    parser.add_argument("--count", type=int, default=100, help="spliced clips, and as many long real ones (100)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        if args.count <= 0:
            raise VoxwatchError("--count must be positive")
        made, parts = build(args.out, args.data, args.split, args.count, args.seed)
    except VoxwatchError as exc:
        print(f"splice_set: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {made} clips to {args.out}/manifest.csv and their {parts} parts alone to {args.out}/alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
