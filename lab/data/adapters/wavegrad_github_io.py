"""WaveGrad, WaveGrad 2 and SpecGrad demo pages (Google): diffusion vocoders and their baselines.

``wavs``/``wavs2`` and ``v2/wavs`` hold the ``ref_<n>`` recordings and WaveGrad (``C``/``D`` = conditioned on
ground-truth/predicted features, number = refinement steps); ``v2/wavs/specaug_*`` is WaveGrad 2; ``baselines``
holds MelGAN, multi-band MelGAN, Parallel WaveGAN, WaveFlow and WaveGlow; ``specgrad/data`` holds ``<n>_gt`` and
WaveGrad (``wg``), PriorGrad (``pg``) and SpecGrad (``sg``). The reverse-process states (``wavs/n<k>``, ``*_init``)
are mostly noise and skipped. The speakers are not named. No licence is stated.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import REAL, Fake, Rule, Skip, Verdict, label_checkout
from lab.data.source_clip import SourceClip

RULES = (
    Rule(r"^wavs/n\d+\.wav$|_init\.wav$", Skip("an intermediate state of the reverse process, mostly noise")),
    Rule(r"^specgrad/data/\d+_wg_(clean|noisy)\.wav$", Skip("not on the page, which does not say what made it")),
    Rule(r"/(ref_\d+|\d+_gt)\.wav$", REAL),
    Rule(r"^specgrad/data/\d+_wg_", Fake("wavegrad")),
    Rule(r"^specgrad/data/\d+_pg_", Fake("priorgrad")),
    Rule(r"^specgrad/data/\d+_sg_", Fake("specgrad")),
    Rule(r"^v2/wavs/specaug_", Fake("wavegrad2")),
    Rule(r"^(wavs|wavs2|v2/wavs)/[CD]\d+_\d+\.wav$", Fake("wavegrad")),
    Rule(r"^baselines/\w+/MBMelGAN/", Fake("mb-melgan")),
    Rule(r"^baselines/\w+/MelGAN/", Fake("melgan")),
    Rule(r"^baselines/\w+/PWG/", Fake("parallel-wavegan")),
    Rule(r"^baselines/\w+/WaveFlow/", Fake("waveflow")),
    Rule(r"^baselines/\w+/WaveGlow/", Fake("waveglow")),
)


def _speaker(relpath: str, verdict: Verdict) -> str:
    """The pages name no speaker; each page's examples are grouped under its folder."""
    return "unnamed-" + ("specgrad" if relpath.startswith("specgrad/") else "v2" if relpath.startswith("v2/") else "v1")


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    return label_checkout(root, version, RULES, speaker=_speaker)
