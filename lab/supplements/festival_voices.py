"""Training fakes from festival voices that are in no labelled set, reading text in their own language.

Why: the labelled sets' training fakes come from a handful of voices (espeak-ng, flite kal/awb, festival kal,
Kokoro, Tortoise, diphone voices in Czech/Italian/Finnish, one Catalan HTS voice), and unseen voices are where
the detector misses most. Debian packages four more festival voices, none of them in any split of either set
nor among the voices reserved for independent evaluation: Russian ``msu_ru_nsh_clunits`` (unit selection, a
kind no training voice has) and the Hindi, Marathi and Telugu ``NSK`` diphone voices. They speak the
translated interface strings of the Debian packages installed on the machine (gettext catalogues under
``/usr/share/locale``), so no text has to be shipped or downloaded. All clips are split ``train``; the output
manifest lists only them (absolute paths), for use as one more ``--data``.

Needs the Debian packages festival, festvox-ru, festvox-hi-nsk, festvox-mr-nsk and festvox-te-nsk, and the
language modules festival-hi, festival-mr and festival-te (only recommended by the voices).

    python -m lab.supplements.festival_voices --out ../festival-voices --count 60
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lab.supplements.common import GeneratedClip, synthesise_audio, write_set
from lab.supplements.voice_sets import LOCALES, catalogues, voice_set_main


@dataclass(frozen=True)
class Voice:
    """A festival voice, the locale whose strings it reads, and the script those strings must be written in."""

    name: str
    locale: str
    script: str  # a regex character range
    extra: str = ""  # Scheme run after selecting the voice (the NSK voices lack an intonation model)


VOICES = (
    Voice("msu_ru_nsh_clunits", "ru", "\u0400-\u04ff"),
    Voice("hindi_NSK_diphone", "hi", "\u0900-\u097f", "(Parameter.set 'Int_Method 'DuffInt)"),
    Voice("marathi_NSK_diphone", "mr", "\u0900-\u097f", "(Parameter.set 'Int_Method 'DuffInt)"),
    Voice("telugu_NSK_diphone", "te", "\u0c00-\u0c7f", "(Parameter.set 'Int_Method 'DuffInt)"),
)


def sentences(locale: str, script: str, locales: Path = LOCALES, min_words: int = 1,
              max_words: int = 14) -> list[str]:
    """Translated strings of the installed packages that are plain text in ``script`` (no markup, no placeholders)."""
    pattern = re.compile(f"[{script} ,.!?-]+")
    found: set[str] = set()
    for catalogue in catalogues(sorted((locales / locale / "LC_MESSAGES").glob("*.mo"))):
        for text in catalogue.values():
            text = text.strip() if isinstance(text, str) else ""
            if pattern.fullmatch(text) and min_words <= len(text.split()) <= max_words:
                found.add(text)
    return sorted(found)


def synthesise(voice: Voice, text: str, wav: Path) -> None:
    """One utterance through festival in batch mode (text2wave cannot set the NSK voices' intonation method)."""
    quoted = text.replace("\\", " ").replace('"', " ")
    script = (f"({'voice_' + voice.name})\n{voice.extra}\n"
              f'(set! utt (utt.synth (Utterance Text "{quoted}")))\n'
              f'(utt.save.wave utt "{wav}" \'riff)\n')
    with tempfile.NamedTemporaryFile("w", suffix=".scm", encoding="utf-8", delete=False) as handle:
        handle.write(script)
    try:
        subprocess.run(["festival", "-b", handle.name], check=True, capture_output=True, timeout=120)
    finally:
        Path(handle.name).unlink(missing_ok=True)


def make(out: Path, count: int, seed: int = 0, locales: Path = LOCALES) -> int:
    """``count`` clips per voice (a quarter of them single words); returns how many were written."""
    if shutil.which("festival") is None:
        raise SystemExit("festival is missing: apt-get install festival festvox-ru festvox-hi-nsk festvox-mr-nsk "
                         "festvox-te-nsk festival-hi festival-mr festival-te")
    rng = random.Random(seed)
    texts = {voice.name: sentences(voice.locale, voice.script, locales, min_words=3) for voice in VOICES}
    for voice in VOICES:
        if not texts[voice.name]:
            raise SystemExit(f"no {voice.locale} strings under {locales}: install a package with translations")

    def clips() -> Iterator[GeneratedClip]:
        for voice in VOICES:
            sentences_ = texts[voice.name]
            words = [w.strip(",.!?-") for t in sentences_ for w in t.split() if len(w.strip(",.!?-")) > 3]
            for i in range(count):
                for _ in range(10):  # the NSK voices crash on a few strings (a lone nukta): take another one
                    text = rng.choice(words) if i % 4 == 0 else rng.choice(sentences_)
                    audio = synthesise_audio(lambda wav, v=voice, s=text: synthesise(v, s, wav))
                    if audio is not None:
                        break
                else:
                    raise SystemExit(f"festival wrote no audio for voice {voice.name}: is its package installed?")
                yield GeneratedClip(f"{voice.name}-{i:03d}", audio, "spoof", f"festival-{voice.locale}", voice.name)

    return len(write_set(out, clips(), len(VOICES) * count, "synthesising"))


def main(argv: list[str] | None = None) -> int:
    return voice_set_main(__doc__.splitlines()[0], make, argv)


if __name__ == "__main__":
    sys.exit(main())
