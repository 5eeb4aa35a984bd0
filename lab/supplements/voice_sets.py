"""What the generators of training voices share besides the write loop (festival_voices, engine_voices): their
texts, the strings of the gettext catalogues installed on the machine (so no text is shipped or downloaded), and
their command line."""

from __future__ import annotations

import argparse
import gettext
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

LOCALES = Path("/usr/share/locale")


def catalogues(paths: Iterable[Path]) -> Iterator[dict]:
    """The message tables (msgid -> translation) of these ``.mo`` files; unreadable or malformed ones are skipped."""
    for mo in paths:
        try:
            with open(mo, "rb") as handle:
                yield gettext.GNUTranslations(handle)._catalog  # noqa: SLF001 (the only way to list it)
        except (OSError, ValueError, IndexError, KeyError):  # a malformed catalogue header
            continue


def voice_set_main(description: str, make: Callable[[Path, int, int], int], argv: list[str] | None) -> int:
    """Parse ``--out``, ``--count`` and ``--seed``, run ``make(out, count, seed)`` and say where the manifest is."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, required=True, help="output folder (audio/ and manifest.csv)")
    parser.add_argument("--count", type=int, default=60, help="clips per voice (60)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    print(f"{make(args.out, args.count, args.seed)} clips in {args.out / 'manifest.csv'}")
    return 0
