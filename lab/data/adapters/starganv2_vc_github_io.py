"""StarGANv2-VC (Li et al., 2021) demo page: VC on VCTK, ESD (``EMD``) and JVS against AutoVC and Polyak et al.

Each example folder holds the real ``source``/``original`` and ``target``/``reference`` utterances beside the
conversions (``starganv2``, ``converted``, ``full`` and the ablations ``no_*``; cross-lingual outputs are named by
their VCTK target; ``cd`` is the singing-conversion baseline of Polyak et al.). The sung sources of the singing
examples are skipped: singing, not speech. No licence is stated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import REAL, Fake, Rule, Skip, Verdict, label_checkout
from lab.data.source_clip import SourceClip

RULES = (
    Rule(r"^wav/VCTK/Singing/[^/]+/source\.wav$", Skip("singing, not speech")),
    Rule(r"/(source(_\d+)?|original|target|reference)\.wav$", REAL),
    Rule(r"/autovc\.wav$", Fake("autovc")),
    Rule(r"/cd\.wav$", Fake("polyak-svc")),
    Rule(r"/(starganv2|converted|full|no_\w+)\.wav$|^wav/VCTK/Crosslingual/\w+/p\d{3}\.wav$", Fake("starganv2-vc")),
)


def _speaker(relpath: str, verdict: Verdict) -> str:
    """Folders ``p229xp236`` / ``p233_to_p259`` name source then target; others are named by their example folder."""
    folder, name = relpath.rsplit("/", 1)
    name = name.removesuffix(".wav")
    pair = re.findall(r"p\d{3}", folder)
    if name.startswith(("source", "original")):
        return f"vctk-{pair[0]}" if len(pair) == 2 else folder.removeprefix("wav/") + "/source"
    if pair:
        return f"vctk-{pair[-1]}"
    return f"vctk-{name}" if re.fullmatch(r"p\d{3}", name) else folder.removeprefix("wav/") + "/target"


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    return label_checkout(root, version, RULES, speaker=_speaker)
