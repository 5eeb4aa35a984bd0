"""Paths a command writes: declared with ``OutputFile``/``OutputFolder`` and checked before any work starts.

A benchmark, a calibration or a training run that only finds at its end that its output cannot be written loses
its work, and used to end in a traceback. Declaring an option with ``action=OutputFile`` (or ``OutputFolder``)
records it while the command line is parsed; ``prepare_outputs`` (called by ``voxwatch.cli.main`` before the
command runs) then makes missing parent folders, refuses a folder where a file goes (and the reverse), and
checks that the place can be written, each failure one ``VoxwatchError`` line that names the option and path.
Whether an existing file may be replaced stays the command's own rule (``calibrate --force``).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voxwatch.errors import VoxwatchError

_DECLARED = "_output_paths"  # namespace attribute: [(kind, option, path)] in command-line order


class _OutputPath(argparse.Action):
    kind = ""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        name = option_string or self.metavar or self.dest
        declared = [entry for entry in getattr(namespace, _DECLARED, []) if entry[1] != name]
        setattr(namespace, _DECLARED, [*declared, (self.kind, name, str(values))])


class OutputFile(_OutputPath):
    """A file the command writes (its parent folder is made if missing)."""

    kind = "file"


class OutputFolder(_OutputPath):
    """A folder the command writes into (made if missing)."""

    kind = "folder"


def declared_outputs(args: argparse.Namespace) -> Sequence[tuple[str, str, str]]:
    """(kind, option, path) of every output path given on the command line."""
    return getattr(args, _DECLARED, [])


def prepare_outputs(args: argparse.Namespace) -> None:
    """Check (and make the folders of) every declared output path; VoxwatchError names the first that fails."""
    for kind, option, path in declared_outputs(args):
        target = Path(path).expanduser()
        if kind == "file":
            if target.is_dir():
                raise VoxwatchError(f"{option} {path}: is a folder; give a file name")
            _make_folder(target.parent, option, path)
            _check_writable(target.parent, option, path)
        else:
            if target.exists() and not target.is_dir():
                raise VoxwatchError(f"{option} {path}: is a file, not a folder")
            _make_folder(target, option, path)
            _check_writable(target, option, path)


def _make_folder(folder: Path, option: str, path: str) -> None:
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise VoxwatchError(f"{option} {path}: {blocking} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VoxwatchError(f"{option} {path}: cannot create folder {folder} ({exc.strerror or exc})") from None


def _check_writable(folder: Path, option: str, path: str) -> None:
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise VoxwatchError(f"{option} {path}: cannot write in {folder} ({exc.strerror or exc})") from None


def write_text(path: str | Path, text: str, option: str) -> None:
    """Write an output file; a failure late in the run (a full disk) is still one line, not a traceback."""
    try:
        Path(path).expanduser().write_text(text)
    except OSError as exc:
        raise VoxwatchError(f"{option} {path}: cannot write ({exc.strerror or exc})") from None
