"""systemd's notify protocol: READY/WATCHDOG/STOPPING datagrams on a real unix socket as ``$NOTIFY_SOCKET``, from a
real ``voxwatch run`` (virtual microphone), and watchdog pings that stop while the pipeline is wedged."""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from daemon_helpers import free_port, voxwatch
from helpers import build_mean_model, speech_like
from vmic import virtual_mic  # noqa: F401  (fixture)

from voxwatch.config import config_from_dict
from voxwatch.daemon.sdnotify import SystemdNotifier, WatchdogPinger
from voxwatch.pipeline.sources import write_blocks


class NotifySocket:
    """What systemd listens on: a unix datagram socket; ``messages`` returns (monotonic time, text) pairs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.received: list[tuple[float, str]] = []

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in m for _, m in self.received):
                return True
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                self.received.append((time.monotonic(), self.sock.recv(4096).decode()))
            except TimeoutError:
                pass
        return any(text in m for _, m in self.received)

    def pings(self, start: float = 0.0, end: float = float("inf")) -> int:
        return sum(1 for t, m in self.received if m == "WATCHDOG=1" and start <= t <= end)

    def close(self) -> None:
        self.sock.close()


def test_notifier_sends_datagrams_and_reads_the_watchdog_period(tmp_path):
    listener = NotifySocket(tmp_path / "notify")
    try:
        notifier = SystemdNotifier({"NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": "4000000"})
        assert notifier.watchdog_s == 4.0
        assert notifier.notify("READY=1", "STATUS=ok")
        assert listener.wait_for("READY=1\nSTATUS=ok", 2)
    finally:
        listener.close()
    assert SystemdNotifier({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}).watchdog_s is None  # not for us
    assert not SystemdNotifier({}).notify("READY=1")  # outside systemd: nothing, no error


class WedgeableClassifier:
    """The real classifier, except that once ``wedge`` is set its next call hangs until ``release`` is set."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.wedge, self.entered, self.release = threading.Event(), threading.Event(), threading.Event()

    def score(self, batch):
        if self.wedge.is_set() and not self.release.is_set():
            self.entered.set()
            self.release.wait(30)
        return self.inner.score(batch)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class LiveSource:
    description = "live"

    def __init__(self, audio) -> None:
        self.audio = audio

    def run(self, ring, stop, report) -> None:
        write_blocks(self.audio, ring, stop, 1600, realtime=True)


def test_watchdog_pings_stop_while_the_pipeline_is_wedged(tmp_path, loud_model):
    from voxwatch.model_loading import load_classifier
    from voxwatch.pipeline.runner import Pipeline

    config = config_from_dict({"features": {"kind": "logfbank", "nfilt": 40, "normalize": "none"}})
    classifier = WedgeableClassifier(load_classifier(str(loud_model), config))
    pipeline = Pipeline(config.pipeline, classifier, lambda event: None)
    listener = NotifySocket(tmp_path / "notify")
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": "600000"})
    pinger = WatchdogPinger(notifier, pipeline.stalled_s)  # pings every 0.3 s while stalled_s < 0.3 s

    def heartbeat_loop(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pinger.tick()
            listener.wait_for("never", 0.05)  # collects datagrams meanwhile

    pipeline.start()
    pipeline.add_stream("s", LiveSource(speech_like(20.0, 0.3, seed=5)))
    try:
        heartbeat_loop(1.5)
        assert listener.pings() >= 3  # alive: pings flow
        classifier.wedge.set()
        deadline = time.monotonic() + 5
        while not classifier.entered.is_set() and time.monotonic() < deadline:
            heartbeat_loop(0.05)
        assert classifier.entered.is_set(), "no window reached the classifier"
        wedged_at = time.monotonic()
        heartbeat_loop(2.0)
        assert listener.pings(wedged_at + 0.4, wedged_at + 2.0) == 0  # wedged: no pings
        classifier.release.set()
        heartbeat_loop(1.0)
        assert listener.pings(wedged_at + 2.0) >= 1  # progress again: pings resume
    finally:
        classifier.release.set()
        pipeline.stop(timeout=5)
        listener.close()


@pytest.mark.mic
def test_run_says_ready_pings_the_watchdog_and_says_stopping(virtual_mic, tmp_path, loud_config):  # noqa: F811
    model = build_mean_model(tmp_path / "mean.onnx")
    listener = NotifySocket(tmp_path / "notify")
    env = {**virtual_mic.env, "NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": "1000000"}
    proc = voxwatch("run", "--device", "pulse", "--model", str(model), "--config", str(loud_config), "--no-evidence",
                    "--publish", f"tcp://127.0.0.1:{free_port()}", env=env)
    try:
        assert listener.wait_for("READY=1", 30), proc.stderr.read() if proc.poll() is not None else "no READY=1"
        ready_at = next(t for t, m in listener.received if "READY=1" in m)
        listener.wait_for("never", 2.0)
        assert listener.pings(ready_at) >= 2  # every 0.5 s
        proc.send_signal(signal.SIGTERM)
        assert listener.wait_for("STOPPING=1", 10)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        listener.close()
    assert not any("READY=1" in m for t, m in listener.received if t < ready_at)
