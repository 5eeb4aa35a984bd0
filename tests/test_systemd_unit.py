"""The systemd unit: Type=notify with a watchdog, no restart loop on a configuration error (exit status 2), and a
sandbox that still leaves the daemon its sound devices, state directory and sockets; ``systemd-analyze security``
scores it (README, Running as a background service)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import require_tool

UNIT = Path(__file__).resolve().parent.parent / "configs" / "voxwatch.service"


def service_section() -> dict[str, list[str]]:
    """``[Service]`` keys, each with every value it is given (systemd keys may repeat)."""
    keys: dict[str, list[str]] = {}
    section = ""
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            key, _, value = line.partition("=")
            keys.setdefault(key, []).append(value)
    return keys


def test_unit_is_type_notify_with_a_watchdog_and_no_restart_loop_on_config_errors():
    unit = service_section()
    assert unit["Type"] == ["notify"] and unit["NotifyAccess"] == ["main"]
    assert int(unit["WatchdogSec"][0]) > 0
    assert unit["Restart"] == ["always"] and unit["RestartPreventExitStatus"] == ["2"]


def test_unit_is_hardened_but_keeps_what_the_daemon_needs():
    unit = service_section()
    for key in ("NoNewPrivileges", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                "ProtectControlGroups", "ProtectClock", "ProtectHostname", "RestrictNamespaces", "RestrictRealtime",
                "RestrictSUIDSGID", "LockPersonality", "PrivateTmp", "ProtectHome"):
        assert unit.get(key) == ["yes"], key
    assert unit["CapabilityBoundingSet"] == [""] and unit["ProtectSystem"] == ["strict"]
    assert "@system-service" in unit["SystemCallFilter"]
    # what it needs: the voxwatch user with the audio group and ALSA devices, its state dir, TCP/unix sockets
    assert unit["User"] == ["voxwatch"] and unit["SupplementaryGroups"] == ["audio"]
    assert unit["DeviceAllow"] == ["char-alsa rw"] and unit["StateDirectory"] == ["voxwatch"]
    assert set(unit["RestrictAddressFamilies"][0].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert "PrivateDevices" not in unit and "PrivateNetwork" not in unit


def test_systemd_analyze_rates_the_unit_ok():
    require_tool("systemd-analyze")
    out = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(UNIT)], capture_output=True,
                         text=True, timeout=60).stdout
    score = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", out).group(1))
    assert score <= 2.0, out[-2000:]
