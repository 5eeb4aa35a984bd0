"""A fleet on loopback: `voxwatch broker`, three `voxwatch replay --connect` daemons, one subscriber on the backend.

Every daemon's events arrive with its own contiguous seq and nothing lost; killing one daemon leaves the others
flowing while the monitor's state model reports its heartbeat stale; restarting it resumes (a restart, not loss).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import LOUDNESS_TOML, silence, speech_like, write_wav

from voxwatch.monitor.state import MonitorState
from voxwatch.transport.subscriber import EventSubscriber

HEARTBEAT_S = 0.3
FLEET_CONFIG = f'{LOUDNESS_TOML}\n[publish]\nheartbeat_s = {HEARTBEAT_S}\n'
VOX = [sys.executable, "-m", "voxwatch"]


@pytest.fixture(scope="module")
def fleet_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fleet")
    loud, quiet = (lambda s, seed: speech_like(s, 0.3, seed=seed)), (lambda s, seed: speech_like(s, 0.02, seed=seed))
    files = {
        # ~10 s each at real-time pace: still running when the third daemon is killed
        "a": [silence(0.5), loud(2.5, 11), silence(1.5), quiet(2.5, 12), silence(1.5), loud(1.5, 13), silence(1.0)],
        "b": [silence(0.5), quiet(3.0, 21), silence(1.5), loud(2.5, 22), silence(1.5), quiet(1.5, 23), silence(1.0)],
        "c": [silence(0.5)] + [part for i in range(10) for part in (loud(2.0, 30 + i), silence(1.5))],  # 35 s
        "c2": [silence(0.5), loud(2.5, 41), silence(1.0)],
    }
    paths = {name: write_wav(d / f"{name}.wav", np.concatenate(parts)) for name, parts in files.items()}
    paths["config"] = d / "fleet.toml"
    paths["config"].write_text(FLEET_CONFIG)
    return paths


class Fleet:
    """The subscriber side: every event received, folded into the monitor's state model."""

    def __init__(self, backend: str) -> None:
        self.subscriber = EventSubscriber([backend])
        self.state = MonitorState()
        self.events: list[tuple[float, str, dict]] = []

    def pump(self, until, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            event = self.subscriber.receive(100)
            now = time.monotonic()
            if event:
                topic, body = event
                self.state.apply(topic, body, now)
                self.events.append((now, topic, body))
            if until(now):
                return True
        return False

    def of(self, daemon: str, pid: int | None = None, kind: str | None = None) -> list[dict]:
        return [b for _, _, b in self.events if b["daemon"]["id"] == daemon
                and (pid is None or b["daemon"]["pid"] == pid) and (kind is None or b["type"] == kind)]

    def stopped(self, daemon: str, pid: int | None = None) -> bool:
        return any(b["state"] == "stopping" for b in self.of(daemon, pid, "status"))


def start_daemon(daemon_id: str, audio: Path, frontend: str, files: dict, model: Path, pace: str) -> subprocess.Popen:
    return subprocess.Popen(VOX + ["replay", pace, "--model", str(model), "--config", str(files["config"]),
                                   "--connect", frontend, "--daemon-id", daemon_id, "--wait-subscribers", "20",
                                   "--json", str(audio)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_complete(fleet: Fleet, daemon: str, pid: int, summary: dict) -> None:
    """No loss: contiguous seq, and every verdict/alert/stream event the daemon's own summary reports."""
    bodies = fleet.of(daemon, pid)
    seqs = [b["seq"] for b in bodies]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"{daemon}: seq gap"
    assert seqs[0] <= 1, f"{daemon}: only the heartbeat sent while connecting may miss the subscriber"
    for row in summary["streams"]:
        stream = row["stream"]
        verdicts = [b for b in bodies if b["type"] == "verdict" and b["stream"] == stream]
        alerts = [b for b in bodies if b["type"] == "alert" and b["stream"] == stream]
        assert len(verdicts) == row["utterances"] >= 1 and len(alerts) == row["alerts"], (daemon, row)
        states = [b["state"] for b in bodies if b["type"] == "stream" and b["stream"] == stream]
        assert states == ["started", "ended"], (daemon, states)
    assert bodies[-1]["type"] == "status" and bodies[-1]["state"] == "stopping"


def test_fleet_through_broker(fleet_files, loud_model):
    broker = subprocess.Popen(VOX + ["broker", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*",
                                     "--heartbeat", str(HEARTBEAT_S), "--id", "test-broker"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    procs: list[subprocess.Popen] = [broker]
    fleet = None
    try:
        frontend, backend = re.findall(r"tcp://127\.0\.0\.1:\d+", broker.stderr.readline())
        fleet = Fleet(backend)
        # the broker's own heartbeat arriving proves our subscription is in place at the broker
        assert fleet.pump(lambda now: fleet.of("test-broker"), 10), "no broker heartbeat"

        start = lambda name, audio, pace="--realtime": start_daemon(  # noqa: E731
            name, fleet_files[audio], frontend, fleet_files, loud_model, pace)
        d1, d2, d3 = start("d1", "a"), start("d2", "b"), start("d3", "c")
        procs += [d1, d2, d3]

        def all_streaming(now):
            started = {b["daemon"]["id"] for _, _, b in fleet.events if b["type"] == "stream"}
            return {"d1", "d2", "d3"} <= started and len(fleet.of("d3", kind="status")) >= 2

        assert fleet.pump(all_streaming, 40), "daemons did not all start streaming"
        d3_pid = fleet.of("d3")[0]["daemon"]["pid"]
        d3.send_signal(signal.SIGKILL)
        d3.wait(10)
        killed_at = time.monotonic()
        stale_seen: list[bool] = []

        def check_stale(now):
            if now - killed_at > 3 * HEARTBEAT_S + 0.6 and not stale_seen and not fleet.stopped("d1") \
                    and not fleet.stopped("d2"):
                stale = {daemon.id for daemon, _ in fleet.state.stale(now)}
                stale_seen.append("d3" in stale and not stale & {"d1", "d2"})
            return fleet.stopped("d1") and fleet.stopped("d2")

        assert fleet.pump(check_stale, 40), "d1/d2 did not finish"
        assert stale_seen == [True], "monitor state: d3 stale while d1 and d2 are fresh"
        for name in ("d1", "d2"):  # the others kept flowing after the kill
            assert [b for t, _, b in fleet.events if t > killed_at + 0.5 and b["daemon"]["id"] == name
                    and b["type"] in ("verdict", "status")]
        summaries = {}
        for name, proc in (("d1", d1), ("d2", d2)):
            out, err = proc.communicate(timeout=20)
            assert proc.returncode == 0, err
            summaries[name] = json.loads(out)
            assert_complete(fleet, name, fleet.of(name)[0]["daemon"]["pid"], summaries[name])
        before_kill = [b["seq"] for b in fleet.of("d3", d3_pid)]
        assert before_kill == list(range(before_kill[0], before_kill[0] + len(before_kill)))

        # restart d3: a new process under the same id resumes; the monitor sees a restart, not loss, and no stale
        d3b = start("d3", "c2", "--fast")
        procs.append(d3b)
        fresh: list[bool] = []

        def resumed(now):
            new = [b for b in fleet.of("d3", kind="status") if b["daemon"]["pid"] != d3_pid]
            if new and not fresh:
                fresh.append("d3" not in {d.id for d, _ in fleet.state.stale(now)})
            return bool(new) and new[-1]["state"] == "stopping"

        assert fleet.pump(resumed, 40), "restarted d3 did not publish"
        out, err = d3b.communicate(timeout=20)
        assert d3b.returncode == 0, err
        new_pid = fleet.of("d3")[-1]["daemon"]["pid"]
        assert new_pid != d3_pid and fresh == [True]
        assert_complete(fleet, "d3", new_pid, json.loads(out))
        assert fleet.state.gaps() == {}  # per-daemon seq: nothing lost anywhere, the restart is not a gap
        assert fleet.subscriber.malformed == 0

        groups = {daemon.id: [row.stream for row in rows] for daemon, rows in fleet.state.grouped()}
        assert groups["d1"] == ["a"] and groups["d2"] == ["b"] and set(groups["d3"]) == {"c", "c2"}
        broker_status = fleet.of("test-broker", kind="status")[-1]
        assert broker_status["role"] == "broker" and {"d1", "d2", "d3"} <= set(broker_status["daemons"])
        assert broker_status["counters"]["malformed"] == 0 and broker_status["counters"]["messages_forwarded"] > 20

        broker.send_signal(signal.SIGTERM)
        _, err = broker.communicate(timeout=10)
        assert broker.returncode == 0 and "stopped" in err and "Traceback" not in err
    finally:
        if fleet:
            fleet.subscriber.close()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
