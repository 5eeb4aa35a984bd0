"""Dataset adapters: turn a corpus on disk into a list of labelled clips with a split.

Four layouts are understood (``--format auto`` picks the first that fits):

* ``manifest``: a folder with ``manifest.csv`` (path,label,source,speaker,split[,duration_s,...]), labels
  ``bonafide``/``spoof`` (``real``/``fake`` also accepted); the voxwatch corpus format. A split filled in on
  every row is kept as written (a set that is all ``train`` is a training-only supplement); without a split
  column, dev/test come from speaker hashes as below.
* ``folder``: ``real/`` + ``fake/`` folders of audio (Fake-or-Real style). When ``training/``, ``validation/``
  and ``testing/`` sub-folders exist (either ``training/real`` or ``real/training``), they give the splits;
  otherwise every file is in split ``train`` and :func:`assign_splits` makes dev/test by file hash.
* ``asvspoof``: ASVspoof 2019 LA: protocol files ``*.cm.train.trn.txt`` / ``*.cm.dev.trl.txt`` /
  ``*.cm.eval.trl.txt`` (lines ``SPEAKER FILE - SYSTEM LABEL``) and ``flac/`` folders, searched recursively.
* ``itw``: In-the-Wild: ``meta.csv`` with columns file,speaker,label (``bona-fide``/``spoof``); splits by
  speaker hash, so that speakers never cross splits.

Only paths and labels are read here; audio is decoded later (voxwatch.training.windows).
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from voxwatch.errors import VoxwatchError

FORMATS = ("auto", "manifest", "folder", "asvspoof", "itw")
MANIFEST_COLUMNS = ("path", "label", "source", "speaker", "split", "duration_s", "license")
SPLITS = ("train", "dev", "test")
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
REAL_LABELS = {"bonafide", "bona-fide", "bona_fide", "real", "genuine", "0"}
FAKE_LABELS = {"spoof", "fake", "synthetic", "1"}


class DatasetError(VoxwatchError):
    """The dataset folder is missing, has an unknown layout or an invalid entry."""


@dataclass(frozen=True)
class Clip:
    """One labelled audio file. ``label`` is 1 for machine-generated (fake), 0 for real speech."""

    path: Path
    label: int
    source: str
    speaker: str
    split: str
    duration_s: float = 0.0  # from a manifest's duration_s column; 0 where the layout does not say
    family: str = ""  # generator family from a manifest's family column (data builder sets); "" where unknown
    license: str = ""  # a manifest's license column; "" where the layout does not say

    @property
    def label_name(self) -> str:
        return "fake" if self.label else "real"


def parse_label(value: str, where: str) -> int:
    text = value.strip().lower()
    if text in REAL_LABELS:
        return 0
    if text in FAKE_LABELS:
        return 1
    raise DatasetError(f"{where}: unknown label {value!r} (expected bonafide/real or spoof/fake)")


def _hash_split(key: str, dev: float = 0.1, test: float = 0.1) -> str:
    """A stable split from a key (file or speaker): the same key always lands in the same split."""
    u = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if u < test:
        return "test"
    if u < test + dev:
        return "dev"
    return "train"


def assign_splits(clips: list[Clip]) -> list[Clip]:
    """If a layout gave no dev/test clips, derive them from speaker (or file) hashes: 80/10/10."""
    if any(c.split != "train" for c in clips):
        return clips
    return [replace(c, split=_hash_split(c.speaker or c.path.name)) for c in clips]


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value or 0.0))
    except ValueError:
        return 0.0


def load_manifest(root: Path) -> list[Clip]:
    manifest = root / "manifest.csv"
    clips = []
    with open(manifest, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"path", "label"} - set(reader.fieldnames or [])
        explicit = "split" in (reader.fieldnames or [])
        if missing:
            raise DatasetError(f"{manifest}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            where = f"{manifest}:{line}"
            explicit = explicit and bool((row.get("split") or "").strip())
            split = (row.get("split") or "train").strip()
            if split not in SPLITS:
                raise DatasetError(f"{where}: unknown split {split!r} (expected {'/'.join(SPLITS)})")
            clips.append(Clip(root / row["path"], parse_label(row["label"], where), row.get("source") or "unknown",
                              row.get("speaker") or "", split, _seconds(row.get("duration_s")),
                              (row.get("family") or "").strip(), (row.get("license") or "").strip()))
    # A split column filled on every row is the author's word, even when it says "train" throughout (a
    # training-only supplement such as vocoded twins); only manifests without one get hashed splits.
    return clips if explicit else assign_splits(clips)


_FOLDER_SPLITS = {"training": "train", "train": "train", "validation": "dev", "valid": "dev", "dev": "dev",
                  "testing": "test", "test": "test", "eval": "test"}


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())


def load_folder(root: Path) -> list[Clip]:
    """``real/`` + ``fake/``; split folders either above (``training/real``) or below (``real/training``)."""
    clips: list[Clip] = []
    split_dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name.lower() in _FOLDER_SPLITS]
    if split_dirs:
        for split_dir in split_dirs:
            for label, name in ((0, "real"), (1, "fake")):
                for path in _audio_files(split_dir / name) if (split_dir / name).is_dir() else []:
                    clips.append(Clip(path, label, f"folder-{name}", "", _FOLDER_SPLITS[split_dir.name.lower()]))
        return assign_splits(clips)
    for label, name in ((0, "real"), (1, "fake")):
        folder = root / name
        if not folder.is_dir():
            continue
        for path in _audio_files(folder):
            rel = path.relative_to(folder).parts
            split = _FOLDER_SPLITS.get(rel[0].lower(), "train") if len(rel) > 1 else "train"
            clips.append(Clip(path, label, f"folder-{name}", "", split))
    return assign_splits(clips)


_ASV_SPLITS = {"train": "train", "dev": "dev", "eval": "test"}


def load_asvspoof(root: Path) -> list[Clip]:
    """ASVspoof 2019 LA protocols: ``SPEAKER FILE - SYSTEM LABEL``; audio ``FILE.flac`` anywhere under root."""
    flacs = {p.stem: p for p in root.rglob("*.flac")}
    clips = []
    for protocol in sorted(root.rglob("*.cm.*.txt")):
        kind = protocol.name.split(".cm.")[1].split(".")[0]
        if kind not in _ASV_SPLITS:
            continue
        for line_no, line in enumerate(protocol.read_text().splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 5:
                raise DatasetError(f"{protocol}:{line_no}: expected 'SPEAKER FILE - SYSTEM LABEL'")
            speaker, name, _, system, label = parts[:5]
            path = flacs.get(name)
            if path is None:
                raise DatasetError(f"{protocol}:{line_no}: audio {name}.flac not found under {root}")
            source = "bonafide" if system == "-" else system
            clips.append(Clip(path, parse_label(label, f"{protocol}:{line_no}"), source, speaker, _ASV_SPLITS[kind]))
    return clips


def load_itw(root: Path) -> list[Clip]:
    """In-the-Wild ``meta.csv`` (file,speaker,label); speakers are split 80/10/10 by hash."""
    meta = root / "meta.csv"
    clips = []
    with open(meta, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "speaker", "label"} - set(reader.fieldnames or [])
        if missing:
            raise DatasetError(f"{meta}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            label = parse_label(row["label"], f"{meta}:{line}")
            speaker = row["speaker"].strip()
            clips.append(Clip(root / row["file"], label, "itw-" + ("spoof" if label else "bonafide"), speaker,
                              _hash_split(speaker)))
    return clips


def detect_format(root: Path) -> str:
    if (root / "manifest.csv").is_file():
        return "manifest"
    if (root / "meta.csv").is_file():
        return "itw"
    if next(root.rglob("*.cm.*.txt"), None) is not None:
        return "asvspoof"
    names = {p.name.lower() for p in root.iterdir() if p.is_dir()}
    if {"real", "fake"} & names or any(
        (root / d / "real").is_dir() or (root / d / "fake").is_dir() for d in names if d in _FOLDER_SPLITS
    ):
        return "folder"
    raise DatasetError(f"{root}: unknown dataset layout (no manifest.csv, meta.csv, ASVspoof protocol or real/+fake/)")


_LOADERS = {"manifest": load_manifest, "folder": load_folder, "asvspoof": load_asvspoof, "itw": load_itw}


def load_dataset(path: Path | str, fmt: str = "auto") -> list[Clip]:
    """All clips of a dataset, any split. Raises DatasetError (one line) on a bad path or layout."""
    root = Path(path)
    if fmt not in FORMATS:
        raise DatasetError(f"unknown dataset format {fmt!r} (expected one of {', '.join(FORMATS)})")
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder not found")
    fmt = detect_format(root) if fmt == "auto" else fmt
    try:
        clips = _LOADERS[fmt](root)
    except FileNotFoundError as exc:
        raise DatasetError(f"{root}: not a {fmt} dataset ({exc.filename} missing)") from None
    if not clips:
        raise DatasetError(f"{root}: no clips found ({fmt} layout)")
    return clips


def load_datasets(paths: list[Path | str] | Path | str, fmt: str = "auto") -> list[Clip]:
    """Several datasets as one list of clips (each keeps its own splits), e.g. two corpora trained together."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    clips: list[Clip] = []
    for path in paths:
        clips.extend(load_dataset(path, fmt))
    return clips


