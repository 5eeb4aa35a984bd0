"""What an installed voxwatch carries without a source checkout: the commented default config and the systemd
unit are package data (one copy: the package's files are symlinks to configs/), and ``voxwatch config`` prints
them."""

from __future__ import annotations

import configparser
import fnmatch
from pathlib import Path

import pytest

from voxwatch.cli import main

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO / "voxwatch" / "configs"


@pytest.mark.parametrize(("option", "source"),
                         [("--default", "default.toml"), ("--systemd-unit", "voxwatch.service")])
def test_config_command_prints_the_shipped_file(capsys, option, source):
    assert main(["config", option]) == 0
    assert capsys.readouterr().out == (REPO / "configs" / source).read_text()


def test_shipped_files_are_package_data_with_one_source():
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    patterns = setup["options.package_data"]["voxwatch.configs"].replace(",", " ").split()
    for name in ("default.toml", "voxwatch.service"):
        shipped = PACKAGE_DIR / name
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns)
        assert shipped.is_symlink() and shipped.resolve() == (REPO / "configs" / name).resolve()
