"""Neural-codec twins: real training clips of a built set passed through Lyra v2 (SoundStream) at 3.2-9.2 kbps.

Why: a neural codec is a generator users meet on every call, and its traces (a learned decoder, residual vector
quantisation) are those of neural TTS back ends. A twin keeps the speaker, words, language, loudness and
channel of its original, so the only thing the model can learn from the pair is the codec. Lyra's three
TFLite models (``google/lyra``, Apache-2.0, ``lyra/model_coeffs``: SoundStream encoder, residual quantiser,
LyraGAN decoder) run on a TFLite runtime from PyPI (``ai-edge-litert``, in lab/requirements.txt), 20 ms per frame.

Twins are made of the real ``train`` rows of a set the builder wrote (``build_data``), every speaker, a share
of each speaker's clips (at least one), the bitrate dealt in turn; a band-limited original gives a twin of the
same band (``bandlimited`` is copied). They are written to ``OUT/google+lyra/`` with their row file, and
``OUT/manifest.csv`` is merged again.

    python -m lab.supplements.lyra_twins --data ../data/hours \\
        --models ../checkouts/google+lyra/lyra/model_coeffs [--share 1.0] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import functools
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from lab.data.build_data import (
    ROWS_FILE,
    merge_manifest,
    unit,
    write_rows,
)
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.training.pool import map_with_progress

SLUG = "google+lyra"
REPO = "google/lyra"
LICENSE = "Apache-2.0 (google/lyra models)"
FRAME = 320  # samples per 20 ms frame at 16 kHz
TWIN_NAME = re.compile(r"^(?P<stem>.+)-lyra(?P<kbps>[0-9.]+)kbps\.flac$")  # Twin.relative below SLUG
MAX_QUANTIZERS = 46  # 9.2 kbps: 46 quantisers of 4 bits per 20 ms frame
BITRATES_KBPS = (3.2, 6.0, 9.2)
MODEL_FILES = ("soundstream_encoder.tflite", "quantizer.tflite", "lyragan.tflite")

Codec = Callable[[np.ndarray, float], np.ndarray]


class LyraError(RuntimeError):
    """The TFLite runtime or the Lyra models are missing."""


def quantizers(kbps: float) -> int:
    """Residual quantisers per frame at a bitrate: 4 bits each, 50 frames per second."""
    return round(kbps * 1000 / 50 / 4)


def load_interpreter_class():
    """The TFLite interpreter of ``ai-edge-litert``, else of ``tflite-runtime``."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise LyraError("no TFLite runtime: pip install -r lab/requirements.txt (ai-edge-litert)") from None
    return Interpreter


class Lyra:
    """Lyra v2 encode + decode in one process; the models keep streaming state, reset for every clip."""

    def __init__(self, models: Path) -> None:
        missing = [name for name in MODEL_FILES if not (models / name).is_file()]
        if missing:
            raise LyraError(f"{models}: missing {', '.join(missing)} (google/lyra lyra/model_coeffs)")
        interpreter = load_interpreter_class()
        self._interpreters = [interpreter(model_path=str(models / name), num_threads=1) for name in MODEL_FILES]
        encoder, quantizer, decoder = self._interpreters
        self._encode = encoder.get_signature_runner()
        self._quantize = quantizer.get_signature_runner("encode")
        self._dequantize = quantizer.get_signature_runner("decode")
        self._decode = decoder.get_signature_runner()

    def __call__(self, audio: np.ndarray, kbps: float) -> np.ndarray:
        """``audio`` (16 kHz float32) through the codec at ``kbps``, at its own length."""
        for interpreter in self._interpreters:
            interpreter.reset_all_variables()
        n_quantizers = np.array(quantizers(kbps), dtype=np.int32)
        padded = np.pad(np.asarray(audio, dtype=np.float32), (0, -len(audio) % FRAME))
        out = np.empty_like(padded)
        for start in range(0, len(padded), FRAME):
            features = self._encode(input_audio=padded[None, start:start + FRAME])["output_0"]
            indices = self._quantize(input_frames=features, num_quantizers=n_quantizers)["output_0"].copy()
            indices[int(n_quantizers):] = -1  # unused quantisers are marked as such for the decoder
            decoded = self._dequantize(encoding_indices=indices)["output_0"]
            out[start:start + FRAME] = self._decode(input_audio=decoded)["output_0"][0]
        return out[:len(audio)]


@dataclass(frozen=True)
class LyraFactory:
    """Builds :class:`Lyra` in a worker; equal for equal folders, so each process loads the models once."""

    models: Path

    def __call__(self) -> Lyra:
        return Lyra(self.models)


@dataclass(frozen=True)
class Twin:
    row: dict[str, str]  # the original's manifest row
    kbps: float
    relative: str  # the twin's path relative to the set


