"""MicSource without a sound card: a fake PortAudio host drives the callback from a thread, so capture,
resampling, overflow counting and the error/retry/recovered path are checked deterministically. The real
PortAudio path through a virtual microphone is in test_run_e2e.py."""

from __future__ import annotations

import builtins
import re
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.signal import resample_poly

from voxwatch.errors import VoxwatchError
from voxwatch.pipeline import mic as mic_module
from voxwatch.pipeline.mic import CaptureSettings, InputDevice, MicSource, PortAudioHost, import_sounddevice
from voxwatch.pipeline.resampler import StreamResampler
from voxwatch.pipeline.ringbuffer import RingBuffer


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_stream_resampler_matches_resample_poly_on_the_whole_signal(rate):
    rng = np.random.default_rng(rate)
    x = rng.standard_normal(rate).astype(np.float32)
    r = StreamResampler(rate)
    out, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 1500))
        out.append(r.process(x[i:i + n]))
        i += n
    y = np.concatenate(out)
    ref = resample_poly(x.astype(np.float64), r.up, r.down)
    assert len(ref) - 40 <= len(y) <= len(ref)  # the last few samples wait for audio that never comes
    np.testing.assert_allclose(y, ref[:len(y)], atol=1e-5)


def test_stream_resampler_passthrough_at_16k():
    x = np.arange(100, dtype=np.float32)
    np.testing.assert_array_equal(StreamResampler(16000).process(x), x)


class FakeStream:
    """Calls the callback from a thread with a sine at the device rate, like PortAudio would."""

    def __init__(self, rate, channels, block, callback, finished, overflow_every=0, fail_after=None):
        self.rate, self.channels, self.block = rate, channels, block
        self.callback, self.finished = callback, finished
        self.overflow_every, self.fail_after = overflow_every, fail_after
        self.active = False
        self._stop = threading.Event()
        self.n = 0

    def start(self):
        self.active = True
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        t = 0
        while not self._stop.is_set():
            if self.fail_after is not None and self.n >= self.fail_after:
                self.active = False
                self.finished()
                return
            idx = np.arange(t, t + self.block)
            data = np.repeat((0.5 * np.sin(2 * np.pi * 440 * idx / self.rate))[:, None], self.channels, 1)
            status = SimpleNamespace(input_overflow=bool(self.overflow_every and self.n % self.overflow_every == 1))
            self.callback(data.astype(np.float32), self.block, None, status)
            t += self.block
            self.n += 1
            time.sleep(self.block / self.rate / 4)  # 4x real time

    def stop(self):
        self._stop.set()
        self.active = False


class FakeHost:
    """Stands in for PortAudioHost: one device; ``plan`` says what each open does (a FakeStream kwargs or an error)."""

    def __init__(self, native_rate=48000, supports_16k=False, plan=None):
        self.device = InputDevice(3, "USB mic", 2, float(native_rate))
        self.supports_16k = supports_16k
        self.plan = list(plan or [{}])
        self.opened: list[FakeStream] = []
        self.refreshes = 0

    def find(self, spec):
        return self.device

    def supports(self, device, rate, channels):
        return rate == device.default_rate or (rate == 16000 and self.supports_16k)

    def open_input(self, device, rate, channels, block, latency, callback, finished):
        step = self.plan.pop(0) if self.plan else {}
        if step == "fail":
            raise RuntimeError("Error opening InputStream: device unavailable")
        stream = FakeStream(rate, channels, block, callback, finished, **step)
        self.opened.append(stream)
        stream.start()
        return stream

    def close(self, stream):
        stream.stop()

    def refresh(self):
        self.refreshes += 1


def run_source(source, seconds):
    ring = RingBuffer(16000 * 30)
    stop = threading.Event()
    reports = []
    thread = threading.Thread(target=source.run, args=(ring, stop, lambda s, d="": reports.append((s, d))))
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    return ring, reports


def test_mic_source_resamples_native_rate_to_16k_and_counts_overflows():
    host = FakeHost(native_rate=48000, plan=[{"overflow_every": 5}])
    source = MicSource(host, "USB", CaptureSettings(block_ms=20), stream_id="usb")
    ring, reports = run_source(source, 1.0)
    assert source.rate == 48000 and source.description == "mic:USB mic"
    _, audio = ring.read()
    fed = host.opened[0].n * host.opened[0].block
    assert abs(len(audio) - fed / 3) <= host.opened[0].block / 3 + 40  # 48 kHz -> 16 kHz (± a block in flight)
    spectrum = np.abs(np.fft.rfft(audio[2000:18000] if len(audio) > 18000 else audio[2000:]))
    peak_hz = np.argmax(spectrum) * 16000 / (2 * (len(spectrum) - 1))
    assert abs(peak_hz - 440) < 5  # the tone survives resampling at the right pitch
    expected = sum(1 for k in range(host.opened[0].n) if k % 5 == 1)
    assert expected >= 5 and abs(source.overflows - expected) <= 1
    assert source.stats()["overflows"] == source.overflows
    assert reports == []  # no errors on a healthy device


