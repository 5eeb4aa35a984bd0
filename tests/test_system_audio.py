"""System audio (``voxwatch run --system-audio``): finding the default output's monitor, the one-line errors
where there is none, and end to end through a private PulseAudio: speech played into the default sink is judged
on the ``system-audio`` stream while the microphone stream (another sink's monitor) stays independent, and
``[streams.system-audio]`` decision overrides apply and reload on SIGHUP.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from daemon_helpers import free_port, write_config
from test_run_e2e import BASE_CONFIG, mic_model, speech, start_daemon, stop, verdict  # noqa: F401 (fixtures)
from vmic import virtual_mic  # noqa: F401  (fixture)

from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.system_audio import find_monitor, monitor_sources

PIPEWIRE_SOURCES = ("50\talsa_input.usb-Headset-00.mono-fallback\tPipeWire\ts16le 1ch 48000Hz\tSUSPENDED\n"
                    "51\talsa_output.usb-Headset-00.analog-stereo.monitor\tPipeWire\ts16le 2ch 48000Hz\tIDLE\n"
                    "52\talsa_output.pci-0000_00_1f.3.analog-stereo.monitor\tPipeWire\ts32le 2ch 48000Hz\tIDLE\n")


def fake_pactl(tmp_path: Path, monkeypatch, sources: str, default_sink: str) -> None:
    """A pactl on PATH that answers ``info`` and ``list short sources`` like a PipeWire server would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "sources.txt").write_text(sources)
    tool = bin_dir / "pactl"
    tool.write_text(f"#!{sys.executable}\nimport sys\n"
                    f"if sys.argv[1:] == ['info']: print('Server Name: PulseAudio (on PipeWire 1.0.5)\\n"
                    f"Default Sink: {default_sink}\\nDefault Source: x')\n"
                    f"else: sys.stdout.write(open({str(tmp_path / 'sources.txt')!r}).read())\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_monitors_are_listed_and_the_default_outputs_is_marked(tmp_path, monkeypatch):
    fake_pactl(tmp_path, monkeypatch, PIPEWIRE_SOURCES, "alsa_output.usb-Headset-00.analog-stereo")
    monitors = monitor_sources()
    assert [(m.index, m.sink, m.default) for m in monitors] == [
        (51, "alsa_output.usb-Headset-00.analog-stereo", True),
        (52, "alsa_output.pci-0000_00_1f.3.analog-stereo", False)]  # the microphone is not a monitor
    assert find_monitor().name == "alsa_output.usb-Headset-00.analog-stereo.monitor"
    assert find_monitor("alsa_output.pci-0000_00_1f.3.analog-stereo.monitor").index == 52
    with pytest.raises(VoxwatchError, match="no monitor source named 'nope'"):
        find_monitor("nope")


def test_no_monitor_source_is_a_clear_error(tmp_path, monkeypatch):
    fake_pactl(tmp_path, monkeypatch, PIPEWIRE_SOURCES.splitlines(keepends=True)[0], "x")
    with pytest.raises(VoxwatchError, match="offers no monitor source.*--device"):
        find_monitor()


def test_run_system_audio_without_a_sound_server_is_one_line(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no pactl, no parec
    proc = subprocess.run([sys.executable, "-m", "voxwatch", "run", "--system-audio", "--publish",
                           f"tcp://127.0.0.1:{free_port()}"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voxwatch: error: parec not found"), proc.stderr
    assert "pulseaudio-utils" in lines[0] and "--device" in lines[0]


@pytest.mark.mic
def test_devices_marks_the_monitor_sources(virtual_mic):  # noqa: F811
    virtual_mic.add_room()
    proc = subprocess.run([sys.executable, "-m", "voxwatch", "devices", "--json"], env=virtual_mic.env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    monitors = {d["name"]: d for d in map(json.loads, proc.stdout.splitlines()) if d["monitor"]}
    assert set(monitors) == {"vmic.monitor", "room.monitor"}
    assert monitors["vmic.monitor"]["default"] and not monitors["room.monitor"]["default"]


def side(stream: str, expected: str, threshold: float | None = None):
    match = verdict(expected, threshold)
    return lambda t, b: match(t, b) and b["stream"] == stream


def both_capturing(topic: str, body: dict) -> bool:
    streams = body.get("streams", {}) if body["type"] == "status" else {}
    return all(streams.get(s, {}).get("capture_state") == "capturing" for s in ("pulse", "system-audio"))


@pytest.mark.mic
def test_run_judges_system_audio_and_microphone_as_separate_streams(virtual_mic, mic_model, speech,  # noqa: F811
                                                                    tmp_path):
    room = virtual_mic.add_room()  # the microphone ("pulse") now records the room sink; vmic is the output
    proc, events, config = start_daemon(tmp_path, virtual_mic, mic_model, 0.5, "--system-audio")
    try:
        beat = events.wait_for(both_capturing, timeout=30)
        assert beat["streams"]["system-audio"]["device"] == "vmic.monitor"  # the default output's monitor
        assert beat["streams"]["pulse"]["device"] == "pulse"

        # the remote side: speech played to the computer's output is judged on the system-audio stream only
        mark = events.count()
        virtual_mic.play(speech["loud"])
        fake = events.wait_for(side("system-audio", "fake"), timeout=10, after=mark)
        events.wait_for(lambda t, b: t == "voxwatch.alert.system-audio", timeout=2, after=mark)
        # the local side: the microphone hears the room, not the output
        virtual_mic.play(speech["quiet"], sink=room)
        real = events.wait_for(side("pulse", "real"), timeout=10, after=mark)
        judged = [(b["stream"], b["verdict"]) for b in events.of_type("verdict", after=mark)]
        assert judged == [("system-audio", "fake"), ("pulse", "real")]
        assert fake["score"] > 0.5 > real["score"]

        # per-stream decision settings, reloaded by SIGHUP: a stricter threshold for the system-audio stream only
        write_config(config, BASE_CONFIG.format(evidence=tmp_path / "evidence", threshold=0.5)
                     + "[streams.system-audio]\nthreshold = 0.99\n")
        proc.send_signal(signal.SIGHUP)
        events.wait_for(lambda t, b: b["type"] == "status" and b["streams"]["system-audio"].get("threshold") == 0.99
                        and b["streams"]["pulse"].get("threshold") == 0.5, timeout=5)
        mark = events.count()
        virtual_mic.play(speech["loud"])
        strict = events.wait_for(side("system-audio", "real", 0.99), timeout=10, after=mark)
        assert strict["score"] > 0.5  # the same loud speech, now under the stream's own threshold
        virtual_mic.play(speech["loud"], sink=room)
        events.wait_for(side("pulse", "fake", 0.5), timeout=10, after=mark)  # the microphone kept [decision]
        assert [b for b in events.of_type("stream") if b["state"] == "error"] == []
    finally:
        rc = stop(proc, events)
    stderr = proc.stderr.read()
    assert rc == 0, stderr
    last = events.of_type("status")[-1]
    assert last["state"] == "stopping" and last["streams"]["system-audio"]["rate"] == 16000  # parec asks for 16 kHz
    assert last["counters"]["dropped_s"] == 0 and last["streams"]["system-audio"]["capture_dropped_s"] == 0
    ended = [b for b in events.of_type("stream") if b["stream"] == "system-audio" and b["state"] == "ended"]
    assert ended and ended[0]["source"] == "system audio:vmic.monitor"  # events say which side it is
