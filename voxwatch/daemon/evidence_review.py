"""Reviewing the evidence store: its clips newest first, one clip found by name without ever leaving the store's
directory, and a clip labelled real or fake.

A label is where the clip lives, as ``voxwatch.daemon.evidence`` describes: a person's verdict moves the clip (the
FLAC and its sidecar) into ``real/`` or ``fake/``, the folder layout the training "folder" adapter reads
(``voxwatch train --data DIR``), and the sidecar's ``"label"`` says the same. A move keeps the store's promise that
a ``.flac`` under its final name always has its complete sidecar: the new sidecar is written to a hidden temporary
file in the target folder and renamed into place first, then the FLAC is renamed beside it (each rename atomic),
and only then is the old sidecar removed. A crash in between leaves the clip where it was, still whole.

Names come from the outside (a URL), so a clip is looked up only by a name of the store's own form (no path
separators, no leading dot) in the top directory, ``real/`` or ``fake/``; symbolic links (a clip, or a label
folder) are never followed, and a resolved path must still be a direct child of its folder.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from voxwatch.daemon.evidence import CLIP_NAME, write_private
from voxwatch.errors import VoxwatchError

Label = Literal["real", "fake"]
LABEL_DIRS: tuple[Label, ...] = get_args(Label)  # the folders the training "folder" adapter reads (load_folder)
CLIP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,200}")  # the characters of a clip's name (stream ids are safe)


class ClipNotFound(VoxwatchError):
    """No clip of that name in the store (or a name that could not be one)."""


@dataclass(frozen=True)
class ReviewClip:
    """One clip: its name (the file stem), where it lives, its label (None: not reviewed yet) and its sidecar."""

    id: str
    flac: Path
    label: Label | None
    sidecar: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """The sidecar's alert fields a reviewer scans, with the label the clip's folder gives it."""
        keys = ("stream", "ts", "score", "threshold", "start_s", "end_s", "early", "source", "clip", "daemon")
        return {"id": self.id, "label": self.label, **{k: self.sidecar.get(k) for k in keys}}


def is_clip_id(name: str) -> bool:
    """A name the store could have written: its own characters and the ``-uNNNN-xxxxxx`` ending."""
    return bool(CLIP_ID.fullmatch(name)) and bool(CLIP_NAME.search(name))


class EvidenceReview:
    """Read and label the clips under one evidence directory (the daemon may be writing there at the same time)."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory).resolve()  # the store itself may sit behind a link; nothing inside it may

    def _folders(self) -> list[tuple[Label | None, Path]]:
        """The top directory and the label folders that are real folders inside it (a symlink is skipped)."""
        out: list[tuple[Label | None, Path]] = []
        if not _is_real_dir(self.dir):
            return out
        out.append((None, self.dir))
        for label in LABEL_DIRS:
            folder = self.dir / label
            if _is_real_dir(folder):
                out.append((label, folder))  # type: ignore[arg-type]
        return out

    def count_and_page(self, offset: int = 0, limit: int = 20) -> tuple[int, list[ReviewClip]]:
        """All clips newest first (a clip's name starts with its UTC time); returns the total and one page."""
        found: list[tuple[str, Label | None, Path]] = []
        for label, folder in self._folders():
            for entry in os.scandir(folder):
                stem, dot, ext = entry.name.rpartition(".")
                if dot and ext == "flac" and is_clip_id(stem) and entry.is_file(follow_symlinks=False):
                    found.append((stem, label, Path(entry.path)))
        found.sort(key=lambda item: item[0], reverse=True)
        page = found[max(0, offset): max(0, offset) + max(0, limit)]
        return len(found), [ReviewClip(stem, path, label, _read_sidecar(path)) for stem, label, path in page]

    def find(self, clip_id: str) -> ReviewClip:
        """The clip of that name; ``ClipNotFound`` for any name that is not a clip inside the store."""
        if not is_clip_id(clip_id):
            raise ClipNotFound(f"no evidence clip {clip_id!r}")
        for label, folder in self._folders():
            flac = folder / f"{clip_id}.flac"
            try:
                mode = flac.lstat().st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode) and flac.resolve().parent == folder.resolve():
                return ReviewClip(clip_id, flac, label, _read_sidecar(flac))
        raise ClipNotFound(f"no evidence clip {clip_id!r}")

    def label(self, clip_id: str, label: Label) -> ReviewClip:
        """Move the clip into ``label``'s folder and record the label in its sidecar (see the module docstring)."""
        if label not in LABEL_DIRS:
            raise VoxwatchError(f"label must be one of {', '.join(LABEL_DIRS)}, not {label!r}")
        clip = self.find(clip_id)
        target = self.dir / label
        if not target.exists():
            target.mkdir(mode=0o700)
        if not _is_real_dir(target):
            raise VoxwatchError(f"{target} is not a directory inside the evidence store")
        sidecar = {**clip.sidecar, "label": label}
        new_flac = target / clip.flac.name
        new_json = new_flac.with_suffix(".json")
        old_json = clip.flac.with_suffix(".json")
        if clip.label != label:
            tmp = write_private(new_json, lambda handle: handle.write(json.dumps(sidecar, indent=1).encode() + b"\n"))
            try:
                os.replace(tmp, new_json)
                os.replace(clip.flac, new_flac)
            except BaseException as exc:  # the clip stays where it was, whole; no stray sidecar in the target
                tmp.unlink(missing_ok=True)
                new_json.unlink(missing_ok=True)
                if isinstance(exc, FileNotFoundError):  # the daemon's caps deleted the clip meanwhile
                    raise ClipNotFound(f"evidence clip {clip_id!r} was removed meanwhile") from None
                raise
            old_json.unlink(missing_ok=True)
        elif clip.sidecar.get("label") != label:  # placed by hand without the sidecar saying so
            os.replace(write_private(new_json, lambda h: h.write(json.dumps(sidecar, indent=1).encode() + b"\n")),
                       new_json)
        return ReviewClip(clip_id, new_flac, label, sidecar)


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def _read_sidecar(flac: Path) -> dict[str, Any]:
    """The clip's sidecar, or {} when it is missing or unreadable (a clip is still worth hearing)."""
    try:
        data = json.loads(flac.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
