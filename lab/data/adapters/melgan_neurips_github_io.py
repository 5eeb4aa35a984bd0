"""MelGAN demo page (MIT): MelGAN and its ablations, mel inversion and text-to-speech samples.

``assets/ablation/original`` and ``assets/inversion/original`` are the recordings (LJSpeech), every other
ablation folder a MelGAN variant, ``inversion/reconstructed`` MelGAN on unseen speakers, ``tts_samples`` a
text-to-mel model with MelGAN as vocoder. The music-translation samples are not speech and are not extracted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lab.data.adapters import audio_files, stamp
from lab.data.source_clip import SourceClip


def clips(root: Path, version: str) -> Iterator[SourceClip]:
    make = stamp(root, version)
    assets = root / "assets"
    for part in ("ablation", "inversion"):
        for path in audio_files(assets / part):
            speaker = f"melgan-{part}-{path.stem.split('_')[-1]}"
            if path.parent.name == "original":
                yield make(audio=path, label="bonafide", system="ground-truth", family="real", speaker=speaker)
            else:
                system = "melgan" if path.parent.name in ("baseline", "reconstructed") else \
                    f"melgan-{path.parent.name.replace('_', '-')}"
                yield make(audio=path, label="spoof", system=system, family="gan-vocoder", speaker=speaker)
    for path in audio_files(assets / "tts_samples"):
        yield make(audio=path, label="spoof", system="melgan-tts", family="gan-vocoder",
                   speaker=f"melgan-tts-{path.parent.name}")