def plan(rows: Sequence[dict[str, str]], share: float, seed: int = 0,
         made: Mapping[str, float] | None = None) -> list[Twin]:
    """Twins of the real train rows: every speaker's first clip and ``share`` of the others, bitrates in turn.

    ``made`` (original's path without suffix -> bitrate) keeps the bitrate of twins already written, so that a
    re-run after the set grew re-uses them (:func:`twins_on_disk`)."""
    made = made or {}
    real = [r for r in rows if r["label"] == "bonafide" and r["split"] == "train" and r["use"] == "train"
            and r["repo"] != REPO]
    twins, seen = [], set()
    for row in sorted(real, key=lambda r: r["path"]):
        first = row["speaker"] not in seen
        seen.add(row["speaker"])
        if not first and unit(f"{seed}:twin:{row['path']}") >= share:
            continue
        stem = Path(row["path"]).with_suffix("")
        kbps = made.get(str(stem), BITRATES_KBPS[len(twins) % len(BITRATES_KBPS)])
        twins.append(Twin(row, kbps, f"{SLUG}/{stem}-lyra{kbps:g}kbps.flac"))
    return twins


def twins_on_disk(root: Path) -> dict[str, float]:
    """Twins already under ``root/SLUG``: original's path without suffix -> bitrate (from the file names)."""
    found = {}
    for path in (root / SLUG).rglob("*.flac") if (root / SLUG).is_dir() else ():
        match = TWIN_NAME.match(path.relative_to(root / SLUG).as_posix())
        if match:
            found[match["stem"]] = float(match["kbps"])
    return found


@functools.cache
def _codec_of(factory: Callable[[], Codec]) -> Codec:
    """One codec per process and (hashable, value-equal) factory: the models load once per worker, not per clip."""
    return factory()


def _make_twin(twin: Twin, root: Path, codec_factory: Callable[[], Codec], version: str) -> list[str]:
    """Write one twin; its manifest row (in build_data.COLUMNS order)."""
    import soundfile as sf

    target = root / twin.relative
    if target.is_file():  # written by an earlier run: the codec is deterministic, so it would write the same
        samples = sf.info(target).frames
    else:
        audio, rate = sf.read(root / twin.row["path"], dtype="float32")
        if rate != SAMPLE_RATE:
            raise LyraError(f"{twin.row['path']}: {rate} Hz, the builder writes {SAMPLE_RATE}")
        out = np.clip(_codec_of(codec_factory)(audio, twin.kbps), -1.0, 1.0)
        target.parent.mkdir(parents=True, exist_ok=True)
        sf.write(target, out, SAMPLE_RATE, subtype="PCM_16")
        samples = len(out)
    r = twin.row
    system = f"lyra-{twin.kbps:g}kbps"
    return [twin.relative, "spoof", system, r["speaker"], "train", f"{samples / SAMPLE_RATE:.2f}",
            f"{LICENSE}; speech: {r['license']}", "codec", "train", system, REPO, version, r["bandlimited"],
            str(SAMPLE_RATE)]


def make_twins(root: Path, codec_factory: Callable[[], Codec], share: float = 1.0, jobs: int = 1,
               version: str = "unknown", seed: int = 0) -> int:
    """Write the twins of the set at ``root`` and merge its manifest again; returns the number of twins.

    ``codec_factory`` builds the codec in each process (it must pickle when ``jobs > 1``). Twins already on disk
    from an earlier run over the same originals are kept (a rebuild that moved speakers into train codes only
    the new clips); twins of clips no longer planned are deleted.
    """
    with open(root / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    twins = plan(rows, share, seed, made=twins_on_disk(root))
    if not twins:
        raise LyraError(f"{root}: no real train rows to twin")
    planned = {root / twin.relative for twin in twins}
    for stale in (root / SLUG).rglob("*.flac") if (root / SLUG).is_dir() else ():
        if stale not in planned:
            stale.unlink()
    (root / SLUG).mkdir(parents=True, exist_ok=True)
    work = partial(_make_twin, root=root, codec_factory=codec_factory, version=version)
    out = map_with_progress(work, twins, "lyra twins", jobs, chunksize=4)
    write_rows(root / SLUG / ROWS_FILE, out)
    merge_manifest(root)
    return len(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.supplements.lyra_twins",
                                     description=__doc__.splitlines()[0],
                                     epilog="Needs: pip install -r lab/requirements.txt (ai-edge-litert).")
    parser.add_argument("--data", type=Path, required=True, help="a set written by build_data (manifest.csv)")
    parser.add_argument("--models", type=Path, required=True,
                        help="google/lyra's lyra/model_coeffs folder (script/fetch-data-sources makes it)")
    parser.add_argument("--share", type=float, default=1.0,
                        help="share of each speaker's further real train clips twinned (default 1.0: all)")
    parser.add_argument("--jobs", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not 0.0 <= args.share <= 1.0 or args.jobs < 1:
        parser.error("--share must be within 0-1 and --jobs at least 1")
    version_file = args.models.parents[1] / ".source-version"
    version = version_file.read_text().strip() if version_file.is_file() else "unknown"
    try:
        Lyra(args.models)  # fail early and in one line on a missing runtime or model
        count = make_twins(args.data, LyraFactory(args.models), args.share, args.jobs, version, args.seed)
    except (LyraError, FileNotFoundError) as exc:
        print(f"voxwatch: error: {exc}", file=sys.stderr)
        return 2
    print(f"{count} twins in {args.data / SLUG}; {args.data / 'manifest.csv'} merged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