def test_mic_source_opens_at_16k_when_the_device_supports_it():
    host = FakeHost(native_rate=44100, supports_16k=True)
    source = MicSource(host, None, CaptureSettings())
    ring, _ = run_source(source, 0.4)
    assert source.rate == 16000
    assert ring.written == host.opened[0].n * host.opened[0].block


def test_mic_source_reports_error_retries_with_backoff_and_recovers():
    # first stream dies after 10 blocks, two opens fail, the third open works
    host = FakeHost(plan=[{"fail_after": 10}, "fail", "fail", {}])
    settings = CaptureSettings(retry_initial_s=0.05, retry_max_s=0.2, stall_s=1.0)
    source = MicSource(host, "USB", settings, stream_id="usb")
    ring, reports = run_source(source, 1.5)
    states = [s for s, _ in reports]
    assert states == ["error", "recovered"]  # one error per outage, not one per failed retry
    assert "USB mic" in reports[0][1]
    assert source.errors == 3 and source.recoveries == 1 and host.refreshes >= 3
    assert len(host.opened) == 2 and host.opened[1].n > 0
    assert ring.written > 10 * 960 / 3  # audio from before and after the outage


def test_a_second_outage_after_a_recovery_is_reported_and_backs_off_from_the_start(caplog):
    # outage 1: the stream dies, one open fails, then audio flows; outage 2: the same again
    host = FakeHost(plan=[{"fail_after": 10}, "fail", {"fail_after": 10}, "fail", {}])
    settings = CaptureSettings(retry_initial_s=0.1, retry_max_s=0.4, stall_s=1.0)
    source = MicSource(host, "USB", settings, stream_id="usb")
    with caplog.at_level("WARNING", logger="voxwatch.pipeline.mic"):
        _, reports = run_source(source, 2.0)
    assert [s for s, _ in reports] == ["error", "recovered", "error", "recovered"]
    delays = [float(d) for d in re.findall(r"retrying in ([\d.]+) s", caplog.text)]
    assert delays == [0.1, 0.2, 0.1, 0.2]  # each outage's back-off starts at retry_initial_s
    assert source.errors == 4 and source.recoveries == 2


def test_mic_source_treats_a_stalled_device_as_an_error():
    host = FakeHost(plan=[{}, {}])
    settings = CaptureSettings(retry_initial_s=0.05, stall_s=0.2)
    source = MicSource(host, "USB", settings)
    ring = RingBuffer(16000 * 10)
    stop = threading.Event()
    reports = []
    thread = threading.Thread(target=source.run, args=(ring, stop, lambda s, d="": reports.append((s, d))))
    thread.start()
    time.sleep(0.3)
    host.opened[0]._stop.set()  # callbacks stop, but the stream still claims to be active
    host.opened[0].active = True
    time.sleep(1.0)
    stop.set()
    thread.join(5)
    assert [s for s, _ in reports] == ["error", "recovered"]
    assert "no audio" in reports[0][1]


def test_missing_portaudio_is_a_one_line_error_naming_libportaudio2(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(VoxwatchError, match="libportaudio2"):
        import_sounddevice()


def test_device_lookup_by_index_exact_name_and_substring(monkeypatch):
    devices = [
        {"index": 0, "name": "HDA Intel: output", "hostapi": 0, "max_input_channels": 0, "default_samplerate": 48000},
        {"index": 1, "name": "USB Audio Mic", "hostapi": 0, "max_input_channels": 1, "default_samplerate": 44100},
        {"index": 2, "name": "pulse", "hostapi": 0, "max_input_channels": 32, "default_samplerate": 44100},
    ]
    fake_sd = SimpleNamespace(query_devices=lambda kind=None: devices, query_hostapis=lambda: [{"name": "ALSA"}],
                              default=SimpleNamespace(device=[2, 0]))
    monkeypatch.setattr(mic_module, "import_sounddevice", lambda: fake_sd)
    host = PortAudioHost()
    assert [d.index for d in host.input_devices()] == [1, 2]  # output-only devices are not listed
    assert host.find("1").name == "USB Audio Mic"
    assert host.find("usb").index == 1
    assert host.find("pulse").index == 2
    assert host.find(None).index == 2  # the system default input
    with pytest.raises(VoxwatchError, match="no input device matches 'hdmi'"):
        host.find("hdmi")
    with pytest.raises(VoxwatchError, match="index 0"):
        host.find("0")  # an output-only device is not an input


def test_no_input_devices_says_what_to_do(monkeypatch, capsys):
    """run and devices without any microphone: the same one line with what to check, exit 2 (devices: not 0)."""
    outputs = [{"index": 0, "name": "HDMI", "hostapi": 0, "max_input_channels": 0, "default_samplerate": 48000}]
    fake_sd = SimpleNamespace(query_devices=lambda kind=None: outputs, query_hostapis=lambda: [{"name": "ALSA"}],
                              default=SimpleNamespace(device=[-1, 0]))
    monkeypatch.setattr(mic_module, "import_sounddevice", lambda: fake_sd)
    with pytest.raises(VoxwatchError) as exc:
        PortAudioHost().find(None)
    for hint in ("arecord -l", "pactl list short sources", "'audio' group", "No microphone? Use a virtual one"):
        assert hint in str(exc.value)
    from voxwatch.cli import main

    assert main(["devices"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0] == f"voxwatch: error: {exc.value}"
