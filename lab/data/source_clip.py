"""What a source adapter of the data builder yields: one audio file of a public checkout and its provenance.

The adapters only find and label files; decoding, resampling, band-limiting, splitting and writing are the
builder's, so that every source is treated alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FAMILIES = (
    "real",
    "gan-vocoder",
    "codec",
    "diffusion",
    "flow",
    "vits-like",
    "autoregressive",
    "concatenative",
    "hmm",
    "formant",
    "signal-vocoder",
    "voice-conversion",
)
Use = Literal["train", "eval-only"]


@dataclass(frozen=True)
class SourceClip:
    """One audio file found in a checkout.

    ``system`` names the generator (``"ground-truth"`` style names for real speech) and is the unit that
    evaluation-only sources are split by; ``speaker`` is the unit real speech is split by.
    """

    audio: Path  # the file inside the checkout (any format libsndfile or ffmpeg reads)
    label: Literal["bonafide", "spoof"]
    system: str  # e.g. "vocos", "encodec-6kbps", "yourtts", "ground-truth"
    family: str  # one of FAMILIES
    speaker: str  # speaker id, prefixed by the source so ids never collide across sources
    source: str  # the repository ("owner/name") or Debian package ("debian:fillets-ng-data")
    version: str  # commit hash or package version
    license: str  # the licence text short name, e.g. "MIT", "CC BY-NC-ND 4.0", "none stated"
    use: Use

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r} (one of {', '.join(FAMILIES)})")
        if (self.label == "bonafide") != (self.family == "real"):
            raise ValueError("real speech has family 'real', and only real speech has it")
