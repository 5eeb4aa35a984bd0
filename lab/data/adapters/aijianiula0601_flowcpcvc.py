"""FlowCPCVC (Interspeech 2022) demo page, branch gh-pages: any-to-any VC against FragmentVC, MediumVC and VQMIVC.

``source_target_wavs/<src>_to_<tgt>/`` holds the real source and target prompt of each conversion, and each
converter folder its output. Two targets (``en-US-AriaNeural``, ``en-US-ElizabethNeural``) are themselves Microsoft
Azure neural TTS, a system no page here names, so those prompts are skipped (the conversions to them stay fakes).
In ``any2many/flowcpcvc`` a name with ``_to_p<id>`` is a conversion, one without is its real source. No licence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import (
    REAL,
    Fake,
    Rule,
    Skip,
    Verdict,
    corpus_speaker,
    label_checkout,
)
from lab.data.source_clip import SourceClip

RULES = (
    Rule(r"/source_target_wavs/[^/]+/en-US-\w+Neural", Skip("target prompt made by Azure neural TTS, not real")),
    Rule(r"/(source_target_wavs|target_tone_wavs)/", REAL),
    Rule(r"^any2many/flowcpcvc/[^/]+_to_p\d{3}\.wav$", Fake("flowcpcvc")),
    Rule(r"^any2many/flowcpcvc/[^/]+\.wav$", REAL),
    Rule(r"/flowcpcvc/", Fake("flowcpcvc")),
    Rule(r"/fragementvc/", Fake("fragmentvc")),
    Rule(r"/mediumvc/", Fake("mediumvc")),
    Rule(r"/vqmivc/", Fake("vqmivc")),
)


def _speaker(relpath: str, verdict: Verdict) -> str:
    """The target after ``_to_`` (or the file's own speaker): a corpus id, else the name's first part (ESD ``0011``)."""
    name = relpath.rsplit("/", 1)[-1].removesuffix(".wav").split("_to_")[-1]
    return corpus_speaker(name) or re.split(r"[_]", name)[0]


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    return label_checkout(root, version, RULES, speaker=_speaker)
