"""Fish Fillets NG (Debian ``fillets-ng-data-cs`` / ``-nl``): acted dialogue of the game's two fish, 22 kHz.

Only the two fish are taken (see :mod:`lab.supplements.fillets_speech`, whose file rule this reuses): the
robots, parrots and computers of the game may have effects on their voices. Four speakers, one per fish and
language, so these lines add hours of conversational real speech but few voices.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lab.data.adapters import stamp
from lab.data.source_clip import SourceClip
from lab.supplements.fillets_speech import find_lines


def clips(root: Path, version: str) -> Iterator[SourceClip]:
    make = stamp(root, version)
    for speaker, paths in sorted(find_lines(root).items()):
        for path in paths:
            yield make(audio=path, label="bonafide", system="ground-truth", family="real", speaker=speaker)
