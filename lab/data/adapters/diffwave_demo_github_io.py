"""DiffWave (Kong et al., ICLR 2021) demo page: LJSpeech vocoding against ClariNet, SC09 denoising, interpolation.

``ljspeech-ground-truth`` and the SC09 ``ground_truth`` files are real; the ``ljspeech-diffwave_*`` folders,
``denoised_*``, ``interpolation`` and the SC09 ``*-diffwave*`` digits are DiffWave; the baselines are ClariNet,
WaveFlow, WaveNet and (unconditional SC09) WaveGAN. The ``noisy_*`` inputs
(real speech with noise the authors added) are skipped: augmentation is the builder's own. No licence is stated.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import REAL, Fake, Rule, Skip, Verdict, label_checkout
from lab.data.source_clip import SourceClip

RULES = (
    Rule(r"^samples/denoiser/noisy_", Skip("real speech with added noise: augmentation, which the builder does")),
    Rule(r"^samples/reverse_process/", Skip("an intermediate state of the reverse process, mostly noise")),
    Rule(r"^samples/(ljspeech-ground-truth/|denoiser/ground_truth_|sc09-uncond/ground_truth)", REAL),
    Rule(r"^samples/ljspeech-clarinet", Fake("clarinet")),
    Rule(r"^samples/ljspeech-waveflow", Fake("waveflow")),
    Rule(r"^samples/ljspeech-wavenet/|^samples/sc09-\w+/[\w-]*wavenet", Fake("wavenet")),
    Rule(r"^samples/sc09-uncond/uncond-wavegan", Fake("wavegan")),
    Rule(r"^samples/(ljspeech-diffwave|denoiser/denoised_|interpolation/|sc09-\w+/[\w-]*diffwave)", Fake("diffwave")),
)


def _speaker(relpath: str, verdict: Verdict) -> str:
    return "ljspeech" if "/ljspeech-" in relpath else "sc09-unnamed"


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    return label_checkout(root, version, RULES, speaker=_speaker)
