"""A virtual microphone for tests: a private PulseAudio server with a null sink whose monitor is the default source.

PortAudio (through the ALSA ``pulse`` plugin) then lists an input device named ``pulse``; ``paplay -d vmic`` plays
into it. Each ``VirtualMic`` uses its own runtime directory (``PULSE_RUNTIME_PATH``), so it never touches another
PulseAudio on the machine; subprocesses get that variable through ``env``. Works as root (CI) and as a user.

``virtual_mic`` (the fixture) skips when pulseaudio/pactl/paplay are missing, unless VOXWATCH_REQUIRE_ALL_TESTS is
set (CI), where a missing tool or a server that does not start fails the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

TOOLS = ("pulseaudio", "pactl", "paplay", "parec")


class VirtualMic:
    def __init__(self, runtime: Path) -> None:
        self.runtime = runtime
        self.runtime.mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime, 0o700)
        self.env = {**os.environ, "PULSE_RUNTIME_PATH": str(runtime), "PULSE_STATE_PATH": str(runtime),
                    "XDG_RUNTIME_DIR": str(runtime)}
        self.env.pop("PULSE_SERVER", None)
        self.pid: int | None = None

    def start(self, timeout: float = 15.0) -> None:
        cmd = ["pulseaudio", "-n", "--daemonize=yes", "--exit-idle-time=-1", "--disallow-exit",
               "--load=module-null-sink sink_name=vmic", "--load=module-native-protocol-unix"]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"pulseaudio did not start: {proc.stderr.strip()}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._pactl("set-default-source", "vmic.monitor").returncode == 0:
                self.pid = int((self.runtime / "pid").read_text().split()[0])
                return
            time.sleep(0.1)
        raise RuntimeError("pulseaudio started but pactl cannot reach it")

    def kill(self) -> None:
        """Kill the server by its pid (as a crash would), and wait until it is gone."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(self.pid):
            time.sleep(0.05)
        # a zombie still answers kill(pid, 0), which a new server would take for a running one
        (self.runtime / "pid").unlink(missing_ok=True)
        self.pid = None

    def play(self, path: Path | str, wait: bool = True, sink: str = "vmic") -> subprocess.Popen:
        proc = subprocess.Popen(["paplay", "-d", sink, str(path)], env=self.env)
        if wait:
            proc.wait(timeout=60)
        return proc

    def add_room(self, name: str = "room") -> str:
        """A second null sink whose monitor becomes the default source (what microphones record), while ``vmic``
        stays the default sink (what ``--system-audio`` records): two independent sides, like a call's."""
        for args in (("load-module", "module-null-sink", f"sink_name={name}"),
                     ("set-default-source", f"{name}.monitor"), ("set-default-sink", "vmic")):
            proc = self._pactl(*args)
            if proc.returncode != 0:
                raise RuntimeError(f"pactl {' '.join(args)}: {proc.stderr.strip()}")
        return name

    def _pactl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10)


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a daemonized server's parent may never reap it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return False
    return fields[0] != "Z"


def require_pulse() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        if os.environ.get("VOXWATCH_REQUIRE_ALL_TESTS"):
            pytest.fail(f"virtual microphone needs {', '.join(missing)} (apt-get install pulseaudio pulseaudio-utils)")
        pytest.skip(f"tool(s) missing for the virtual microphone: {', '.join(missing)}")


@pytest.fixture
def virtual_mic(tmp_path_factory):
    require_pulse()
    mic = VirtualMic(tmp_path_factory.mktemp("pulse"))
    mic.start()
    try:
        yield mic
    finally:
        mic.kill()
