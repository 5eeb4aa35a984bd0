"""The evaluation-only sources, for the data builder's catalogue: where each lives and which adapter labels it.

Their audio has no licence, or a research-only or non-commercial one, so it may go to dev and test but never into
training, the selection of training data, or the shipped model.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from voxwatch.training.generators.adapters import (
    bigvgan_demo_github_io,
    diffwave_demo_github_io,
    flowcpcvc,
    freevc_demo,
    glow_tts_demo,
    hierspeechpp_demo,
    lvc_vc_demo,
    speakerrecognition,
    starganv2_vc_github_io,
    styletts2_github_io,
    urdu_dataset,
    vits_demo,
    wavegrad_github_io,
    yourtts,
)


@dataclass(frozen=True)
class EvalOnlySource:
    """One repository: the ref and paths to extract from it, its licence as found, and the adapter module."""

    repo: str
    ref: str
    paths: tuple[str, ...]
    license: str
    module: ModuleType


def _source(module: ModuleType) -> EvalOnlySource:
    return EvalOnlySource(module.REPO, module.REF, tuple(module.PATHS), module.LICENSE, module)


EVAL_ONLY_SOURCES = tuple(
    _source(module)
    for module in (
        speakerrecognition,
        urdu_dataset,
        yourtts,
        hierspeechpp_demo,
        styletts2_github_io,
        bigvgan_demo_github_io,
        lvc_vc_demo,
        flowcpcvc,
        starganv2_vc_github_io,
        freevc_demo,
        vits_demo,
        glow_tts_demo,
        wavegrad_github_io,
        diffwave_demo_github_io,
    )
)
