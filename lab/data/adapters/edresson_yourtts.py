"""YourTTS (Casanova et al., 2022) demo page, branch gh-pages: zero-shot TTS and voice conversion.

``GT`` and ``reference`` hold the real recordings (VCTK, LibriTTS, MLS-Portuguese and the speaker-adaptation
voices); ``SC-GlowTTS-Trans`` the paper's SC-GlowTTS baseline. ``Exp.1``-``Exp.5`` hold YourTTS speech of VCTK,
LibriTTS and MLS-Portuguese speakers (checkpoints with and without the speaker-consistency loss, and fine-tuned on a
minute of speech): all one system. ``Exp.6`` holds voice conversion: ``generated/`` (YourTTS) and ``reference/``
(real target-speaker prompts). Zip files (``GT.zip``) are not read. The licence (CC BY-NC-ND 4.0) is in the
``LICENSE`` of the repository's main branch; gh-pages itself has none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import REAL, Fake, Rule, Verdict, label_checkout
from lab.data.source_clip import SourceClip

RULES = (
    Rule(r"^audios_demo/(Exp\.6/[^/]+/[^/]+/reference|reference|GT)/", REAL),
    Rule(r"^audios_demo/Exp\.6/[^/]+/[^/]+/generated/", Fake("yourtts")),
    Rule(r"^audios_demo/Exp\.[1-5]/", Fake("yourtts")),
    Rule(r"^audios_demo/SC-GlowTTS-Trans/", Fake("sc-glowtts")),
)


def _speaker(relpath: str, verdict: Verdict) -> str:
    """VCTK ``p225``, LibriTTS or MLS-Portuguese numeric ids (the conversion target after ``_to_``), else the name."""
    target = relpath.rsplit("/", 1)[-1].removesuffix(".wav").split("_to_")[-1]
    if match := re.match(r"p\d{3}", target):
        return f"vctk-{match.group()}"
    if match := re.match(r"(\d+)_", target):
        corpus = "mls" if re.search(r"Portuguese|-PT/", relpath) else "libritts"
        return f"{corpus}-{match.group(1)}"
    if match := re.search(r"/(SC-GlowTTS-Trans|Speaker_Adaptation)/([^/]+)/", relpath):
        return match.group(2)  # "p225", "female-en-5"
    return target.split(".")[0]  # "EN-F.wav_3": the fine-tuning speaker of Exp.5


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    return label_checkout(root, version, RULES, speaker=_speaker)
