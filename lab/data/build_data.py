"""Build labelled sets from public checkouts: decode, 16 kHz mono FLAC, split, band-limit, one manifest.

Every source of the catalogue (:mod:`lab.data.data_sources`) whose checkout exists under
``--checkouts`` is read by its adapter and written to ``OUT/<slug>/`` with its rows in ``OUT/<slug>/rows.csv``;
``OUT/manifest.csv`` is then merged from all row files, so ``--only`` rebuilds one source and keeps the others.
The manifest has the corpus columns (what ``voxwatch train --data OUT`` reads) plus family, use, system, repo,
version and bandlimited.

Why the builder and not the adapters splits and band-limits: these are the rules that decide whether dev and
test can judge anything, so they live in one place. Evaluation-only sources never reach ``train``: their fake
systems go half to dev, half to test (demo pages hold a few clips per system, so a clip split would leak the
system), their real speech by speaker. Trainable sources go to ``train`` but for held-out bands of speakers
(catalogue ``dev_speakers`` / ``test_speakers``). Real sources arrive at 8 kHz and fakes at 22-44 kHz, a
shortcut a model learns at once: everything is resampled to 16 kHz and a seeded share of both classes alike is
band-limited to the telephone band.

    python -m lab.data.build_data --checkouts ../checkouts --out ../data/hours [--only SLUG]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lab.data.data_sources import SOURCES, VERSION_FILE, DataSource
from lab.data.source_clip import SourceClip
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import resample, to_mono
from voxwatch.training.augment import band_limit
from voxwatch.training.datasets import MANIFEST_COLUMNS
from voxwatch.training.pool import map_with_progress

COLUMNS = (*MANIFEST_COLUMNS, "family", "use", "system", "repo", "version", "bandlimited", "source_rate")
ROWS_FILE = "rows.csv"
ADAPTERS = "lab.data.adapters"
TELEPHONE_RATE = 8000
MIN_SECONDS = 0.3  # shorter files (clicks, empty takes) carry no speech window

Adapter = Callable[[Path, str], Iterable[SourceClip]]


class BuildError(RuntimeError):
    """The checkouts or the options cannot give a data set (one line for the user)."""


def unit(key: str) -> float:
    """A stable number in [0, 1) from a key: the same speaker, system or file always lands in the same place."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:12], 16) / float(1 << 48)


@dataclass(frozen=True)
class Settings:
    bandlimit_share: float = 0.25  # share of clips (both classes alike) band-limited to 8 kHz and back
    seed: int = 0
    jobs: int = 1


def split_of(clip: SourceClip, source: DataSource, system_splits: dict[str, str]) -> str:
    """The split of one clip; ``system_splits`` deals the evaluation-only systems (:func:`eval_system_splits`).

    The deal is made again over every source when the manifest is merged (:func:`merge_manifest`), since a
    system (YourTTS, AutoVC, ...) can appear on several pages and must land in one split."""
    if source.use == "eval-only":
        if clip.label == "spoof":
            return system_splits[clip.system]
        return "dev" if unit(f"speaker:{clip.speaker}") < 0.5 else "test"
    u = unit(f"speaker:{clip.speaker}")
    if source.dev_speakers[0] <= u < source.dev_speakers[1]:
        return "dev"
    if source.test_speakers[0] <= u < source.test_speakers[1]:
        return "test"
    return "train"


def eval_system_splits(systems: Iterable[str]) -> dict[str, str]:
    """Fake systems of the evaluation-only sources, sorted by a hash and dealt alternately to dev and test."""
    ordered = sorted(set(systems), key=lambda s: (unit(f"system:{s}"), s))
    return {system: ("dev", "test")[i % 2] for i, system in enumerate(ordered)}


def decode(path: Path) -> tuple[np.ndarray, int]:
    """Any audio file as 16 kHz mono float32 and its own sample rate: libsndfile first, ffmpeg for the rest."""
    import soundfile as sf

    try:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        return resample(to_mono(audio), rate), rate
    except (sf.LibsndfileError, RuntimeError, TypeError):
        pass
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                            "stream=sample_rate", "-of", "csv=p=0", str(path)], capture_output=True, text=True)
    done = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-ac", "1", "-ar",
                           str(SAMPLE_RATE), "-f", "f32le", "-"], capture_output=True)
    if done.returncode:
        raise BuildError(f"{path}: neither libsndfile nor ffmpeg can read it")
    rate = int(probe.stdout.strip() or 0) if probe.returncode == 0 else 0
    return np.frombuffer(done.stdout, dtype=np.float32).copy(), rate


@dataclass(frozen=True)
class Job:
    """One clip to write: where from, where to, and whether it is band-limited."""

    clip: SourceClip
    target: Path
    relative: str  # target relative to OUT, as written in the manifest
    split: str
    bandlimited: bool


