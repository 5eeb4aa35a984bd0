"""Glue shared by the sub-commands: stream ids from file names, the torch check of train/export."""

from __future__ import annotations

from pathlib import Path

from voxwatch.errors import VoxwatchError
from voxwatch.transport.events import safe_stream_id

TRAIN_EXTRA_HINT = "install the train extra: pip install -e '.[train]'"


def require_torch() -> None:
    """One clear line instead of a traceback when the ``train`` extra is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise VoxwatchError(f"torch is not installed; {TRAIN_EXTRA_HINT}") from None


def unique_stream_ids(paths: list[str]) -> list[str]:
    """File stems as stream ids, made topic-safe and unique (``a``, ``a-2``, ...)."""
    seen: dict[str, int] = {}
    ids = []
    for path in paths:
        base = safe_stream_id(Path(path).stem)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids
