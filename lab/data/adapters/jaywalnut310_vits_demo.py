"""VITS (Kim et al., ICML 2021) demo page: one flat ``wavs`` folder, so each file is named by the page's table.

Rows and columns say ``Ground Truth``, ``Tacotron 2 + HiFi-GAN``, ``Glow-TTS + HiFi-GAN`` (both also fine-tuned),
``VITS`` and its variants (DDP, multi-speaker, ablations), and ``VCTK <id>`` in the VITS voice-conversion table.
No licence is stated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import (
    REAL,
    Fake,
    Verdict,
    label_checkout,
    rules_from_page,
)
from lab.data.source_clip import SourceClip

PHRASES = (
    (r"^ground truth$", REAL),
    (r"tacotron 2", Fake("tacotron2-hifigan")),
    (r"glow-tts", Fake("glow-tts-hifigan")),
    (r"vits|normalizing flow|mel-spectrogram|^vctk \d+$|^audio samples from", Fake("vits")),
)


def _speaker(relpath: str, verdict: Verdict) -> str:
    """LJSpeech for the single-speaker tables; VCTK speakers are not named per file, so by example number."""
    name = relpath.rsplit("/", 1)[-1].removesuffix(".wav")
    if match := re.match(r"ms_(\d+)_", name):
        return f"vctk-example{match.group(1)}"
    if match := re.match(r"vc_\d+_(\d+)", name):
        return f"vctk-vc-target{match.group(1)}"
    return "vctk-unnamed" if name.endswith("_ms") else "ljspeech"


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    rules = rules_from_page((root / "index.html").read_text(encoding="utf-8"), PHRASES)
    return label_checkout(root, version, rules, speaker=_speaker)
