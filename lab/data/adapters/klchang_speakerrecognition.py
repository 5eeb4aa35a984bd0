"""Real telephone speech: 83 Indian speakers reading digit strings over an IVR line at 8 kHz (2011).

The README (``audio_data/README.txt``) states no licence and asks for a citation, so the clips are for evaluation
only. Folders are ``{female,male}_audio/<F|M>_<id>/<id>_<line>.wav``; the folder names the speaker.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import REAL, Rule, Verdict, label_checkout
from lab.data.source_clip import SourceClip

RULES = (Rule(r"^audio_data/(fe)?male_audio/[FM]_\d+/", REAL),)


def _speaker(relpath: str, verdict: Verdict) -> str:
    return relpath.split("/")[2]


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    return label_checkout(root, version, RULES, speaker=_speaker)
