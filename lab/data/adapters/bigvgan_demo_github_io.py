"""BigVGAN (Lee et al., ICLR 2023) demo page: universal vocoders resynthesising the same recordings.

Each folder of ``samples`` is one vocoder (``gt`` is the recording); ``bigvgan-base`` and the ablation
``mrd_snake`` are BigVGAN, ``bighifigan`` and ``hifigan_mrd`` are HiFi-GAN. The ``ltother`` clips (LibriTTS
test-other) are reserved and dropped by the shared rule; music and sound effects are skipped. No licence is stated.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import REAL, Fake, Rule, Skip, Verdict, label_checkout
from lab.data.source_clip import SourceClip

RULES = (
    Rule(r"/(bass|dance|drum1|guitar|hardcore|music|queen|spooky|vocal1|wa)\.wav$", Skip("music or sound, not speech")),
    Rule(r"^samples/gt/", REAL),
    Rule(r"^samples/(bigvgan|bigvgan-base|mrd_snake)/", Fake("bigvgan")),
    Rule(r"^samples/(bighifigan|hifigan|hifigan_mrd)/", Fake("hifigan")),
    Rule(r"^samples/univnet/", Fake("univnet")),
    Rule(r"^samples/sc-wavernn/", Fake("sc-wavernn")),
)


def _speaker(relpath: str, verdict: Verdict) -> str:
    """Every vocoder resynthesises the same recordings, named by file (``ltclean1``, ``korean``, ``celeb1``)."""
    return relpath.rsplit("/", 1)[-1].removesuffix(".wav")


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    return label_checkout(root, version, RULES, speaker=_speaker)
