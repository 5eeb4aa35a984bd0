"""Extra machine-generated training voices made offline, plus a manifest that joins them to a corpus.

The shared corpus has few TTS voices per generator (flite kal16/awb, festival kal in train), and its test
errors concentrate on voices unseen in training. This adds two voices that are in no split of the corpus:
flite's ``slt`` (clustergen) and festival's HTS ``cmu_us_slt_arctic_hts`` (statistical parametric), reading
sentences and single words (a quarter, like the corpus) from the corpus's ``texts.txt``, as 16 kHz 16-bit FLAC,
all in split ``train`` (so dev and test stay as they are). The output folder's ``manifest.csv`` lists the
corpus's rows (absolute paths) and the new ones, so ``voxwatch train --data OUT`` trains on both.

Needs the Debian packages flite, festival and festvox-us-slt-hts.

    python3 -m lab.supplements.extra_voices ../shared/data/corpus ../extra-voices --count 70
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from lab.supplements.common import GeneratedClip, synthesise_audio, write_set
from voxwatch.training.datasets import MANIFEST_COLUMNS

VOICES = ("flite-slt", "festival-slt-hts")
PUNCTUATION = ".,;:!?\"'()"


def pick_text(texts: list[str], rng: random.Random, index: int) -> str:
    """A sentence, or every fourth time one longer word of it (the corpus has short clips in both classes)."""
    text = rng.choice(texts)
    if index % 4 == 0:
        words = [w.strip(PUNCTUATION) for w in text.split() if len(w.strip(PUNCTUATION)) > 3]
        return rng.choice(words) if words else text
    return text


def synthesise(voice: str, text: str, wav: str) -> None:
    if voice == "flite-slt":
        subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", wav], check=True, capture_output=True)
    elif voice == "festival-slt-hts":
        subprocess.run(["text2wave", "-eval", "(voice_cmu_us_slt_arctic_hts)", "-o", wav], input=text.encode(),
                       check=True, capture_output=True)
    else:
        raise ValueError(f"unknown voice {voice!r}")


def make(corpus: Path, out: Path, count: int, seed: int = 0) -> int:
    """``count`` clips per voice; the manifest lists the corpus's rows first. Returns the number of rows."""
    missing = [tool for tool in ("flite", "text2wave") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: apt-get install flite festival festvox-us-slt-hts")
    texts = [t.strip() for t in (corpus / "texts.txt").read_text().splitlines() if t.strip()]
    with open(corpus / "manifest.csv", newline="") as f:
        corpus_rows = [[str((corpus / row["path"]).resolve()) if column == "path" else row.get(column, "")
                        for column in MANIFEST_COLUMNS] for row in csv.DictReader(f)]
    rng = random.Random(seed)

    def clips() -> Iterator[GeneratedClip]:
        for voice in VOICES:
            for i in range(count):
                text = pick_text(texts, rng, i)
                audio = synthesise_audio(lambda wav, v=voice, s=text: synthesise(v, s, str(wav)))
                if audio is None:
                    raise SystemExit(f"{voice} wrote no audio for {text!r}: is its package installed?")
                yield GeneratedClip(f"{voice}-{i:03d}", audio, "spoof", voice, voice)

    return len(write_set(out, clips(), len(VOICES) * count, "synthesising", rows_before=corpus_rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="corpus folder with manifest.csv and texts.txt")
    parser.add_argument("out", type=Path, help="output folder (audio/ and manifest.csv)")
    parser.add_argument("--count", type=int, default=70, help="clips per voice (70)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"{make(args.corpus, args.out, args.count, args.seed)} rows in {args.out / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
