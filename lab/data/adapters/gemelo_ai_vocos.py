"""Vocos demo page (branch ``gh-pages``, MIT): mel vocoders and EnCodec resynthesis, with their ground truth.

``audio/mel/<system>/`` holds LibriTTS utterances (speaker = the first field of the name) vocoded by BigVGAN,
HiFi-GAN, iSTFTNet and Vocos; ``audio/encodec/<bitrate>/{encodec,vocos}/`` DAPS utterances through EnCodec at
1.5-12 kbps, decoded by EnCodec's own decoder or by Vocos; ``audio/bark/`` Bark's text-to-speech, decoded
either way. ``gt`` folders are the real recordings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lab.data.adapters import audio_files, stamp
from lab.data.source_clip import SourceClip


def clips(root: Path, version: str) -> Iterator[SourceClip]:
    make = stamp(root, version)
    audio = root / "audio"
    for path in audio_files(audio / "mel"):
        system = path.parent.name
        speaker = f"libritts-{path.stem.split('_')[0]}"
        if system == "gt":
            yield make(audio=path, label="bonafide", system="ground-truth", family="real", speaker=speaker)
        else:
            yield make(audio=path, label="spoof", system=system, family="gan-vocoder", speaker=speaker)
    for path in audio_files(audio / "encodec"):
        speaker = f"daps-{path.stem.split('_')[0]}"
        if path.parent.name == "gt":
            yield make(audio=path, label="bonafide", system="ground-truth", family="real", speaker=speaker)
        else:
            decoder, bitrate = path.parent.name, path.parent.parent.name
            system = f"encodec-{bitrate}" if decoder == "encodec" else f"vocos-encodec-{bitrate}"
            yield make(audio=path, label="spoof", system=system, family="codec", speaker=speaker)
    for path in audio_files(audio / "bark"):  # encodec(3).mp3 / vocos(3).mp3: one prompt, two decoders
        decoder, _, rest = path.stem.partition("(")
        yield make(audio=path, label="spoof", system=f"bark-{decoder}", family="autoregressive",
                   speaker=f"bark-prompt-{rest.rstrip(')') or '0'}")
