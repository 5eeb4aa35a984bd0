"""End to end through a (virtual) microphone: `voxwatch run --device pulse` as a subprocess, audio played into a
private PulseAudio null sink, events read on a real SUB socket.

The model reacts to loudness (``build_mean_model`` on un-normalised features), so loud speech is "fake" and the
same speech 28 dB quieter is "real". Covered: verdicts and alerts, evidence clips (mode 0600), SIGHUP reloading
the threshold without a restart, SIGTERM with a final ``stopping`` status and exit 0; and the fault path: the
sound server killed mid-stream -> stream error, heartbeats go on, server back -> recovered, verdicts flow again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from daemon_helpers import EventCollector, free_port, voxwatch, write_config
from helpers import build_mean_model, silence, speech_like, write_wav
from vmic import virtual_mic  # noqa: F401  (fixture)

from voxwatch.pipeline.sources import load_audio

pytestmark = pytest.mark.mic

BASE_CONFIG = """
[features]
kind = "logfbank"
nfilt = 40
normalize = "none"
[publish]
heartbeat_s = 0.5
daemon_id = "e2e"
[capture]
stall_s = 2.0
retry_initial_s = 0.3
retry_max_s = 1.0
[evidence]
dir = "{evidence}"
pad_s = 0.2
[decision]
threshold = {threshold}
"""


@pytest.fixture(scope="module")
def mic_model(tmp_path_factory) -> Path:
    # espeak-ng speech at peak 0.5 averages about -10 in log filterbank energy, 28 dB quieter about -16.5
    return build_mean_model(tmp_path_factory.mktemp("micmodel") / "mean.onnx", scale=1.0, offset=-13.0)


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> dict[str, Path]:
    """Real speech from espeak-ng (synthetic speech-like audio where espeak-ng is absent and not required)."""
    d = tmp_path_factory.mktemp("speech")
    if shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-w", str(d / "raw.wav"), "the quick brown fox jumps over the lazy dog"],
                       check=True, capture_output=True)
        voice = load_audio(d / "raw.wav")
        voice = voice / np.abs(voice).max()
    elif os.environ.get("VOXWATCH_REQUIRE_ALL_TESTS"):
        pytest.fail("espeak-ng missing")
    else:
        voice = speech_like(2.5, 1.0) / 0.3 * 0.6
    files = {}
    for name, peak in (("loud", 0.5), ("quiet", 0.02)):
        audio = np.concatenate([silence(0.3, 0.0), voice * peak, silence(0.6, 0.0)]).astype(np.float32)
        files[name] = write_wav(d / f"{name}.wav", audio)
    return files


def start_daemon(tmp_path: Path, mic, model: Path, threshold: float = 0.5, *extra: str):
    url = f"tcp://127.0.0.1:{free_port()}"
    config = write_config(tmp_path / "run.toml", BASE_CONFIG.format(evidence=tmp_path / "evidence",
                                                                    threshold=threshold))
    collector = EventCollector(url)
    proc = voxwatch("run", "-v", "--device", "pulse", "--model", str(model), "--config", str(config),
                    "--publish", url, *extra, env=mic.env)
    return proc, collector, config


def capturing(topic: str, body: dict) -> bool:
    stream = body.get("streams", {}).get("pulse", {}) if body["type"] == "status" else {}
    return stream.get("capture_state") == "capturing"


def verdict(expected: str, threshold: float | None = None):
    def match(topic: str, body: dict) -> bool:
        return (body["type"] == "verdict" and body["verdict"] == expected
                and (threshold is None or abs(body["threshold"] - threshold) < 1e-6))
    return match


def stop(proc: subprocess.Popen, collector: EventCollector) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        collector.close()
    return rc


def test_run_mic_verdicts_evidence_sighup_and_sigterm(virtual_mic, mic_model, speech, tmp_path):  # noqa: F811
    metrics_port = free_port()
    # two devices at once (ALSA's "default" also records from the virtual mic): one stream each
    proc, events, config = start_daemon(tmp_path, virtual_mic, mic_model, 0.5, "--metrics-port", str(metrics_port),
                                        "--device", "default")
    try:
        events.wait_for(capturing, timeout=20)
        started = events.wait_for(lambda t, b: b["type"] == "stream", timeout=1) if events.of_type("stream") \
            else None
        virtual_mic.play(speech["loud"])
        fake = events.wait_for(lambda t, b: verdict("fake")(t, b) and b["stream"] == "pulse", timeout=10)
        assert fake["daemon"]["id"] == "e2e" and fake["score"] > 0.5
        events.wait_for(lambda t, b: verdict("fake")(t, b) and b["stream"] == "default", timeout=5)
        alert = events.wait_for(lambda t, b: t == "voxwatch.alert.pulse", timeout=2)
        assert alert["utterance"] == fake["utterance"]
        scraped = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
        assert 'voxwatch_alerts_total{stream="pulse"} 1.0' in scraped
        mark = events.count()
        virtual_mic.play(speech["quiet"])
        real = events.wait_for(lambda t, b: verdict("real")(t, b) and b["stream"] == "pulse", timeout=10, after=mark)
        assert real["score"] < 0.5 and real["utterance"] > fake["utterance"]

        # evidence: one clip per alert (one per stream), private files
        evidence = tmp_path / "evidence"
        events.wait_for(lambda t, b: b["type"] == "status" and b["counters"].get("evidence_saved") == 2, timeout=5)
        clips = sorted(evidence.glob("*.flac"))
        assert sorted(p.name.split("-")[1] for p in clips) == ["default", "pulse"]
        for clip_path in clips:
            for path in (clip_path, clip_path.with_suffix(".json")):
                assert stat.S_IMODE(path.stat().st_mode) == 0o600
            clip = load_audio(clip_path)
            assert 1.5 < len(clip) / 16000 < 6.0 and np.abs(clip).max() > 0.2  # the loud speech, not silence
        assert stat.S_IMODE(evidence.stat().st_mode) == 0o700

        # SIGHUP: a new threshold applies to the next utterance, capture goes on without a restart
        write_config(config, BASE_CONFIG.format(evidence=evidence, threshold=0.99))
        audio_before = events.of_type("status")[-1]["counters"]["audio_s"]
        proc.send_signal(signal.SIGHUP)
        events.wait_for(lambda t, b: b["type"] == "status" and b["counters"].get("threshold") == 0.99, timeout=5)
        mark = events.count()
        virtual_mic.play(speech["loud"])
        judged = events.wait_for(lambda t, b: verdict("real", 0.99)(t, b) and b["stream"] == "pulse", timeout=10,
                                 after=mark)
        assert judged["score"] > 0.5  # the same loud speech, now under the raised threshold
        assert not [b for b in events.of_type("stream", after=0) if b["state"] in ("error", "ended")]
        status = events.of_type("status")[-1]
        assert status["daemon"]["pid"] == proc.pid and status["counters"]["audio_s"] > audio_before
    finally:
        rc = stop(proc, events)
    stderr = proc.stderr.read()
    assert rc == 0, stderr
    last = events.of_type("status")[-1]
    assert last["state"] == "stopping"
    assert last["counters"]["dropped_s"] == 0 and last["streams"]["pulse"]["capture_dropped_s"] == 0  # no audio lost
    assert "SIGHUP: reloaded" in stderr
    # -v after the sub-command is taken; one start-up line; log lines carry a time stamp (no JOURNAL_STREAM)
    start = [line for line in stderr.splitlines() if line.startswith("voxwatch run: model ")]
    assert len(start) == 1 and "streams: pulse = mic:pulse" in start[0] and f"bound {events.url}" in start[0]
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} voxwatch: WARNING: SIGHUP: reloaded", stderr, re.M)
    assert started is None or started["state"] == "started"
    seqs = [b["seq"] for _, b in events.events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # nothing lost between daemon and this subscriber


def test_run_survives_sound_server_crash(virtual_mic, mic_model, speech, tmp_path):  # noqa: F811
    proc, events, _ = start_daemon(tmp_path, virtual_mic, mic_model)
    try:
        events.wait_for(capturing, timeout=20)
        mark = events.count()
        virtual_mic.kill()  # the device vanishes mid-stream
        error = events.wait_for(lambda t, b: t == "voxwatch.stream.pulse" and b["state"] == "error", timeout=10,
                                after=mark)
        assert "pulse" in error["detail"]
        at_error = events.count()
        # the daemon keeps publishing heartbeats while the device is gone
        events.wait_for(lambda t, b: b["type"] == "status", timeout=3, after=at_error)
        beats = events.wait_for(lambda t, b: b["type"] == "status" and b["streams"]["pulse"]["capture_state"]
                                == "error", timeout=3, after=at_error)
        assert beats["streams"]["pulse"]["device_errors"] >= 1
        virtual_mic.start()
        events.wait_for(lambda t, b: t == "voxwatch.stream.pulse" and b["state"] == "recovered", timeout=20,
                        after=at_error)
        events.wait_for(capturing, timeout=10, after=events.count())
        mark = events.count()
        virtual_mic.play(speech["loud"])
        events.wait_for(verdict("fake"), timeout=10, after=mark)
        # SIGTERM in the middle of an utterance: capture stops, and the utterance still gets its final verdict
        mark = events.count()
        player = virtual_mic.play(speech["loud"], wait=False)
        events.wait_for(lambda t, b: b["type"] == "status" and b["streams"]["pulse"]["state"] == "speech",
                        timeout=5, after=mark)
        time.sleep(1.0)  # more speech than min_segment_s (0.5 s), less than the 2.5 s clip
    finally:
        rc = stop(proc, events)
    player.wait(10)
    assert rc == 0, proc.stderr.read()
    tail = [b for _, b in events.events[mark:]]
    assert tail[-1]["type"] == "status" and tail[-1]["state"] == "stopping"
    assert [b for b in tail if b["type"] == "verdict"], "no final verdict for the interrupted utterance"


def test_run_unknown_device_is_one_line_error(virtual_mic, mic_model):  # noqa: F811
    proc = subprocess.run([sys.executable, "-m", "voxwatch", "run", "--device", "no-such-device-xyz", "--model",
                           str(mic_model), "--publish", f"tcp://127.0.0.1:{free_port()}"], env=virtual_mic.env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "no input device matches 'no-such-device-xyz'" in proc.stderr and "Traceback" not in proc.stderr


def test_devices_lists_the_virtual_microphone(virtual_mic):  # noqa: F811
    proc = subprocess.run([sys.executable, "-m", "voxwatch", "devices", "--json"], env=virtual_mic.env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    devices = [json.loads(line) for line in proc.stdout.splitlines()]
    pulse = [d for d in devices if d["name"] == "pulse"]
    assert pulse and pulse[0]["channels"] >= 1 and pulse[0]["default_rate"] > 0
