"""Fuzzing the receiving side: random and malformed frames into decode_message, EventSubscriber (tail/monitor),
the monitor's state model, the tail command and the broker. Everything malformed is counted and skipped; nothing
crashes; a valid message after the junk still gets through."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest
import zmq

from voxwatch.monitor.state import MonitorState
from voxwatch.transport.broker import Broker, BrokerSettings
from voxwatch.transport.events import MAX_MESSAGE_BYTES, MalformedMessage, decode_message
from voxwatch.transport.subscriber import EventSubscriber

SMALL_MAX = 64 * 1024  # a small limit keeps the "huge" frames cheap


def valid(seq: int = 0, daemon: str = "fuzz", kind: str = "verdict") -> list[bytes]:
    body = {"schema": 1, "type": kind, "daemon": {"id": daemon, "host": "h", "pid": 7}, "stream": "s", "seq": seq,
            "ts": time.time()}
    if kind == "verdict":
        body.update(utterance=1, start_s=0.0, end_s=1.0, score=0.9, threshold=0.5, verdict="fake",
                    model={"id": "m", "sha256": "0" * 64}, latency_ms=1.0)
    else:
        body.update(state="running", counters={})
    return [f"voxwatch.{kind}.s".encode() if kind != "status" else b"voxwatch.status", json.dumps(body).encode()]


def malformed_corpus(rng: random.Random, max_bytes: int) -> list[list[bytes]]:
    """Messages that must all be rejected: every frame fits under ``max_bytes`` (so ZeroMQ delivers them)."""
    topic, raw = valid()
    good = json.loads(raw)

    def with_(**changes):
        body = {**good, **changes}
        for key, value in changes.items():
            if value is ...:
                body.pop(key)
        return [topic, json.dumps(body).encode()]

    corpus = [
        [topic],  # one frame
        [topic, raw, b"extra"],  # three frames
        [topic, raw, raw, raw],
        [topic, b"{not json"],
        [topic, b"\xff\xfe\x00garbage"],  # not UTF-8
        [topic, b"[1, 2, 3]"],  # JSON, not an object
        [topic, b"null"],
        [topic, b"[" * 100000 + b"]" * 100000 if max_bytes > 200000 else b"[" * 5000],  # deep nesting
        with_(schema=2), with_(schema="1"), with_(schema=None), with_(schema=...),
        with_(type="nonsense"), with_(type=...), with_(seq=-1), with_(seq="3"), with_(seq=True), with_(seq=...),
        with_(daemon="host"), with_(daemon={"host": "x"}), with_(ts="now"), with_(ts=...),
        with_(score="high"), with_(verdict="maybe"), with_(stream=None), with_(start_s=...), with_(model=...),
        [b"voxwatch.alert.s", raw],  # topic does not match the type
        [b"\xff\xfe", raw],  # topic not UTF-8
        [b"x" * (max_bytes // 2), b"y" * (max_bytes // 2 + 10)],  # frames fit, the message does not
    ]
    for _ in range(60):  # random bytes, random frame counts
        n = rng.choice([1, 2, 2, 2, 3, 5])
        corpus.append([bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))) for _ in range(n)])
    for _ in range(40):  # valid JSON with random values in the checked fields
        body = dict(good)
        for key in rng.sample(sorted(body), 2):
            body[key] = rng.choice([None, -5, "x", [], {}, 1.5, True])
        frames = [topic, json.dumps(body).encode()]
        try:
            decode_message(frames, max_bytes)
        except MalformedMessage:
            corpus.append(frames)
    return corpus


# --------------------------------------------------------------------------------------------- decode_message
def check_frames(frames: list[bytes]) -> None:
    try:
        topic, body = decode_message(frames)
    except MalformedMessage:
        return
    assert isinstance(topic, str) and isinstance(body, dict)


MONITOR_KEYS = ["schema", "type", "daemon", "stream", "seq", "ts", "state", "counters", "streams", "score", "verdict",
                "heartbeat_s", "start_s", "end_s", "latency_ms", "threshold"]


def check_monitor(changes: dict, kind: str) -> None:
    """Bodies with arbitrary values: decode_message rejects them or MonitorState folds them in without raising."""
    topic, raw = valid(kind=kind if kind != "alert" else "verdict")
    body = {**json.loads(raw), **changes}
    if kind == "alert":
        body["type"], topic = "alert", b"voxwatch.alert.s"
    frames = [topic, json.dumps(body).encode()]
    try:
        decoded_topic, decoded = decode_message(frames)
    except MalformedMessage:
        return
    state = MonitorState()
    state.apply(decoded_topic, decoded, 1.0)
    state.stale(100.0)
    state.grouped()


def random_json(rng: random.Random, depth: int = 0):
    choice = rng.randint(0, 8 if depth < 2 else 5)
    if choice <= 5:
        return [None, True, rng.randint(-10**6, 10**6), rng.uniform(-1e6, 1e6), "", "x" * rng.randint(1, 5)][choice]
    if choice == 6:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(MONITOR_KEYS + ["a", ""]): random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}


try:  # property-based when hypothesis is installed, seeded random loops otherwise
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - depends on the environment
    def test_decode_random_frames_only_raises_malformed():
        rng = random.Random(10)
        for _ in range(2000):
            check_frames([rng.randbytes(rng.randint(0, 200)) for _ in range(rng.randint(0, 5))])

    def test_decode_then_monitor_never_crashes():
        rng = random.Random(11)
        for _ in range(2000):
            changes = {rng.choice(MONITOR_KEYS): random_json(rng) for _ in range(rng.randint(1, 4))}
            check_monitor(changes, rng.choice(["status", "verdict", "alert", "stream"]))
else:
    JSON_VALUES = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.binary(max_size=200), min_size=0, max_size=5))
    def test_decode_random_frames_only_raises_malformed(frames):
        check_frames(frames)

    @settings(max_examples=300, deadline=None)
    @given(st.dictionaries(st.sampled_from(MONITOR_KEYS), JSON_VALUES, max_size=8),
           st.sampled_from(["status", "verdict", "alert", "stream"]))
    def test_decode_then_monitor_never_crashes(changes, kind):
        check_monitor(changes, kind)


def test_corpus_is_all_rejected():
    corpus = malformed_corpus(random.Random(1), MAX_MESSAGE_BYTES)
    assert len(corpus) > 100
    for frames in corpus:
        with pytest.raises(MalformedMessage):
            decode_message(frames)
    with pytest.raises(MalformedMessage):
        decode_message([b"voxwatch.verdict.s", b"x" * (MAX_MESSAGE_BYTES + 1)])
    assert decode_message(valid())[1]["seq"] == 0


# ------------------------------------------------------------------------------------- sockets: helpers
def wait_subscription(xpub: zmq.Socket, timeout_s: float = 10.0) -> bytes:
    assert xpub.poll(int(timeout_s * 1000)), "no subscription arrived"
    return xpub.recv()


def send_until_received(pub: zmq.Socket, receive, timeout_s: float = 10.0) -> dict:
    """Send valid messages (seq 1000, 1001, ...) until one arrives; returns its body."""
    deadline = time.monotonic() + timeout_s
    seq = 1000
    while time.monotonic() < deadline:
        pub.send_multipart(valid(seq))
        seq += 1
        got = receive(200)
        if got is not None:
            return got
    raise AssertionError("no valid message got through")


# --------------------------------------------------------------------------------------- EventSubscriber
def test_subscriber_counts_and_skips_junk_then_survives_huge_frames():
    ctx = zmq.Context()
    pub = ctx.socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.bind("tcp://127.0.0.1:*")
    url = pub.getsockopt_string(zmq.LAST_ENDPOINT)
    sub = EventSubscriber([url], topics=("",), context=ctx, max_bytes=SMALL_MAX)
    try:
        wait_subscription(pub)
        corpus = malformed_corpus(random.Random(2), SMALL_MAX)
        for frames in corpus:
            pub.send_multipart(frames)
        pub.send_multipart(valid(0))
        topic, body = sub.receive(5000)
        assert body["seq"] == 0 and topic == "voxwatch.verdict.s"
        assert sub.malformed == len(corpus) and sub.received == 1

        # a frame over MAXMSGSIZE: ZeroMQ drops the connection, the SUB reconnects and resubscribes
        pub.send_multipart([b"voxwatch.verdict.s", b"z" * (SMALL_MAX * 4)])

        def receive(ms):
            event = sub.receive(ms)
            return None if event is None else event[1]

        assert send_until_received(pub, receive)["seq"] >= 1000
        assert sub.rejoined == 1 and sub.malformed == len(corpus) + 1
    finally:
        sub.close()
        pub.close(0)
        ctx.term()


def test_tail_prints_only_valid_events_among_junk():
    ctx = zmq.Context()
    pub = ctx.socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.bind("tcp://127.0.0.1:*")
    url = pub.getsockopt_string(zmq.LAST_ENDPOINT)
    proc = subprocess.Popen([sys.executable, "-m", "voxwatch", "tail", "--connect", url, "--count", "2",
                             "--timeout", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_subscription(pub, 20)
        for frames in malformed_corpus(random.Random(3), MAX_MESSAGE_BYTES):
            if frames[0].startswith(b"voxwatch."):  # tail subscribes to voxwatch. only
                pub.send_multipart(frames)
        pub.send_multipart(valid(5))
        pub.send_multipart(valid(6, kind="status"))
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        pub.close(0)
        ctx.term()
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(b["type"], b["seq"]) for b in lines] == [("verdict", 5), ("status", 6)]
    assert "Traceback" not in err and "malformed" in err


# ---------------------------------------------------------------------------------------------------- broker
def test_broker_drops_junk_survives_huge_frames_and_raw_garbage():
    broker = Broker(BrokerSettings(frontend=("tcp://127.0.0.1:*",), backend=("tcp://127.0.0.1:*",),
                                   heartbeat_s=0.2, max_message_bytes=SMALL_MAX))
    broker.start()
    ctx = zmq.Context()
    consumer = ctx.socket(zmq.SUB)
    consumer.setsockopt(zmq.LINGER, 0)
    consumer.setsockopt(zmq.SUBSCRIBE, b"")  # everything: so junk with any topic is sent up to the broker
    consumer.connect(broker.backend_endpoints[0])
    fuzzer = ctx.socket(zmq.XPUB)
    fuzzer.setsockopt(zmq.LINGER, 0)
    fuzzer.connect(broker.frontend_endpoints[0])
    received: list[list[bytes]] = []

    def receive(ms):
        deadline = time.monotonic() + ms / 1000
        while consumer.poll(max(0, int((deadline - time.monotonic()) * 1000))):
            frames = consumer.recv_multipart()
            received.append(frames)
            _, body = decode_message(frames)  # whatever the broker forwards is valid
            if body["daemon"]["id"] == "fuzz":
                return body
        return None

    try:
        assert wait_subscription(fuzzer) == b"\x01"
        rng = random.Random(4)
        corpus = malformed_corpus(rng, SMALL_MAX)
        for frames in corpus:
            fuzzer.send_multipart(frames)
        fuzzer.send_multipart(valid(0))
        body = receive(5000)
        assert body is not None and body["seq"] == 0
        assert broker.counters.malformed == len(corpus)

        # raw TCP garbage (not ZMTP) at both ports, then an oversized frame that makes ZeroMQ cut the fuzzer off
        for endpoint in (broker.frontend_endpoints[0], broker.backend_endpoints[0]):
            parsed = urlparse(endpoint)
            with socket.create_connection((parsed.hostname, parsed.port), timeout=5) as raw:
                raw.sendall(bytes(rng.getrandbits(8) for _ in range(4096)))
        fuzzer.send_multipart([b"voxwatch.verdict.s", b"z" * (SMALL_MAX * 4)])
        assert send_until_received(fuzzer, receive)["seq"] >= 1000

        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(f[0] == b"voxwatch.status.broker" for f in received):
            receive(100)
        statuses = [decode_message(f)[1] for f in received if f[0] == b"voxwatch.status.broker"]
        assert statuses, "the broker's heartbeat arrives on voxwatch.status.broker"
        last = statuses[-1]
        assert last["role"] == "broker" and last["counters"]["malformed"] >= len(corpus)
        assert "fuzz" in last["daemons"]
    finally:
        fuzzer.close(0)
        consumer.close(0)
        ctx.term()
        broker.stop()
    assert broker.counters.messages_forwarded >= 2
