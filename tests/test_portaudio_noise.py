"""PortAudio's and ALSA's own lines stay out of voxwatch's stderr (issue 34): they go to the debug log.

Real libraries, in subprocesses (what reaches descriptor 2 is the point): ALSA's error lines through libasound's
handler, from any thread; PortAudio's ``Expression ... failed`` lines around the calls voxwatch makes, against a
virtual microphone whose sound server is killed (the daemon's retry after a lost device)."""

from __future__ import annotations

import ctypes.util
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from vmic import virtual_mic  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env or ENV)


def _require_alsa() -> None:
    if ctypes.util.find_library("asound") is None:
        if os.environ.get("VOXWATCH_REQUIRE_ALL_TESTS"):
            pytest.fail("libasound (ALSA) is missing")
        pytest.skip("no libasound (ALSA) on this machine")


ALSA_ERROR = """
import ctypes, logging, sys
logging.basicConfig(level=logging.DEBUG if "-v" in sys.argv else logging.WARNING, format="LOG %(message)s")
from voxwatch.pipeline.mic import import_sounddevice
try:
    import_sounddevice()
except Exception as exc:  # no PortAudio: ALSA is quieted all the same
    print("no portaudio:", exc)
pcm = ctypes.c_void_p()
print("open:", ctypes.CDLL("libasound.so.2").snd_pcm_open(ctypes.byref(pcm), b"voxwatch-no-such-pcm", 1, 1))
"""


def test_alsa_error_lines_go_to_the_debug_log_not_to_stderr():
    _require_alsa()
    plain = _python(ALSA_ERROR)
    assert plain.returncode == 0 and "open: -" in plain.stdout, plain.stderr
    assert "ALSA lib" not in plain.stderr and plain.stderr == ""
    verbose = _python(ALSA_ERROR.replace('"-v" in sys.argv', "True"))
    assert "LOG ALSA: Unknown PCM" in verbose.stderr and "ALSA lib" not in verbose.stderr


LOST_SERVER = """
import logging, os, signal, sys, time
logging.basicConfig(level=logging.WARNING, format="LOG %(message)s")
from voxwatch.pipeline.mic import PortAudioHost
host = PortAudioHost()
device = host.find("pulse")
os.kill(int(sys.argv[1]), signal.SIGKILL)  # the sound server goes away; PortAudio still lists its device
time.sleep(0.5)
print("supports:", host.supports(device, 16000, 1))
try:
    host.open_input(device, 16000, 1, 1600, "high", lambda *a: None, lambda: None)
except Exception as exc:
    print("cannot open:", exc)
sys.stderr.write("our own line\\n")
"""


def test_a_lost_sound_server_leaves_no_portaudio_or_alsa_lines(virtual_mic):  # noqa: F811
    """What the daemon does when a device is lost and another stream keeps PortAudio from re-scanning: check the
    device and open it again. Those calls fail, quietly; other output of the process is kept."""
    done = subprocess.run([sys.executable, "-c", LOST_SERVER, str(virtual_mic.pid)], capture_output=True, text=True,
                          timeout=60, env={**virtual_mic.env, "PYTHONPATH": str(ROOT)})
    virtual_mic.pid = None  # killed by the child
    assert done.returncode == 0, done.stderr
    assert "supports: False" in done.stdout and "cannot open:" in done.stdout
    assert "ALSA lib" not in done.stderr and "Expression '" not in done.stderr, done.stderr
    assert done.stderr == "our own line\n"


def test_voxwatch_devices_prints_no_alsa_lines(virtual_mic):  # noqa: F811
    for env in (virtual_mic.env, {k: v for k, v in virtual_mic.env.items() if not k.startswith("PULSE")}
                | {"XDG_RUNTIME_DIR": str(virtual_mic.runtime / "none")}):
        done = subprocess.run([sys.executable, "-m", "voxwatch", "devices"], capture_output=True, text=True,
                              timeout=60, env={**env, "PYTHONPATH": str(ROOT)})
        assert "ALSA lib" not in done.stderr and "Expression '" not in done.stderr, done.stderr
        assert done.returncode in (0, 2) and len(done.stderr.splitlines()) <= 1, done.stderr


def test_quiet_stderr_sorts_what_a_call_printed(capfd, caplog):
    from voxwatch.pipeline.portaudio_noise import quiet_stderr

    with caplog.at_level(logging.DEBUG, logger="voxwatch.pipeline.portaudio_noise"), quiet_stderr():
        os.write(2, b"ALSA lib pulse.c:242:(pulse_connect) PulseAudio: Unable to connect\n\n")
        os.write(2, b"Expression 'ret' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 1736\n")
        with quiet_stderr():  # re-entrant
            os.write(2, b"a line of someone else's\n")
    assert capfd.readouterr().err == "a line of someone else's\n"
    assert [r.getMessage() for r in caplog.records] == [
        "PortAudio: ALSA lib pulse.c:242:(pulse_connect) PulseAudio: Unable to connect",
        "PortAudio: Expression 'ret' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 1736"]
