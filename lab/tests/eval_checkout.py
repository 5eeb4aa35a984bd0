"""A tiny generated checkout for the evaluation-only adapter tests: a few distinct wav files and page files."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import soundfile as sf


def make_checkout(root: Path, audio: list[str], texts: dict[str, str] | None = None) -> Path:
    """Writes each ``audio`` path as a short tone whose pitch depends on the path (so no two files are equal)."""
    for relpath in audio:
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        hz = 100 + zlib.crc32(relpath.encode()) % 3000
        tone = 0.1 * np.sin(2 * np.pi * hz * np.arange(800) / 16000)
        sf.write(path, tone.astype(np.float32), 16000, format="WAV")
    for relpath, text in (texts or {}).items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text, encoding="utf-8")
    return root


def by_path(clips, root: Path) -> dict:
    """The adapter's clips keyed by their path inside the checkout."""
    return {clip.audio.relative_to(root).as_posix(): clip for clip in clips}