def write_clip(job: Job) -> list[str] | None:
    """Decode, resample, maybe band-limit, write FLAC; the manifest row, or None for a file too short."""
    import soundfile as sf

    audio, rate = decode(job.clip.audio)
    if len(audio) < MIN_SECONDS * SAMPLE_RATE:
        return None
    if job.bandlimited:
        audio = band_limit(audio, TELEPHONE_RATE)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak > 1.0:  # resampling can overshoot full scale; scale rather than clip
        audio = audio / peak
    job.target.parent.mkdir(parents=True, exist_ok=True)
    sf.write(job.target, audio, SAMPLE_RATE, subtype="PCM_16")
    c = job.clip
    return [job.relative, c.label, source_name(c), c.speaker, job.split, f"{len(audio) / SAMPLE_RATE:.2f}",
        c.license, c.family, c.use, c.system, c.source, c.version, str(int(job.bandlimited)), str(rate)]


def source_name(clip: SourceClip) -> str:
    """The manifest's ``source``: the repository or package, and for fakes the system after a colon.

    System names repeat across pages (a "bigvgan" on an MIT page that may train and on an evaluation-only page),
    so the name alone would make model cards' training sources read as if evaluation-only audio had trained.
    """
    origin = clip.source.split("/")[-1].removeprefix("debian:")
    return f"{origin}:{clip.system}" if clip.label == "spoof" else origin


def load_adapter(source: DataSource) -> Adapter:
    return importlib.import_module(f"{ADAPTERS}.{source.adapter}").clips


def read_version(root: Path) -> str:
    version_file = root / VERSION_FILE
    return version_file.read_text().strip() if version_file.is_file() else "unknown"


def plan(source: DataSource, root: Path, out: Path, settings: Settings, adapter: Adapter) -> list[Job]:
    """The jobs of one source: split and band-limiting decided here, before any audio is read."""
    clips = list(adapter(root, read_version(root)))
    for clip in clips:
        if clip.use != source.use:
            raise BuildError(f"{source.slug}: adapter says use {clip.use!r}, the catalogue {source.use!r}")
    system_splits = eval_system_splits(c.system for c in clips if c.label == "spoof")
    jobs = []
    for clip in clips:
        relative = clip.audio.relative_to(root).with_suffix(".flac")
        key = f"{settings.seed}:{source.slug}/{relative}"
        jobs.append(Job(clip, out / source.slug / relative, f"{source.slug}/{relative}",
                        split_of(clip, source, system_splits), unit(key) < settings.bandlimit_share))
    return jobs


def build_source(source: DataSource, root: Path, out: Path, settings: Settings, adapter: Adapter) -> int:
    """Write one source afresh (its folder and its row file); returns the number of clips written."""
    import shutil

    jobs = plan(source, root, out, settings, adapter)
    if (out / source.slug).exists():
        shutil.rmtree(out / source.slug)
    (out / source.slug).mkdir(parents=True)
    rows = map_with_progress(write_clip, jobs, source.slug, workers=settings.jobs)
    kept = [row for row in rows if row is not None]
    write_rows(out / source.slug / ROWS_FILE, kept)
    return len(kept)


