"""What an installed voxwatch carries without a source checkout: the commented default config and the systemd
unit are package data (one copy: the package's files are symlinks to configs/), and ``voxwatch config`` prints
them."""

from __future__ import annotations

import configparser
import fnmatch
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_tool

from voxwatch.cli import main

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO / "voxwatch" / "configs"


UNITS = [("--systemd-unit", "voxwatch.service"), ("--systemd-user-unit", "voxwatch-user.service")]


@pytest.mark.parametrize(("option", "source"), [("--default", "default.toml"), *UNITS])
def test_config_command_prints_the_shipped_file(capsys, option, source):
    """The units as shipped, but for ExecStart: it names this install's voxwatch, not /opt/voxwatch."""
    from voxwatch.configs import SHIPPED_EXECUTABLE, installed_executable

    assert main(["config", option]) == 0
    shipped = (REPO / "configs" / source).read_text()
    if source.endswith(".service"):
        shipped = shipped.replace(f"ExecStart={SHIPPED_EXECUTABLE} ", f"ExecStart={installed_executable()} ")
    assert capsys.readouterr().out == shipped


@pytest.mark.parametrize(("option", "source"), UNITS)
def test_printed_units_pass_systemd_analyze_verify_on_this_install(tmp_path, option, source):
    """What an operator pipes into place must verify: ExecStart must name an executable that exists."""
    require_tool("systemd-analyze")
    unit = tmp_path / "voxwatch.service"
    printed = subprocess.run([sys.executable, "-m", "voxwatch", "config", option], capture_output=True, text=True,
                             timeout=60, check=True).stdout
    unit.write_text(printed)
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stderr
    exec_start = next(line for line in printed.splitlines() if line.startswith("ExecStart="))
    assert Path(exec_start.split("=", 1)[1].split()[0]).is_file()


def test_the_user_unit_captures_the_desktop_session_without_a_service_account():
    text = (REPO / "configs" / "voxwatch-user.service").read_text()
    assert "run --system-audio" in text and "WantedBy=default.target" in text
    assert "\nUser=" not in text and "SupplementaryGroups" not in text  # it runs as you, in your sound session


def test_without_a_voxwatch_command_the_unit_says_where_to_edit():
    from voxwatch.configs import SHIPPED_EXECUTABLE, SYSTEMD_UNIT, unit_text

    text = unit_text(SYSTEMD_UNIT, None)
    before = text.split(f"ExecStart={SHIPPED_EXECUTABLE}")[0].splitlines()[-1]
    assert before.startswith("# voxwatch was not found") and "edit ExecStart" in before


def test_shipped_files_are_package_data_with_one_source():
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    patterns = setup["options.package_data"]["voxwatch.configs"].replace(",", " ").split()
    for name in ("default.toml", "voxwatch.service", "voxwatch-user.service"):
        shipped = PACKAGE_DIR / name
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns)
        assert shipped.is_symlink() and shipped.resolve() == (REPO / "configs" / name).resolve()
