"""The loop every generator shares: get a clip's audio, write it as FLAC, list it in a train-only manifest.

Why one place: the generators differ only in where their audio comes from (a TTS engine, a game's dialogue, a
vocoder run over real speech); what they write is a contract with ``voxwatch train --data``: 16-bit FLAC at
``SAMPLE_RATE`` under ``OUT/audio/``, and ``OUT/manifest.csv`` in the corpus format with absolute paths and every
row in split ``train`` (dev and test stay those of the labelled sets, so runs remain comparable). Written once,
a generator cannot drift from it.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.training.datasets import write_manifest
from voxwatch.training.pool import counting

GENERATED = "generated locally"  # the licence column of audio made on this machine


@dataclass(frozen=True)
class GeneratedClip:
    """One clip a generator made, before it is written: mono float audio at ``SAMPLE_RATE`` and its row."""

    name: str  # file name without extension, unique within the output folder
    audio: np.ndarray
    label: Literal["bonafide", "spoof"]
    source: str
    speaker: str
    license: str = GENERATED


def synthesise_audio(speak: Callable[[Path], None]) -> np.ndarray | None:
    """Run ``speak(wav)``, a TTS command that writes a WAV file; its audio at ``SAMPLE_RATE`` mono, or None when the
    command failed, timed out or wrote nothing (engines crash on the odd string: the caller takes another)."""
    from voxwatch.pipeline.sources import load_audio

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "tts.wav"  # pico2wave insists on a .wav name
        try:
            speak(wav)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return None
        if not wav.is_file() or wav.stat().st_size <= 44:  # a bare WAV header
            return None
        return load_audio(str(wav))


def write_clip(out: Path, clip: GeneratedClip) -> list[str]:
    """Write ``clip`` as ``OUT/audio/NAME.flac``; returns its manifest row (split ``train``)."""
    import soundfile as sf

    path = (out / "audio" / f"{clip.name}.flac").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(clip.audio, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16")
    return [str(path), clip.label, clip.source, clip.speaker, "train", f"{len(clip.audio) / SAMPLE_RATE:.2f}",
            clip.license]


def write_set(out: Path, clips: Iterable[GeneratedClip], total: int | None = None, what: str = "clips",
              rows_before: Iterable[list[str]] = ()) -> list[list[str]]:
    """Write every clip as it comes (a progress bar counts them), then the manifest: ``rows_before`` (rows of
    another set to join, in manifest column order) and one row per clip. Returns the manifest's rows."""
    rows = [list(row) for row in rows_before]
    (out / "audio").mkdir(parents=True, exist_ok=True)
    with counting(what, total, transient=True) as advance:
        for clip in clips:
            rows.append(write_clip(out, clip))
            advance()
    write_manifest(out, rows)
    return rows
