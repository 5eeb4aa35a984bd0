"""One short recording of a real voice, shipped so the demo and the examples show a REAL verdict beside a FAKE one
on any machine.

``REAL_RECORDING`` is LJ Speech clip LJ050-0033 (Keith Ito and Linda Johnson, 2017; public domain: read by a
LibriVox volunteer from a public-domain book), resampled from 22.05 to 16 kHz mono FLAC. Provenance and licence:
README, Quick start.
"""

from __future__ import annotations

from pathlib import Path

REAL_RECORDING = Path(__file__).resolve().parent / "ljspeech-LJ050-0033.flac"
