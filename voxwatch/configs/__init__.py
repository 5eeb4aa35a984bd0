"""The commented default config and the systemd unit, shipped inside the package (``voxwatch config``).

The files here are symlinks to ``configs/`` at the top of the repository, the one copy that is edited; building a
wheel copies their content, so an installed voxwatch has them without a source checkout.
"""

from __future__ import annotations

from importlib.resources import files

DEFAULT_CONFIG = "default.toml"
SYSTEMD_UNIT = "voxwatch.service"


def shipped_text(name: str) -> str:
    """The text of one of the shipped files (``DEFAULT_CONFIG`` or ``SYSTEMD_UNIT``)."""
    return (files(__name__) / name).read_text(encoding="utf-8")
