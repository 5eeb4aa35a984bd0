"""speechocean762: 5,245 English sentences read by 250 Mandarin speakers (adults and children), 16 kHz.

Real read speech of many speakers is what the labelled sets lack most; it is the one source whose speakers are
also held out for dev and test (catalogue ``dev_speakers`` / ``test_speakers``: about 4% and 6% of them), so that
the real speech of dev and test includes read sentences and not only telephone digits and talk shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lab.data.adapters import audio_files, stamp
from lab.data.source_clip import SourceClip


def clips(root: Path, version: str) -> Iterator[SourceClip]:
    make = stamp(root, version)
    for path in audio_files(root / "WAVE"):  # WAVE/SPEAKER0001/000010011.WAV
        yield make(audio=path, label="bonafide", system="ground-truth", family="real",
                   speaker=f"speechocean762-{path.parent.name.lower()}")
