"""LVC-VC (Kang et al., 2023) demo page, branch gh-pages: zero-shot VC on VCTK against six VC systems.

``vctk_orig`` holds the real source and target utterances; each other folder one converter (``autovc_f0`` is
AutoVC, ``lvc_vc_xl`` LVC-VC). The anonymisation folders (``vctk_anon``, ``lvn_anon``, commented out of the page)
pair a real utterance with its ``_anon`` version made by LVC-VC. No licence is stated.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import (
    REAL,
    Fake,
    Rule,
    Verdict,
    label_checkout,
    speaker_from_name,
)
from lab.data.source_clip import SourceClip

RULES = (
    Rule(r"_anon\.wav$", Fake("lvc-vc")),
    Rule(r"^audio/(vctk_orig|vctk_anon|lvn_anon)/", REAL),
    Rule(r"^audio/adain/", Fake("adain-vc")),
    Rule(r"^audio/again/", Fake("again-vc")),
    Rule(r"^audio/autovc(_f0)?/", Fake("autovc")),
    Rule(r"^audio/blow/", Fake("blow")),
    Rule(r"^audio/lvc_vc(_xl)?/", Fake("lvc-vc")),
    Rule(r"^audio/nvcnet/", Fake("nvc-net")),
)


def _speaker(relpath: str, verdict: Verdict) -> str:
    """VCTK ids (the target of a conversion); Local Voices Network speakers by first name."""
    if relpath.startswith("audio/lvn_anon/"):
        return "lvn-" + relpath.rsplit("/", 1)[-1].split("_")[0]
    return speaker_from_name(relpath, verdict)


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    return label_checkout(root, version, RULES, speaker=_speaker)
