"""ParallelWaveGAN demo page (branch ``gh-pages``, MIT): GAN vocoders on LJSpeech, JSUT and CSMSC.

``wav/<corpus>/<model>/`` per vocoder (Parallel WaveGAN, MelGAN, multi-band and full-band MelGAN, StyleMelGAN,
HiFi-GAN), ``wav/<corpus>/raw/`` the recordings. Each corpus is one speaker; LJSpeech's ground truth stays in
the real class since it is the voice of most single-speaker fakes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lab.data.adapters import audio_files, stamp
from lab.data.source_clip import SourceClip


def system_name(folder: str) -> str:
    """``kan-bayashi_mb-melgan`` -> ``mb-melgan``; the Parallel WaveGAN models -> ``parallel-wavegan[-author]``."""
    author, _, model = folder.partition("_")
    model = model.removesuffix(".v1")
    if model == "wavegan":
        return "parallel-wavegan" if author == "kan-bayashi" else f"parallel-wavegan-{author}"
    return model


def clips(root: Path, version: str) -> Iterator[SourceClip]:
    make = stamp(root, version)
    for path in audio_files(root / "wav"):
        corpus, folder = path.parent.parent.name, path.parent.name
        if folder == "raw":
            yield make(audio=path, label="bonafide", system="ground-truth", family="real", speaker=corpus)
        else:
            yield make(audio=path, label="spoof", system=system_name(folder), family="gan-vocoder", speaker=corpus)