def select(clips: list[Clip], split: str) -> list[Clip]:
    return [c for c in clips if c.split == split]


def require_both_classes(**splits: list[Clip]) -> None:
    """Training needs real and fake clips in each of these splits (``train=..., dev=...``)."""
    for name, part in splits.items():
        if not part or len({c.label for c in part}) < 2:
            raise DatasetError(f"split {name!r} needs clips of both classes (has {len(part)} clips)")


def summarize(clips: list[Clip]) -> dict:
    """Counts per split/label/source, hours of real and fake speech, fake families, clips per licence and the
    licence of each source, for the model card.

    Hours come from the manifests' ``duration_s`` (0 for layouts without it); families from their ``family``
    column (the data builder writes it), so clips of older sets count under no family.
    """
    out: dict = {}
    for split in SPLITS:
        part = select(clips, split)
        if not part:
            continue
        licences: dict[str, set[str]] = {}
        for c in part:
            licences.setdefault(c.source, set()).add(c.license or "not stated")
        out[split] = {
            "clips": len(part),
            "real": sum(1 for c in part if c.label == 0),
            "fake": sum(1 for c in part if c.label == 1),
            "sources": dict(sorted(Counter(c.source for c in part).items())),
            "real_hours": round(sum(c.duration_s for c in part if c.label == 0) / 3600, 3),
            "fake_hours": round(sum(c.duration_s for c in part if c.label == 1) / 3600, 3),
            "families": sorted({c.family for c in part if c.label == 1 and c.family}),
            "licenses": dict(sorted(Counter(c.license or "not stated" for c in part).items())),
            "source_licenses": {source: sorted(names) for source, names in sorted(licences.items())},
        }
    return out


def write_manifest(out: Path, rows: list[list[str]]) -> Path:
    """Write ``out/manifest.csv`` in the corpus format (rows in :data:`MANIFEST_COLUMNS` order); returns its path.

    The generators of training supplements (vocoded twins, extra voices, extra real speech) all write this, so
    that each output folder is one more ``--data``.
    """
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)
    return manifest
