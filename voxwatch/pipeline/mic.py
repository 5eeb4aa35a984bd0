"""Microphone capture: ``MicSource`` turns a PortAudio input device (via sounddevice) into a 16 kHz stream.

Real-time rules, and how they are kept:

* The PortAudio callback only copies the block (channel 0 of it) into a small preallocated *raw* ring buffer and
  bumps two counters. It never blocks (the ring's lock is held for one memcpy), never allocates beyond the view
  of ``indata``, never logs. Input overflows that PortAudio reports in the callback's status are counted.
* The source's own thread (started by the Pipeline) moves audio from the raw ring to the stream's ring buffer,
  resampling from the device rate to 16 kHz on the way (``StreamResampler``) when the device cannot be opened at
  16 kHz directly (we try 16 kHz first: most backends, PulseAudio included, resample better than we would).
* That thread is also the watchdog. When the stream dies (PortAudio finishes it, e.g. the device was unplugged or
  the sound server went away) or stalls (no callback for ``stall_s``), the source reports ``error``, closes the
  stream, and retries with exponential backoff; once audio flows again it reports ``recovered``. Other streams are
  unaffected. Stream time counts captured samples, so an outage does not appear as a gap in stream time.

``sounddevice`` is imported lazily (``import_sounddevice``): replay, score and the tests that do not open a
microphone work where PortAudio is absent, and where it is needed the error says how to install it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.portaudio_noise import quiet_stderr, route_alsa_errors
from voxwatch.pipeline.resampler import StreamResampler
from voxwatch.pipeline.ringbuffer import RingBuffer
from voxwatch.pipeline.sources import SAMPLE_RATE, StreamReporter

log = logging.getLogger(__name__)

PORTAUDIO_HINT = ("PortAudio is not installed, so microphones cannot be opened; install it with "
                  "'sudo apt-get install libportaudio2' (Debian/Ubuntu), 'sudo dnf install portaudio' (Fedora) "
                  "or 'brew install portaudio' (macOS)")

NO_INPUT_HINT = ("no audio input devices found: is a microphone plugged in and listed by 'arecord -l' (ALSA) or "
                 "'pactl list short sources' (PulseAudio/PipeWire)? May this user open it ('id -nG' should list "
                 "the 'audio' group: 'sudo usermod -aG audio $USER', then log in again; for the service, check "
                 "'sudo -u voxwatch voxwatch devices')? In a container, pass /dev/snd through. No microphone at all: "
                 "use a virtual one (README, 'No microphone? Use a virtual one')")


def import_sounddevice() -> Any:
    """Import sounddevice, turning a missing PortAudio library into a one-line VoxwatchError. ALSA's messages go
    to the debug log from here on (``portaudio_noise``)."""
    route_alsa_errors()
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError("PortAudio library not found")
        raise VoxwatchError(f"{PORTAUDIO_HINT} ({exc})") from None
    except ImportError as exc:
        raise VoxwatchError(f"the Python package sounddevice is missing ({exc}); pip install sounddevice") from None
    return sounddevice


@dataclass(frozen=True)
class CaptureSettings:
    """How microphones are opened and watched ([capture] in the config)."""

    devices: tuple[str, ...] = ()  # default devices for `voxwatch run` without --device ("" entries: system default)
    block_ms: int = 100  # PortAudio block size; the callback runs this often (each wake-up costs CPU)
    raw_buffer_s: float = 2.0  # callback -> resampler ring; covers scheduling hiccups of the source thread
    latency: str = "high"  # PortAudio suggested latency: "low", "high" or seconds as a string
    retry_initial_s: float = 0.5  # first retry after a device error; doubles up to retry_max_s
    retry_max_s: float = 10.0
    stall_s: float = 3.0  # no callback for this long (once running) counts as a device error
    start_timeout_s: float = 8.0  # a freshly opened stream may take this long to deliver its first block
    system_audio: bool = False  # also capture what this computer plays (voxwatch.pipeline.system_audio)

    def __post_init__(self) -> None:
        from voxwatch.errors import ConfigError

        if self.block_ms <= 0 or self.raw_buffer_s <= 0 or self.stall_s <= 0 or self.start_timeout_s <= 0:
            raise ConfigError("capture.block_ms, raw_buffer_s, stall_s and start_timeout_s must be > 0")
        if self.retry_initial_s <= 0 or self.retry_max_s < self.retry_initial_s:
            raise ConfigError("capture.retry_initial_s must be > 0 and <= retry_max_s")
        if self.latency not in ("low", "high"):
            try:
                float(self.latency)
            except ValueError:
                raise ConfigError('capture.latency must be "low", "high" or a number of seconds') from None

    @property
    def suggested_latency(self) -> str | float:
        return self.latency if self.latency in ("low", "high") else float(self.latency)


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_rate: float
    hostapi: str = ""


class AudioHost(Protocol):
    """What a ``MicSource`` needs of its host: PortAudio's (``PortAudioHost``) or the sound server's monitor
    through parec (voxwatch.pipeline.system_audio)."""

    def find(self, spec: str | int | None) -> InputDevice: ...

    def refresh(self) -> bool: ...

    def supports(self, device: InputDevice, rate: int, channels: int) -> bool: ...

    def open_input(self, device: InputDevice, rate: int, channels: int, block: int, latency: str | float,
                   callback: Any, finished: Any) -> Any: ...

    def close(self, stream: Any) -> None: ...


class PortAudioHost:
    """One per process: device lookup and PortAudio re-initialisation shared by every ``MicSource``.

    PortAudio only scans devices when it is initialised, so finding a device that came back (a USB microphone
    re-plugged, a sound server restarted) needs a re-initialisation, which would kill every open stream. This
    object re-initialises only while no stream is open, and the sources ask it to before a retry.
    """

    def __init__(self) -> None:
        self.sd = import_sounddevice()
        self._lock = threading.Lock()
        self._open = 0

    def input_devices(self) -> list[InputDevice]:
        with self._lock, quiet_stderr():
            devices = self.sd.query_devices()
            apis = self.sd.query_hostapis()
        found = []
        for dev in devices:
            if dev["max_input_channels"] > 0:
                api = apis[dev["hostapi"]]["name"] if dev["hostapi"] < len(apis) else ""
                found.append(InputDevice(dev["index"], dev["name"], dev["max_input_channels"],
                                         float(dev["default_samplerate"]), api))
        return found

    def find(self, spec: str | int | None) -> InputDevice:
        """An input device by index, exact name, or case-insensitive name substring; None/"" is the default."""
        devices = self.input_devices()
        if not devices:
            raise VoxwatchError(NO_INPUT_HINT)
        if spec is None or spec == "":
            with self._lock, quiet_stderr():
                default = self.sd.default.device[0]
                if default is None or default < 0:
                    try:
                        default = self.sd.query_devices(kind="input")["index"]
                    except Exception:  # no default input: take the first one
                        return devices[0]
            match = [d for d in devices if d.index == default]
            return match[0] if match else devices[0]
        text = str(spec).strip()
        if text.isdigit():
            match = [d for d in devices if d.index == int(text)]
            if match:
                return match[0]
            raise VoxwatchError(f"no input device with index {text} (see 'voxwatch devices')")
        exact = [d for d in devices if d.name == text]
        if exact:
            return exact[0]
        partial = [d for d in devices if text.lower() in d.name.lower()]
        if not partial:
            raise VoxwatchError(f"no input device matches {text!r} (see 'voxwatch devices')")
        if len(partial) > 1:
            log.info("device %r matches %d devices; using %s", text, len(partial), partial[0].name)
        return partial[0]

    def refresh(self) -> bool:
        """Re-scan devices if no stream is open (True if it did)."""
        with self._lock, quiet_stderr():
            if self._open:
                return False
            try:
                self.sd._terminate()
                self.sd._initialize()
            except Exception as exc:  # pragma: no cover - depends on the audio system
                log.debug("PortAudio re-initialisation failed: %s", exc)
            return True

    def open_input(self, device: InputDevice, rate: int, channels: int, block: int, latency: str | float,
                   callback: Any, finished: Any) -> Any:
        with self._lock, quiet_stderr():
            stream = self.sd.InputStream(device=device.index, samplerate=rate, channels=channels, dtype="float32",
                                         blocksize=block, latency=latency, callback=callback,
                                         finished_callback=finished)
            self._open += 1
        try:
            with quiet_stderr():
                stream.start()
        except Exception:
            self.close(stream)
            raise
        return stream

    def close(self, stream: Any) -> None:
        try:
            with quiet_stderr():
                stream.abort(ignore_errors=True)
                stream.close(ignore_errors=True)
        except Exception as exc:  # a dead device can make even closing fail
            log.debug("closing input stream: %s", exc)
        with self._lock:
            self._open = max(0, self._open - 1)

    def supports(self, device: InputDevice, rate: int, channels: int) -> bool:
        try:
            with self._lock, quiet_stderr():
                self.sd.check_input_settings(device=device.index, samplerate=rate, channels=channels,
                                             dtype="float32")
            return True
        except Exception:
            return False


class DeviceFailure(Exception):
    """The device errored, vanished or stalled; the source retries."""


class MicSource:
    """A live input device as a pipeline source (see the module docstring)."""

    def __init__(self, host: AudioHost, device: str | int | None, settings: CaptureSettings | None = None,
                 stream_id: str = "") -> None:
        self.host = host
        self.spec = device
        self.settings = settings or CaptureSettings()
        self.device = host.find(device)  # fail fast on a wrong name at startup
        self.description = f"mic:{self.device.name}"
        self.stream_id = stream_id
        # counters, read by heartbeats/metrics
        self.overflows = 0  # PortAudio input overflows (audio lost before it reached us)
        self.callbacks = 0
        self.raw_dropped = 0  # samples lost because this thread fell behind the callback (raw ring overflow)
        self.errors = 0
        self.recoveries = 0
        self.rate = 0  # rate the device is opened at
        self.state = "starting"  # starting | capturing | error | stopped
        self.last_error = ""
        self._raw: RingBuffer | None = None
        self._finished = threading.Event()

    # ------------------------------------------------------------------ callback (PortAudio thread)
    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.input_overflow:
            self.overflows += 1
        self._raw.write(indata[:, 0])  # type: ignore[union-attr]
        self.callbacks += 1

    def _on_finished(self) -> None:
        self._finished.set()

    # ------------------------------------------------------------------ source thread
    def stats(self) -> dict[str, Any]:
        return {"device": self.device.name, "rate": self.rate, "capture_state": self.state,
                "overflows": self.overflows, "capture_dropped_s": round(self.raw_dropped / max(self.rate, 1), 3),
                "device_errors": self.errors, "recoveries": self.recoveries}

    def run(self, ring: RingBuffer, stop: threading.Event, report: StreamReporter) -> None:
        delay = self.settings.retry_initial_s
        failing = False
        while not stop.is_set():
            try:
                self._capture(ring, stop, report if failing else None)
                break  # stop was set
            except DeviceFailure as exc:
                if self.state == "capturing":  # audio flowed since the last failure: this is a new outage
                    failing = False
                self.state = "error"
                self.last_error = str(exc)
                self.errors += 1
                if not failing:
                    report("error", f"{self.description}: {exc}; retrying")
                    failing = True
                    delay = self.settings.retry_initial_s
                log.warning("stream %s: %s; retrying in %.1f s", self.stream_id or self.description, exc, delay)
                if stop.wait(delay):
                    break
                delay = min(delay * 2, self.settings.retry_max_s)
                self.host.refresh()
                try:
                    self.device = self.host.find(self.spec if self.spec not in (None, "") else self.device.name)
                except VoxwatchError as find_exc:
                    log.debug("device not back yet: %s", find_exc)
        self.state = "stopped"

    def _open(self) -> Any:
        settings = self.settings
        channels = 1 if self.host.supports(self.device, SAMPLE_RATE, 1) or self.device.channels < 1 else \
            min(2, self.device.channels)
        rate = SAMPLE_RATE if self.host.supports(self.device, SAMPLE_RATE, channels) else \
            int(self.device.default_rate)
        self.rate = rate
        self._raw = RingBuffer(max(int(settings.raw_buffer_s * rate), 1))
        self._finished.clear()
        block = max(1, rate * settings.block_ms // 1000)
        try:
            return self.host.open_input(self.device, rate, channels, block, settings.suggested_latency,
                                        self._callback, self._on_finished)
        except Exception as exc:
            raise DeviceFailure(f"cannot open {self.device.name!r}: {str(exc).splitlines()[0]}") from None

    def _capture(self, ring: RingBuffer, stop: threading.Event, report: StreamReporter | None) -> None:
        """Capture until ``stop``; raise DeviceFailure when the device fails. ``report`` set: announce recovery."""
        stream = self._open()
        resampler = StreamResampler(self.rate, SAMPLE_RATE)
        raw = self._raw
        assert raw is not None
        dropped_before = self.raw_dropped
        poll = self.settings.block_ms / 2000
        opened = time.monotonic()
        last_count, last_change = self.callbacks, opened
        flowing = False

        def move() -> None:
            _, block = raw.read()
            if len(block):
                out = resampler.process(block)
                if len(out):
                    ring.write(out)

        closed = False
        try:
            while not stop.is_set():
                stop.wait(poll)
                move()
                now = time.monotonic()
                if self.callbacks != last_count:
                    last_count, last_change = self.callbacks, now
                    if not flowing:
                        flowing = True
                        self.state = "capturing"
                        if report is not None:
                            self.recoveries += 1
                            report("recovered", f"{self.description}: capturing again at {self.rate} Hz")
                self.raw_dropped = dropped_before + raw.dropped
                if self._finished.is_set() or not stream.active:
                    raise DeviceFailure(f"input stream on {self.device.name!r} stopped (device gone or errored)")
                limit = self.settings.stall_s if flowing else self.settings.start_timeout_s
                if now - last_change > limit:
                    raise DeviceFailure(f"no audio from {self.device.name!r} for {now - last_change:.1f} s")
            self.host.close(stream)
            closed = True
            move()  # stopping: what the callback captured before the stream closed still reaches the pipeline
        finally:
            if not closed:
                self.host.close(stream)
