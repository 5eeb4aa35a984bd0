"""The Live feed: a real ``voxwatch web`` subscribes over ZeroMQ, a real ``voxwatch replay`` publishes, and the
alert comes out of GET /api/events as a Server-Sent Event; stale daemons are marked in the snapshot."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import httpx
import pytest
from daemon_helpers import free_port
from web_helpers import WebServer, synthetic_clip

from voxwatch.monitor.state import MonitorState

pytest.importorskip("fastapi")
from voxwatch.web.live import live_snapshot  # noqa: E402


def sse_events(response: httpx.Response):
    """(event, data) pairs from a Server-Sent Events response, as they arrive."""
    kind, data = None, []
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and kind:
            yield kind, json.loads("\n".join(data))
            kind, data = None, []


def curve_options(tmp_path) -> tuple[list[str], list[str]]:
    """CURVE as ``tail`` has it: the replay binds as the server with an allow-list holding the web's public key;
    the web connects as a client with its key pair and the server's public key."""
    from voxwatch.transport.curve import generate_keys

    allow = tmp_path / "allow"
    allow.mkdir()
    server_public, server_secret = generate_keys(tmp_path / "keys", "daemon")
    web_public, web_secret = generate_keys(tmp_path / "keys", "web")
    shutil.copy(web_public, allow / "web.key")
    return (["--curve-secret", str(server_secret), "--curve-allow", str(allow)],
            ["--curve-secret", str(web_secret), "--curve-server-key", str(server_public)])


@pytest.mark.parametrize("curve", [False, True], ids=["plain", "curve"])
def test_an_alert_from_replay_arrives_as_a_server_sent_event(tmp_path, curve):
    clip = synthetic_clip(tmp_path)
    url = f"tcp://127.0.0.1:{free_port()}"
    replay_curve, web_curve = curve_options(tmp_path) if curve else ([], [])
    (tmp_path / "ev").mkdir()
    server = WebServer("--connect", url, "--evidence-dir", str(tmp_path / "ev"), *web_curve)
    replay = None
    try:
        with httpx.stream("GET", f"{server.url}/api/events", params={"type": ["alert", "snapshot"]},
                          timeout=httpx.Timeout(5.0, read=90.0)) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = sse_events(response)
            assert next(events)[0] == "snapshot"  # the state first, so a page can draw at once
            replay = subprocess.Popen([sys.executable, "-m", "voxwatch", "replay", "--fast", "--publish", url,
                                       "--wait-subscribers", "20", "--daemon-id", "replay-test", *replay_curve,
                                       str(clip)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            alert = next(body for kind, body in events if kind == "alert")
        assert alert["topic"] == "voxwatch.alert.synthetic" and alert["stream"] == "synthetic"
        assert alert["daemon"]["id"] == "replay-test" and alert["verdict"] == "fake"
        assert alert["score"] >= alert["threshold"]
        replay.communicate(timeout=60)
        assert replay.returncode == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the snapshot follows within a second
            live = httpx.get(f"{server.url}/api/live").json()
            if live["alerts"] and live["streams"]:
                break
            time.sleep(0.3)
        assert [(s["daemon"], s["stream"]) for s in live["streams"]] == [("replay-test", "synthetic")]
        assert live["alerts"][0]["stream"] == "synthetic" and live["streams"][0]["alerts"] >= 1
        assert httpx.get(f"{server.url}/api/health").json()["live"]["daemons"] == 1
    finally:
        if replay and replay.poll() is None:
            replay.kill()
            replay.communicate()
        err = server.close()
    assert "Traceback" not in err


def _status(daemon_id: str, seq: int) -> dict:
    return {"schema": 1, "type": "status", "daemon": {"id": daemon_id, "host": "h", "pid": 1}, "stream": None,
            "seq": seq, "ts": 0.0, "state": "running", "counters": {}, "heartbeat_s": 5.0}


def test_a_daemon_without_a_heartbeat_for_three_periods_is_marked_stale():
    state = MonitorState()
    state.apply("voxwatch.status", _status("quiet", 0), now=100.0)
    state.apply("voxwatch.status", _status("chatty", 0), now=100.0)
    state.apply("voxwatch.status", _status("chatty", 1), now=114.0)
    snapshot = live_snapshot(state, now=116.0, urls=["tcp://127.0.0.1:5556"])
    assert {d["id"]: d["stale"] for d in snapshot["daemons"]} == {"chatty": False, "quiet": True}
    assert {d["id"]: d["heartbeat_age_s"] for d in snapshot["daemons"]} == {"chatty": 2.0, "quiet": 16.0}
