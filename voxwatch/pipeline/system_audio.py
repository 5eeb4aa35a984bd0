"""System audio: what this computer plays (the remote side of a call), captured as a stream of its own.

A call's cloned voice comes out of the speakers or headset, so it never reaches a microphone; PulseAudio and
PipeWire (through its pulse layer) offer each output ("sink") as a *monitor* source, ``<sink>.monitor``.

How it is captured, and why: ``parec`` (pulseaudio-utils) records the default sink's monitor as a subprocess,
asking the sound server for 16 kHz mono float samples. The alternatives cannot keep the microphone independent:
``PULSE_SOURCE`` redirects *every* stream the process opens through ALSA's ``pulse`` device (the microphone
too), and switching the default source would move the user's other applications. A parec process per stream
touches nothing else, works the same on PulseAudio and PipeWire, and lets the server do the resampling.

``ParecHost`` stands in for ``PortAudioHost`` under an ordinary ``MicSource``: a reader thread feeds parec's
output to the source's callback block by block, as PortAudio would, so the capture ring, the stall watchdog, the
error / retry with backoff / recovered cycle and the counters are the microphone's own. The monitor is looked up
again on each retry, so when the output disappears (a headset unplugged) capture moves to the new default; a
change of default while the old output still exists is not noticed (parec keeps recording the old monitor).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.mic import CaptureSettings, InputDevice, MicSource
from voxwatch.pipeline.samplerate import SAMPLE_RATE

log = logging.getLogger(__name__)

SYSTEM_AUDIO_STREAM = "system-audio"  # the stream id: events and the monitor say which side of a call it is
DEFAULT_MONITOR = "@DEFAULT_MONITOR@"  # parec's name for the default sink's monitor; resolved to a real name
_INSTEAD = ("to watch a call's remote side without one, route the call's output into an input device (e.g. an "
            "ALSA loopback, snd-aloop) and pass that with --device")
_NO_SERVER_HINT = ("system audio capture needs PulseAudio or PipeWire (with pipewire-pulse) and their tools pactl "
                   f"and parec (sudo apt-get install pulseaudio-utils); {_INSTEAD}")
_NO_OVERFLOW = SimpleNamespace(input_overflow=False)


@dataclass(frozen=True)
class MonitorSource:
    """A sound server source that carries what one output plays. ``default``: the default sink's monitor."""

    index: int
    name: str
    sink: str
    default: bool


def _pactl(*args: str) -> str:
    if shutil.which("pactl") is None:
        raise VoxwatchError(f"pactl not found: {_NO_SERVER_HINT}")
    try:
        proc = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        raise VoxwatchError("the sound server did not answer pactl within 10 s") from None
    if proc.returncode != 0:
        said = (proc.stderr.strip().splitlines() or ["no answer"])[0]
        raise VoxwatchError(f"no PulseAudio/PipeWire sound server to ask for system audio ({said}); {_INSTEAD}")
    return proc.stdout


def default_sink() -> str:
    """The default output's name (``pactl info`` works where ``get-default-sink`` is too new)."""
    for line in _pactl("info").splitlines():
        if line.startswith("Default Sink:"):
            return line.split(":", 1)[1].strip()
    return ""


def monitor_sources() -> list[MonitorSource]:
    """Every monitor source the sound server offers, the default sink's marked."""
    sink = default_sink()
    found = []
    for line in _pactl("list", "short", "sources").splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[1].endswith(".monitor") and fields[0].isdigit():
            name = fields[1]
            found.append(MonitorSource(int(fields[0]), name, name[: -len(".monitor")], name == f"{sink}.monitor"))
    return found


def find_monitor(spec: str | None = None) -> MonitorSource:
    """A monitor source by exact name; ``None``, "" or ``@DEFAULT_MONITOR@``: the default sink's."""
    monitors = monitor_sources()
    if not monitors:
        raise VoxwatchError(f"the sound server offers no monitor source to capture system audio from; {_INSTEAD}")
    if spec in (None, "", DEFAULT_MONITOR):
        default = [m for m in monitors if m.default]
        if not default:
            raise VoxwatchError(f"there is no default output (sink) whose monitor could be captured "
                                f"(monitors: {', '.join(m.name for m in monitors)})")
        return default[0]
    match = [m for m in monitors if m.name == spec]
    if not match:
        raise VoxwatchError(f"no monitor source named {spec!r} (see 'voxwatch devices')")
    return match[0]


class _ParecStream:
    """A running parec, shaped like a PortAudio input stream: a thread calls ``callback`` per block."""

    def __init__(self, monitor: str, rate: int, block: int, callback: Any, finished: Any) -> None:
        self.active = False
        self._block, self._callback, self._finished = block, callback, finished
        self._proc = subprocess.Popen(
            ["parec", f"--device={monitor}", f"--rate={rate}", "--channels=1", "--format=float32le", "--raw",
             f"--latency-msec={max(10, 1000 * block // rate)}", "--client-name=voxwatch"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._thread = threading.Thread(target=self._read, name=f"parec-{monitor[:30]}", daemon=True)

    def start(self) -> None:
        self.active = True
        self._thread.start()

    def _read(self) -> None:
        size = self._block * 4
        assert self._proc.stdout is not None
        try:
            while True:
                data = self._proc.stdout.read(size)
                if len(data) < 4:
                    break
                samples = np.frombuffer(data[: len(data) // 4 * 4], dtype="<f4").reshape(-1, 1)
                self._callback(samples, len(samples), None, _NO_OVERFLOW)
        finally:
            self.active = False
            code = self._proc.poll()
            if code not in (None, 0, -15):
                said = self._proc.stderr.read().decode(errors="replace").strip() if self._proc.stderr else ""
                log.warning("parec exited with status %s: %s", code, said.splitlines()[-1] if said else "")
            self._finished()

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(2)
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe:
                pipe.close()


class ParecHost:
    """The ``PortAudioHost`` interface over the sound server's monitor sources (see the module docstring)."""

    def __init__(self) -> None:
        if shutil.which("parec") is None:
            raise VoxwatchError(f"parec not found: {_NO_SERVER_HINT}")

    def find(self, spec: str | int | None) -> InputDevice:
        monitor = find_monitor(None if spec is None else str(spec))
        return InputDevice(monitor.index, monitor.name, 1, float(SAMPLE_RATE), "PulseAudio monitor")

    def supports(self, device: InputDevice, rate: int, channels: int) -> bool:  # noqa: ARG002
        return True  # the sound server converts to whatever rate and channel count parec asks for

    def open_input(self, device: InputDevice, rate: int, channels: int, block: int,  # noqa: ARG002
                   latency: str | float, callback: Any, finished: Any) -> _ParecStream:
        stream = _ParecStream(device.name, rate, block, callback, finished)
        stream.start()
        return stream

    def close(self, stream: _ParecStream) -> None:
        stream.stop()

    def refresh(self) -> bool:
        return True  # the monitor is looked up again by name on each retry; nothing to re-scan


def system_audio_source(settings: CaptureSettings) -> MicSource:
    """The default sink's monitor as a pipeline source (a VoxwatchError, one line, where there is none)."""
    source = MicSource(ParecHost(), DEFAULT_MONITOR, settings, stream_id=SYSTEM_AUDIO_STREAM)
    source.description = f"system audio:{source.device.name}"
    return source