def write_rows(path: Path, rows: Iterable[Sequence[str]]) -> None:
    """One source's rows, in :data:`COLUMNS` order (the generators of twins write theirs the same way)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def merge_manifest(out: Path) -> list[dict[str, str]]:
    """``OUT/manifest.csv`` from every ``OUT/*/rows.csv``; returns the rows.

    The evaluation-only fake systems are dealt to dev and test here, over all sources at once (a system named
    on several pages lands in one split); the split decides nothing about the audio, so no file is rewritten.
    """
    rows: list[dict[str, str]] = []
    for part in sorted(out.glob(f"*/{ROWS_FILE}")):
        with open(part, newline="") as handle:
            rows.extend(csv.DictReader(handle))
    evaluated = [r for r in rows if r["use"] == "eval-only" and r["label"] != "bonafide"]
    deal = eval_system_splits(r["system"] for r in evaluated)
    for row in evaluated:
        row["split"] = deal[row["system"]]
    with open(out / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return rows


@dataclass(frozen=True)
class SplitSummary:
    clips: int
    real_hours: float
    fake_hours: float
    telephone_real_hours: float
    speakers: int
    systems: int
    families: tuple[str, ...]
    sources: tuple[str, ...]


def is_telephone(row: dict[str, str]) -> bool:
    """Band-limited by the builder, or recorded at 8 kHz or less (a real telephone line)."""
    return row.get("bandlimited") == "1" or 0 < int(row.get("source_rate") or 0) <= TELEPHONE_RATE


def summarize(rows: Iterable[dict[str, str]]) -> dict[str, SplitSummary]:
    """Per split: clips, hours of real and fake speech, real hours band-limited, speakers, fake systems, families."""
    by_split: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_split.setdefault(row["split"], []).append(row)
    out = {}
    for split in ("train", "dev", "test"):
        part = by_split.get(split, [])
        real = [r for r in part if r["label"] == "bonafide"]
        fake = [r for r in part if r["label"] != "bonafide"]
        out[split] = SplitSummary(
            clips=len(part),
            real_hours=sum(float(r["duration_s"]) for r in real) / 3600,
            fake_hours=sum(float(r["duration_s"]) for r in fake) / 3600,
            telephone_real_hours=sum(float(r["duration_s"]) for r in real
                                     if is_telephone(r)) / 3600,
            speakers=len({r["speaker"] for r in real}),
            systems=len({r["system"] for r in fake}),
            families=tuple(sorted({r["family"] for r in fake})),
            sources=tuple(sorted({r["repo"] for r in part})),
        )
    return out


def problems(rows: list[dict[str, str]], summary: dict[str, SplitSummary], min_real_hours: float = 1.0) -> list[str]:
    """What keeps dev and test from deciding: too little real speech, no telephone speech, leaked systems."""
    found = []
    for split in ("dev", "test"):
        if summary[split].real_hours < min_real_hours:
            found.append(f"{split} holds {summary[split].real_hours:.2f} h of real speech (< {min_real_hours} h)")
        if summary[split].telephone_real_hours == 0:
            found.append(f"{split} holds no band-limited (telephone) real speech")
    trained = {r["system"] for r in rows if r["split"] == "train" and r["label"] != "bonafide"}
    leaked = sorted({r["system"] for r in rows if r["use"] == "eval-only" and r["label"] != "bonafide"} & trained)
    if leaked:
        found.append(f"evaluation-only systems also trained on (same name): {', '.join(leaked)}")
    return found


def print_summary(summary: dict[str, SplitSummary], found: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="data set by split")
    for column in ("split", "clips", "real_hours", "telephone real h", "fake_hours", "speakers", "systems",
                   "families"):
        table.add_column(column)
    for split, s in summary.items():
        table.add_row(split, str(s.clips), f"{s.real_hours:.2f}", f"{s.telephone_real_hours:.2f}",
                      f"{s.fake_hours:.2f}", str(s.speakers), str(s.systems), ", ".join(s.families))
    console = Console(width=None if sys.stdout.isatty() else 140)
    console.print(table)
    for line in found:
        console.print(f"[yellow]warning:[/yellow] {line}")


def build(checkouts: Path, out: Path, only: Sequence[str] = (), settings: Settings = Settings(),
          sources: Sequence[DataSource] = SOURCES, adapters: dict[str, Adapter] | None = None
          ) -> list[dict[str, str]]:
    """Build the sources whose checkouts exist (or ``only`` these slugs); returns the merged manifest rows.

    ``adapters`` maps adapter names to functions, for adapters that are not modules of the package (tests).
    """
    known = {s.slug: s for s in sources}
    unknown = sorted(set(only) - set(known))
    if unknown:
        raise BuildError(f"unknown source(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    chosen = [known[slug] for slug in only] if only else [s for s in sources if (checkouts / s.slug).is_dir()]
    missing = [s.slug for s in chosen if not (checkouts / s.slug).is_dir()]
    if missing:
        raise BuildError(f"no checkout {', '.join(missing)} under {checkouts} (script/fetch-data-sources makes it)")
    if not chosen:
        raise BuildError(f"no checkout of any catalogue source under {checkouts} (script/fetch-data-sources)")
    out.mkdir(parents=True, exist_ok=True)
    for source in chosen:
        adapter = (adapters or {}).get(source.adapter) or load_adapter(source)
        build_source(source, checkouts / source.slug, out, settings, adapter)
    return merge_manifest(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab.data.build_data", description=__doc__.splitlines()[0],
        epilog="Make the checkouts first: script/fetch-data-sources ../checkouts [--mirror DIR]. "
               "Sources: " + ", ".join(s.slug for s in SOURCES))
    parser.add_argument("--checkouts", type=Path, required=True,
                        help="folder of checkouts, one per source, named owner+name or debian+package")
    parser.add_argument("--out", type=Path, required=True, help="output folder (never inside the repository)")
    parser.add_argument("--only", nargs="+", default=(), metavar="SLUG",
                        help="rebuild only these sources; the manifest is merged with the others' rows")
    parser.add_argument("--bandlimit-share", type=float, default=Settings.bandlimit_share,
                        help="share of clips, both classes alike, band-limited to 8 kHz and back (default 0.25)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the band-limited share (default 0)")
    parser.add_argument("--jobs", type=int, default=1, help="decoding processes (default 1)")
    parser.add_argument("--min-real-hours", type=float, default=1.0,
                        help="warn when dev or test holds less real speech (default 1.0)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.bandlimit_share <= 1.0 or args.jobs < 1:
        parser.error("--bandlimit-share must be within 0-1 and --jobs at least 1")
    try:
        rows = build(args.checkouts, args.out, args.only, Settings(args.bandlimit_share, args.seed, args.jobs))
    except BuildError as exc:
        print(f"voxwatch: error: {exc}", file=sys.stderr)
        return 2
    summary = summarize(rows)
    print_summary(summary, problems(rows, summary, args.min_real_hours))
    print(f"{len(rows)} clips in {args.out / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
