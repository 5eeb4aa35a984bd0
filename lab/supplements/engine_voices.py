"""Training fakes from two TTS engines no labelled set uses: MBROLA diphone voices and SVOX Pico, in English.

Why: the training fakes come from a handful of engines (espeak-ng, flite, festival, Kokoro, Tortoise,
signal-processing vocoders), and the detector misses most on engines it never saw. MBROLA (diphone
concatenation with its own MBR-PSOLA resynthesis, driven by espeak-ng) and Pico (the HMM-based engine of
early Android phones) are two more families of synthesis, installable from Debian, in neither labelled set
and not among the voices reserved for independent evaluation. They speak English only: English is the one
language with plenty of real training speech, so the voices cannot teach "this language is fake" (festival
voices in languages without real training speech did exactly that). The text is the English source strings
(msgids) of the gettext catalogues installed on the machine, so nothing is shipped or downloaded. Each clip
gets a random level and a short random lead-in and tail, so that loudness and digital silence are no cue.
All clips are split ``train``; the manifest (absolute paths) is one more ``--data``.

Needs the Debian packages espeak-ng, mbrola, mbrola-us1, mbrola-us2, mbrola-us3, mbrola-en1 (contrib/non-free)
and libttspico-utils (non-free).

    python -m lab.supplements.engine_voices --out ../engine-voices --count 60
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lab.supplements.common import GeneratedClip, synthesise_audio, write_set
from lab.supplements.voice_sets import LOCALES, catalogues, voice_set_main
from voxwatch.pipeline.samplerate import SAMPLE_RATE


@dataclass(frozen=True)
class Voice:
    """One voice of one engine: the command-line tool, the voice argument and the source name it is filed under."""

    engine: str  # "mbrola" (through espeak-ng) or "pico"
    voice: str
    source: str

    @property
    def name(self) -> str:
        return f"{self.engine}-{self.voice}"


VOICES = (
    Voice("mbrola", "mb-us1", "mbrola"),
    Voice("mbrola", "mb-us2", "mbrola"),
    Voice("mbrola", "mb-us3", "mbrola"),
    Voice("mbrola", "mb-en1", "mbrola"),
    Voice("pico", "en-US", "pico"),
    Voice("pico", "en-GB", "pico"),
)

_PLAIN = re.compile(r"[A-Za-z][A-Za-z ,.'!?-]*")


def english_sentences(locales: Path = LOCALES, min_words: int = 3, max_words: int = 14) -> list[str]:
    """Plain English source strings (msgids) of the installed catalogues: no markup, placeholders or shortcuts."""
    found: set[str] = set()
    for catalogue in catalogues(sorted(locales.glob("*/LC_MESSAGES/*.mo"))):
        for key in catalogue:
            text = key[0] if isinstance(key, tuple) else key  # plural forms are keyed (msgid, n)
            text = text.strip() if isinstance(text, str) else ""
            if "  " not in text and _PLAIN.fullmatch(text) and min_words <= len(text.split()) <= max_words:
                found.add(text)
    return sorted(found)


def command(voice: Voice, text: str, wav: Path) -> list[str]:
    """The command line that speaks ``text`` with ``voice`` into ``wav``."""
    if voice.engine == "mbrola":
        return ["espeak-ng", "-v", voice.voice, "-w", str(wav), text]
    if voice.engine == "pico":
        return ["pico2wave", "-l", voice.voice, "-w", str(wav), text]
    raise ValueError(f"unknown engine {voice.engine!r}")


def synthesise(voice: Voice, text: str, wav: Path) -> None:
    subprocess.run(command(voice, text, wav), check=True, capture_output=True, timeout=60)


def natural_edges(audio: np.ndarray, rng: random.Random) -> np.ndarray:
    """Trim the engine's digital silence, pad 0.05-0.4 s each side, and set a random peak level (-12 to -1 dBFS).

    Real recordings start and end at varied points and levels; engines all start the same way. Left as they
    are, the edges and the level would be cues that say "this engine", not "synthetic".
    """
    voiced = np.flatnonzero(np.abs(audio) > 1e-3)
    if voiced.size:
        audio = audio[voiced[0]:voiced[-1] + 1]
    lead, tail = (np.zeros(int(rng.uniform(0.05, 0.4) * SAMPLE_RATE), dtype=np.float32) for _ in range(2))
    audio = np.concatenate([lead, audio.astype(np.float32), tail])
    peak = float(np.max(np.abs(audio))) or 1.0
    return audio * (10 ** (rng.uniform(-12.0, -1.0) / 20) / peak)


def missing_tools(voices: tuple[Voice, ...] = VOICES) -> list[str]:
    tools = {"mbrola": "espeak-ng", "pico": "pico2wave"}
    missing = sorted({tools[v.engine] for v in voices if shutil.which(tools[v.engine]) is None})
    if any(v.engine == "mbrola" for v in voices) and shutil.which("mbrola") is None:
        missing.append("mbrola")
    return missing


def make(out: Path, count: int, seed: int = 0, locales: Path = LOCALES,
         voices: tuple[Voice, ...] = VOICES) -> int:
    """``count`` clips per voice (a quarter of them single words); returns how many were written."""
    missing = missing_tools(voices)
    if missing:
        raise SystemExit(f"missing: {', '.join(missing)}; with contrib and non-free enabled: apt-get install "
                         "espeak-ng mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 libttspico-utils")
    texts = english_sentences(locales)
    if not texts:
        raise SystemExit(f"no English strings in the catalogues under {locales}: install a package with translations")
    words = sorted({w.strip(",.!?'-") for t in texts for w in t.split() if len(w.strip(",.!?'-")) > 3})
    rng = random.Random(seed)

    def clips() -> Iterator[GeneratedClip]:
        for voice in voices:
            for i in range(count):
                for _ in range(5):  # a failed or silent synthesis: another text
                    text = rng.choice(words) if i % 4 == 0 else rng.choice(texts)
                    audio = synthesise_audio(lambda wav, v=voice, s=text: synthesise(v, s, wav))
                    if audio is not None and np.any(np.abs(audio) > 1e-3):
                        break
                else:
                    raise SystemExit(f"{voice.engine} wrote no audio for voice {voice.voice}: is its package "
                                     "installed?")
                yield GeneratedClip(f"{voice.name}-{i:03d}", natural_edges(audio, rng), "spoof", voice.source,
                                    voice.name)

    return len(write_set(out, clips(), len(voices) * count, "synthesising"))


def main(argv: list[str] | None = None) -> int:
    return voice_set_main(__doc__.splitlines()[0], make, argv)


if __name__ == "__main__":
    sys.exit(main())
