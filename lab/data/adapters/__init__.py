"""Source adapters of the data builder: one module per checkout, each with ``clips(root, version)``.

An adapter only finds and labels the audio files of its checkout (``root`` is ``--checkouts DIR/<slug>``) and
yields :class:`~lab.data.source_clip.SourceClip`; the builder does everything else.
:func:`stamp` fills the provenance fields from the catalogue entry the checkout folder is named after, so a
licence or a use is written in one place only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from lab.data.data_sources import by_slug
from lab.data.source_clip import SourceClip

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus")


def stamp(root: Path, version: str) -> Callable[..., SourceClip]:
    """``SourceClip`` with source, version, licence and use of the catalogue entry named ``root.name``."""
    source = by_slug().get(root.name)
    if source is None:
        raise ValueError(f"{root.name}: no catalogue entry has this slug (lab.data.data_sources)")
    return functools.partial(SourceClip, source=source.repo, version=version, license=source.license, use=source.use)


def audio_files(folder: Path) -> list[Path]:
    """Audio files under ``folder``, sorted, by suffix (any case)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
