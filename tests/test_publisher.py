import json
import subprocess
import sys
import time

import pytest
import zmq

from voxwatch.config import PublishSettings
from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.types import StreamEvent
from voxwatch.transport.endpoints import is_loopback_endpoint
from voxwatch.transport.publisher import EventPublisher
from voxwatch.transport.subscriber import EventSubscriber


def started(**kw) -> EventPublisher:
    pub = EventPublisher(PublishSettings(bind=("tcp://127.0.0.1:*",), daemon_id="t", **kw),
                         stats=lambda: {"audio_s": 1.0, "streams": {"a": {"state": "silence"}}})
    pub.start()
    return pub


def test_heartbeat_events_and_final_status_reach_subscriber():
    pub = started(heartbeat_s=0.2)
    sub = EventSubscriber(pub.bound)
    try:
        assert pub.wait_for_subscribers(1, 5)
        pub.submit(StreamEvent("a", "started", source="x.wav"))
        seen = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len([b for _, b in seen if b["type"] == "status"]) < 2:
            event = sub.receive(100)
            if event:
                seen.append(event)
        types = [b["type"] for _, b in seen]
        assert "stream" in types and types.count("status") >= 2
        status = next(b for _, b in seen if b["type"] == "status")
        assert status["counters"]["audio_s"] == 1.0 and status["streams"] == {"a": {"state": "silence"}}
        assert status["daemon"]["id"] == "t"
        pub.close()
        last = None
        while (event := sub.receive(500)) is not None:
            last = event
        assert last[1]["type"] == "status" and last[1]["state"] == "stopping"
        assert sub.seq.gaps == {}
    finally:
        sub.close()
        pub.close()


def test_submit_never_blocks_and_counts_drops():
    pub = EventPublisher(PublishSettings(bind=("tcp://127.0.0.1:*",), queue_size=10))
    # not started: nothing drains the queue, as with a stuck publisher thread
    t0 = time.perf_counter()
    results = [pub.submit(StreamEvent("a", "started")) for _ in range(1000)]
    assert time.perf_counter() - t0 < 1.0
    assert results.count(True) == 10 and pub.events_dropped == 990


def test_slow_subscriber_does_not_slow_publishing():
    pub = started(sndhwm=100, queue_size=100000)
    ctx = zmq.Context.instance()
    slow = ctx.socket(zmq.SUB)  # subscribes but never reads
    slow.setsockopt(zmq.RCVHWM, 10)
    slow.setsockopt(zmq.SUBSCRIBE, b"")
    slow.connect(pub.bound[0])
    try:
        assert pub.wait_for_subscribers(1, 5)
        for i in range(20000):
            pub.submit(StreamEvent("a", "started", detail=str(i)))
        deadline = time.monotonic() + 20
        while pub.events_published + pub.events_dropped < 20000 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pub.events_published >= 20000  # ZeroMQ dropped for the slow reader; we never waited for it
    finally:
        slow.close(0)
        pub.close(timeout=1)


def test_bind_conflict_is_a_clear_error():
    first = started()
    try:
        with pytest.raises(VoxwatchError, match="cannot use endpoint"):
            EventPublisher(PublishSettings(bind=(first.bound[0],))).start()
    finally:
        first.close()


def test_loopback_detection():
    assert is_loopback_endpoint("tcp://127.0.0.1:5556") and is_loopback_endpoint("tcp://localhost:1")
    assert is_loopback_endpoint("ipc:///tmp/x") and is_loopback_endpoint("tcp://[::1]:5")
    assert not is_loopback_endpoint("tcp://0.0.0.0:5556") and not is_loopback_endpoint("tcp://10.1.2.3:5")


def test_tail_prints_json_lines_and_skips_malformed():
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.XPUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    proc = subprocess.Popen([sys.executable, "-m", "voxwatch", "tail", "--connect", f"tcp://127.0.0.1:{port}",
                             "--count", "1", "--timeout", "20", "--with-topic"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert pub.poll(15000), "tail subscribed"
        pub.recv()
        pub.send_multipart([b"voxwatch.stream.a", b"{broken"])
        good = {"schema": 1, "type": "stream", "daemon": {"id": "d"}, "stream": "a", "seq": 0, "ts": 1.0,
                "state": "started"}
        pub.send_multipart([b"voxwatch.stream.a", json.dumps(good).encode()])
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
        pub.close(0)
    assert proc.returncode == 0
    assert json.loads(out) == {"topic": "voxwatch.stream.a", **good}
    assert "malformed" in err


def _tail_text(port: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "voxwatch", "tail", "--connect", f"tcp://127.0.0.1:{port}",
                             "--format", "text", "--count", "1", "--timeout", "20", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("heartbeats", [False, True])
def test_tail_text_hides_heartbeats_unless_asked(heartbeats):
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.XPUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    proc = _tail_text(port, *(["--heartbeats"] if heartbeats else []))
    common = {"schema": 1, "daemon": {"id": "desk-1"}, "ts": 1.0}
    status = {**common, "type": "status", "stream": None, "seq": 0, "state": "running", "counters": {}}
    verdict = {**common, "type": "verdict", "stream": "a", "seq": 1, "utterance": 0, "start_s": 0.5, "end_s": 2.5,
               "score": 0.2, "threshold": 0.5, "verdict": "real", "model": {"id": "m"}, "latency_ms": 1.0}
    try:
        assert pub.poll(15000), "tail subscribed"
        pub.recv()
        pub.send_multipart([b"voxwatch.status", json.dumps(status).encode()])
        pub.send_multipart([b"voxwatch.verdict.a", json.dumps(verdict).encode()])
        out, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
        pub.close(0)
    expected = "voxwatch.status: daemon desk-1 running" if heartbeats else "stream a 0.5-2.5 s: REAL 0.20"
    assert out.startswith(expected), out


def test_tail_that_received_nothing_before_its_timeout_says_so():
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.XPUB)  # a publisher that never says anything
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    try:
        done = subprocess.run([sys.executable, "-m", "voxwatch", "tail", "--connect", f"tcp://127.0.0.1:{port}",
                               "--timeout", "0.5"], capture_output=True, text=True, timeout=60)
    finally:
        pub.close(0)
    assert done.returncode == 0 and done.stdout == ""
    assert f"no events from tcp://127.0.0.1:{port} in 0.5 s" in done.stderr
