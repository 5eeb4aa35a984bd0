"""Real training speech from the spoken dialogues of the game Fish Fillets NG (Debian, Czech and Dutch).

Why: the labelled sets' real speech comes from a few hundred speakers, mostly read English (LibriSpeech,
LJSpeech) or isolated words (Speech Commands, FSDD, klettres, ktuberling), while their fakes include whole
sentences in Czech (festival diphone voices). Conversational, acted sentences in Czech and Dutch from four more
voices (the game's two fish in each language, recorded by different actors) widen what "real" looks like
where the sets are thinnest. Only the two fish are taken: the other characters (robots, parrots, a computer)
may have effects on their voices. All clips are split ``train``; the manifest lists only them (absolute
paths), for use as one more ``--data``. Debian ``fillets-ng-data-cs`` / ``-nl``, GPL-2+; nothing is committed.

    apt-get download fillets-ng-data-cs fillets-ng-data-nl
    for f in fillets-ng-data-*.deb; do dpkg-deb -x "$f" /tmp/fillets; done
    python -m lab.supplements.fillets_speech --root /tmp/fillets --out ../fillets --per-speaker 300
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from lab.supplements.common import GeneratedClip, write_set
from voxwatch.pipeline.sources import resample

LANGUAGES = ("cs", "nl")
CHARACTERS = {"m": "small fish", "v": "big fish"}
# sound/<level>/<language>/<level code>-<character>-<line>.ogg
NAME = re.compile(r"^[^-]+-(?P<character>[a-z0-9]+)-.+\.ogg$")


def find_lines(root: Path) -> dict[str, list[Path]]:
    """Dialogue files of the two fish under ``root``, by speaker id ``fillets-<language>-<character>``."""
    found: dict[str, list[Path]] = {}
    for language in LANGUAGES:
        for path in sorted(root.glob(f"**/sound/*/{language}/*.ogg")):
            match = NAME.match(path.name)
            if match and match["character"] in CHARACTERS:
                found.setdefault(f"fillets-{language}-{match['character']}", []).append(path)
    return found


def make(roots: list[Path], out: Path, per_speaker: int, min_seconds: float = 1.0, seed: int = 0) -> int:
    """Up to ``per_speaker`` lines of at least ``min_seconds`` per speaker, as 16 kHz mono FLAC; returns the count."""
    import soundfile as sf

    lines: dict[str, list[Path]] = {}
    for root in roots:
        for speaker, paths in find_lines(root).items():
            lines.setdefault(speaker, []).extend(paths)
    if not lines:
        raise SystemExit(f"no Fish Fillets dialogue under {', '.join(map(str, roots))}: extract the .deb files of "
                         "fillets-ng-data-cs / fillets-ng-data-nl there (see --help)")
    rng = random.Random(seed)
    chosen: list[tuple[str, Path]] = []
    for speaker in sorted(lines):
        paths = [p for p in lines[speaker] if sf.info(p).duration >= min_seconds]
        rng.shuffle(paths)
        chosen += [(speaker, path) for path in sorted(paths[:per_speaker])]

    def clips() -> Iterator[GeneratedClip]:
        for speaker, path in chosen:
            audio, rate = sf.read(path, dtype="float32", always_2d=True)
            yield GeneratedClip(f"{speaker}-{path.parent.parent.name}-{path.stem}", resample(audio.mean(axis=1), rate),
                                "bonafide", f"fillets-{speaker.split('-')[1]}", speaker,
                                "GPL-2+ (Debian fillets-ng-data)")

    return len(write_set(out, clips(), len(chosen), "converting"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="\n".join(__doc__.splitlines()[-3:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, action="append", required=True,
                        help="folder the packages were extracted into (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (audio/ and manifest.csv)")
    parser.add_argument("--per-speaker", type=int, default=300, help="lines per speaker (300)")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="shortest line taken (1.0 s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.per_speaker < 1:
        parser.error("--per-speaker must be at least 1")
    print(f"{make(args.root, args.out, args.per_speaker, args.min_seconds, args.seed)} clips in "
          f"{args.out / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
