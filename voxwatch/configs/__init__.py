"""The commented default config and the systemd units, shipped inside the package (``voxwatch config``).

The files here are symlinks to ``configs/`` at the top of the repository, the one copy that is edited; building a
wheel copies their content, so an installed voxwatch has them without a source checkout. The units are written
for an install in ``/opt/voxwatch``; ``unit_text`` points their ``ExecStart`` at the voxwatch actually installed,
so a printed unit passes ``systemd-analyze verify`` wherever voxwatch lives.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from importlib.resources import files
from pathlib import Path

DEFAULT_CONFIG = "default.toml"
SYSTEMD_UNIT = "voxwatch.service"
SYSTEMD_USER_UNIT = "voxwatch-user.service"
SHIPPED_EXECUTABLE = "/opt/voxwatch/bin/voxwatch"  # the path the unit files name
_EXEC_START = f"ExecStart={SHIPPED_EXECUTABLE} "


def shipped_text(name: str) -> str:
    """The text of one of the shipped files (``DEFAULT_CONFIG``, ``SYSTEMD_UNIT``, ``SYSTEMD_USER_UNIT``)."""
    return (files(__name__) / name).read_text(encoding="utf-8")


def installed_executable() -> Path | None:
    """The ``voxwatch`` command of this installation: the one running, else the one beside this Python (a
    venv's ``bin``), else the first on PATH; None when there is none (a bare ``python -m voxwatch``)."""
    running = Path(sys.argv[0])
    if running.name == "voxwatch" and running.is_file():
        return running.absolute()
    beside = Path(sysconfig.get_path("scripts")) / "voxwatch"
    if beside.is_file():
        return beside
    found = shutil.which("voxwatch")
    return Path(found).absolute() if found else None


def unit_text(name: str, executable: Path | None) -> str:
    """A shipped unit with ``ExecStart`` naming ``executable``; without one, a comment above it says to edit it."""
    text = shipped_text(name)
    if executable is None:
        note = (f"# voxwatch was not found as a command here: edit ExecStart below to the path of yours "
                f"(e.g. {SHIPPED_EXECUTABLE}, the `voxwatch` in your venv's bin folder)\n")
        return text.replace(_EXEC_START, note + _EXEC_START, 1)
    return text.replace(_EXEC_START, f"ExecStart={executable} ", 1)
