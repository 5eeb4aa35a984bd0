"""Real emotional Urdu speech cut from YouTube talk shows: 400 utterances of 38 speakers in four emotion folders.

The README allows use "only for research purposes", so the clips are for evaluation only. File names are
``S<gender><speaker>_F<file>_<emotion><n>.wav``; the first part names the speaker in every emotion folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import REAL, Rule, Verdict, label_checkout
from lab.data.source_clip import SourceClip

RULES = (Rule(r"^(Angry|Happy|Neutral|Sad)/S[MF]\d+_", REAL),)


def _speaker(relpath: str, verdict: Verdict) -> str:
    return relpath.rsplit("/", 1)[-1].split("_")[0]


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    return label_checkout(root, version, RULES, speaker=_speaker)
