"""Glow-TTS (Kim et al., NeurIPS 2020) demo page: one flat ``wavs`` folder, so each file is named by the page.

Columns say ``GT``, ``GT(WaveGlow)`` (WaveGlow resynthesis), ``Tacotron 2`` (with WaveGlow), ``Glow-TTS`` at
several temperatures (WaveGlow) and ``Glow-TTS*`` (HiFi-GAN, added after the paper); the diversity, duration,
speaker and voice-conversion tables are Glow-TTS. No licence is stated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import REAL, Fake, Verdict, label_checkout, rules_from_page
from lab.data.source_clip import SourceClip

PHRASES = (
    (r"^gt$", REAL),
    (r"^gt\(waveglow\)$", Fake("waveglow")),
    (r"^glow-tts\*", Fake("glow-tts-hifigan")),
    (r"^tacotron 2$", Fake("tacotron2-waveglow")),
    (r"glow-tts|duration|gaussian noise|temperature|^libritts \d+$|voice conversion|diversity", Fake("glow-tts")),
)


def _speaker(relpath: str, verdict: Verdict) -> str:
    """``lj_*`` and the single-speaker tables are LJSpeech; ``lb_<n>``, ``sd_<n>`` and ``vc_<a>_<b>`` LibriTTS."""
    name = relpath.rsplit("/", 1)[-1].removesuffix(".wav")
    if match := re.match(r"vc_\d+_(\d+)$", name):
        return f"libritts-{match.group(1)}"
    if match := re.match(r"(lb|sd)_(\d+)", name):
        return f"libritts-example{match.group(2)}"
    return "ljspeech"


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    rules = rules_from_page((root / "index.html").read_text(encoding="utf-8"), PHRASES)
    return label_checkout(root, version, rules, speaker=_speaker)
