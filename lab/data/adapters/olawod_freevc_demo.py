"""FreeVC (Li et al., ICASSP 2023) demo page: zero-shot VC against BNE-PPG-VC, VQMIVC and YourTTS.

``data/wavs`` holds the real source and target utterances (``<F|M>_<speaker>_<utt>``); each other folder of
``data`` one converter (``freevc-s``/``freevc-spk``/``freevc-sr`` are FreeVC variants), named
``<source>-<target>``. ``data/sr`` (spectrogram-resize augmentation: real speech reshaped and resynthesised) is
skipped as neither class. No licence is stated.
"""

from __future__ import annotations

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
    Rule(r"^data/sr/", Skip("spectrogram-resize augmentation of real speech, resynthesised: neither class")),
    Rule(r"^data/wavs/", REAL),
    Rule(r"^data/freevc(-s|-spk|-sr)?/", Fake("freevc")),
    Rule(r"^data/bne-ppg-vc/", Fake("bne-ppg-vc")),
    Rule(r"^data/vqmivc/", Fake("vqmivc")),
    Rule(r"^data/yourtts/", Fake("yourtts")),
)


def _speaker(relpath: str, verdict: Verdict) -> str:
    """The target (after ``-``) without its ``F_``/``M_`` tag: a VCTK or LibriTTS id."""
    target = relpath.rsplit("/", 1)[-1].removesuffix(".wav").split("-")[-1][2:]
    return corpus_speaker(target) or target


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    return label_checkout(root, version, RULES, speaker=_speaker)
