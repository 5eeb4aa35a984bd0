"""Copy-synthesis twins: real training clips of a built set resynthesised from their log-mel by a vocoder trained here.

Twins are made of the real ``train`` rows of the set (read at run time), every speaker, a share of each speaker's
clips (at least one), written to ``DATA/voxwatch+vocoder-<arch>/`` with their row file; ``DATA/manifest.csv``
is merged again. Running it again replaces that architecture's folder only. A twin has its original's length
and RMS level (``copy_synthesis.match_level``); a band-limited original (``bandlimited`` = 1) gives a twin
band-limited by the builder's own rule (``augment.band_limit`` at the telephone rate), so the band never tells
the pair apart. The rows name the checkpoint's model id as ``version``. A sampling vocoder (``diffwave``) draws
from a generator seeded by the twin's path (``arches.seed_of``), so twins are reproducible.

    python -m lab.vocoders.twins --data ../data/hours \\
        --checkpoint ../data/vocoders/hifigan/checkpoint.pt [--share 0.5] [--jobs 1]
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from lab.data.build_data import (
    ROWS_FILE,
    TELEPHONE_RATE,
    merge_manifest,
    unit,
    write_rows,
)
from lab.supplements.copy_synthesis import match_level
from lab.vocoders import segments as seg
from lab.vocoders.arches import ARCHES, VocoderError, load_checkpoint, seed_of
from lab.vocoders.arches import synthesize as synthesize_batch
from lab.vocoders.mel import LogMel
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.training.augment import band_limit
from voxwatch.training.pool import map_with_progress

REPO = "voxwatch (trained here)"


def slug(arch: str) -> str:
    return f"voxwatch+vocoder-{arch}"


@dataclass(frozen=True)
class Twin:
    row: dict[str, str]  # the original's manifest row
    relative: str  # the twin's path relative to the set


def plan(rows: Sequence[dict[str, str]], arch: str, share: float, seed: int = 0) -> list[Twin]:
    """Twins of the real train rows: every speaker's first clip and ``share`` of the others."""
    twins, seen = [], set()
    for row in seg.real_train_rows(list(rows)):
        first = row["speaker"] not in seen
        seen.add(row["speaker"])
        if first or unit(f"{seed}:vocoder-twin:{arch}:{row['path']}") < share:
            twins.append(Twin(row, f"{slug(arch)}/{Path(row['path']).with_suffix('.flac')}"))
    return twins


@functools.cache
def _vocoder_of(checkpoint: Path) -> tuple[str, torch.nn.Module, str]:
    """One loaded vocoder per process and checkpoint: workers load it once, not per clip."""
    torch.set_num_threads(1)
    return load_checkpoint(checkpoint)


@functools.cache
def _mel() -> LogMel:
    return LogMel()


def synthesize(model: torch.nn.Module, audio: np.ndarray, seed: int = 0) -> np.ndarray:
    """The vocoder's synthesis of ``audio`` (16 kHz float) from its log-mel, at the same length (seeded)."""
    with torch.no_grad():
        return synthesize_batch(model, _mel(), torch.from_numpy(np.asarray(audio, np.float32))[None], seed)[0].numpy()


def make_twin(twin: Twin, root: Path, checkpoint: Path, seed: int = 0) -> list[str]:
    """Write one twin; its manifest row (in build_data.COLUMNS order)."""
    import soundfile as sf

    audio, rate = sf.read(root / twin.row["path"], dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise VocoderError(f"{twin.row['path']}: {rate} Hz, the builder writes {SAMPLE_RATE}")
    audio = audio.mean(axis=1)
    arch, model, ident = _vocoder_of(checkpoint)
    out = synthesize(model, audio, seed_of(f"{seed}:{twin.row['path']}"))
    if twin.row["bandlimited"] == "1":
        out = band_limit(out, TELEPHONE_RATE)
    out = match_level(out, audio).astype(np.float32)
    target = root / twin.relative
    target.parent.mkdir(parents=True, exist_ok=True)
    sf.write(target, out, SAMPLE_RATE, subtype="PCM_16")
    r, system = twin.row, f"vocoder-{arch}"
    return [twin.relative, "spoof", f"voxwatch:{system}", r["speaker"], "train", f"{len(out) / SAMPLE_RATE:.2f}",
            f"speech: {r['license']}", ARCHES[arch].family, "train", system, REPO, ident, r["bandlimited"],
            str(SAMPLE_RATE)]


def make_twins(root: Path, checkpoint: Path, share: float = 0.5, jobs: int = 1, seed: int = 0) -> int:
    """Write the twins of the set at ``root`` with the vocoder of ``checkpoint``, merge the manifest; the count."""
    arch, _, _ = _vocoder_of(checkpoint)
    twins = plan(seg.read_manifest(root), arch, share, seed)
    if not twins:
        raise VocoderError(f"{root}: no real train rows to twin")
    folder = root / slug(arch)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    work = partial(make_twin, root=root, checkpoint=checkpoint, seed=seed)
    out = map_with_progress(work, twins, f"{slug(arch)} twins", jobs)
    write_rows(folder / ROWS_FILE, out)
    merge_manifest(root)
    return len(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.vocoders.twins",
                                     description=__doc__.splitlines()[0],
                                     epilog="Needs the train extra (torch) and a checkpoint written by "
                                            "lab.vocoders.train.")
    parser.add_argument("--data", type=Path, required=True, help="a set written by build_data (manifest.csv)")
    parser.add_argument("--checkpoint", type=Path, required=True, help="a vocoder's checkpoint.pt")
    parser.add_argument("--share", type=float, default=0.5,
                        help="share of each speaker's further real train clips twinned (default 0.5)")
    parser.add_argument("--jobs", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not 0.0 <= args.share <= 1.0 or args.jobs < 1:
        parser.error("--share must be within 0-1 and --jobs at least 1")
    try:
        count = make_twins(args.data, args.checkpoint.resolve(), args.share, args.jobs, args.seed)
    except VocoderError as exc:
        print(f"voxwatch: error: {exc}", file=sys.stderr)
        return 2
    arch, _, ident = _vocoder_of(args.checkpoint.resolve())
    print(f"{count} twins by {ident} in {args.data / slug(arch)}; {args.data / 'manifest.csv'} merged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
