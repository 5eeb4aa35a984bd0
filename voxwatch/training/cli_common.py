"""Small helpers shared by the train/export/eval commands."""

from __future__ import annotations

from voxwatch.errors import VoxwatchError

TRAIN_EXTRA_HINT = "install the train extra: pip install -e '.[train]'"


def require_torch() -> None:
    """One clear line instead of a traceback when the ``train`` extra is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise VoxwatchError(f"torch is not installed; {TRAIN_EXTRA_HINT}") from None
