"""voxwatch: real-time detection of machine-generated speech in live audio streams.

``from voxwatch import Detector`` is the Python API (voxwatch.detector). It is imported on first use, so
``import voxwatch`` (and ``voxwatch --help``) stays light and the CLI can set thread limits before numpy loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Detector", "FileScore", "Judgement", "__version__"]

if TYPE_CHECKING:
    from voxwatch.detector import Detector, FileScore, Judgement


def __getattr__(name: str) -> Any:
    if name in ("Detector", "FileScore", "Judgement"):
        from voxwatch import detector

        return getattr(detector, name)
    raise AttributeError(f"module 'voxwatch' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The lazily imported API too, so ``dir(voxwatch)`` and completion show ``Detector``."""
    return sorted({*globals(), *__all__})
