"""StyleTTS 2 (Li et al., 2023) demo page: StyleTTS 2 against JETS, VITS, StyleTTS, FastDiff, VALL-E, YourTTS.

``wavs/LJSpeech/ID`` and ``wavs/LibriTTS`` hold NaturalSpeech and NaturalSpeech 2 samples, so both folders are
reserved and dropped whole by the shared rule. ``GT`` and ``Ref`` (the zero-shot reference speech) are real;
``Emotion``, ``Ablation`` and the unseen-speaker ``Variation`` clips are StyleTTS 2. No licence is stated.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import REAL, Fake, Rule, Verdict, corpus_speaker, label_checkout
from lab.data.source_clip import SourceClip

RULES = (
    Rule(r"(?i)/(gt|ref)[/.]", REAL),
    Rule(r"(?i)/styletts2[/.]|^wavs/(Emotion|Ablation|Variation/LibriTTS)/", Fake("styletts2")),
    Rule(r"(?i)/styletts[/.]", Fake("styletts")),
    Rule(r"(?i)/jets[/.]", Fake("jets")),
    Rule(r"(?i)/vits[/.]", Fake("vits")),
    Rule(r"/FastDiff/", Fake("fastdiff")),
)


def _speaker(relpath: str, verdict: Verdict) -> str:
    """VCTK names carry the speaker; the rest is LJSpeech's voice or, under ``LibriTTS``, an unnamed one."""
    return corpus_speaker(relpath.rsplit("/", 1)[-1]) or ("libritts-unnamed" if "LibriTTS" in relpath else "ljspeech")


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    return label_checkout(root, version, RULES, speaker=_speaker)
