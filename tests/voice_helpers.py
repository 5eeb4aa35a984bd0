"""Audio for the clone-watch tests: espeak-ng speech (synthesised here) and clips of the shared corpus."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "data" / "corpus"

SENTENCES = [
    "The quick brown fox jumps over the lazy dog while the farmer watches from the old wooden gate.",
    "Seven silver swans swam silently across the cold lake before the morning bells began to ring.",
    "Please call Stella and ask her to bring these things with her from the store on the corner.",
    "A large red truck rolled slowly down the hill and stopped beside the bakery near the station.",
]


def espeak(path: Path, text: str, voice: str = "en-us", speed: int = 150) -> Path:
    """``text`` spoken by espeak-ng into ``path`` (22.05 kHz WAV)."""
    from conftest import require_tool

    require_tool("espeak-ng")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True,
                   capture_output=True, timeout=60)
    return path


def corpus_clips(source: str, speaker: str | None = None, n: int | None = None) -> list[Path]:
    """Real clips of the shared corpus (``../shared/data/corpus``); skips when it is not beside the repository."""
    manifest = CORPUS / "manifest.csv"
    if not manifest.is_file():
        if os.environ.get("VOXWATCH_REQUIRE_ALL_TESTS"):
            pytest.fail(f"{manifest} missing")
        pytest.skip("the shared corpus is not beside the repository")
    with open(manifest, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["label"] == "bonafide" and r["source"] == source
                and (speaker is None or r["speaker"] == speaker) and float(r["duration_s"]) >= 4.0]
    return [CORPUS / r["path"] for r in rows[:n]]
