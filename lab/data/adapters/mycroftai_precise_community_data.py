"""Mycroft Precise community data: wake words and other short phrases, contributed under public-domain waivers.

The ``heysavant`` collection is under CC BY-NC-SA and is not listed in the catalogue's paths; ``noises`` are not
speech and are skipped. Contributors are not named per file, so the speaker is the collection (wake word and
language): a lower bound on the voices, never used to split (all of it is training data).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lab.data.adapters import audio_files, stamp
from lab.data.source_clip import SourceClip


def clips(root: Path, version: str) -> Iterator[SourceClip]:
    make = stamp(root, version)
    for path in audio_files(root):
        parts = path.relative_to(root).parts
        if "noises" in parts or parts[0] == "heysavant" or len(parts) < 3:
            continue
        yield make(audio=path, label="bonafide", system="ground-truth", family="real",
                   speaker=f"precise-{parts[0]}-{parts[1]}")
