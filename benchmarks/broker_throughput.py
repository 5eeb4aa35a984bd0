"""Broker throughput: how many events per second the validating forwarder passes, against plain ``zmq.proxy``.

Three processes: a broker (``voxwatch.transport.broker.Broker`` with or without validation, or ``zmq.proxy``), a
publisher process sending ``--messages`` verdict-sized events as fast as it can from ``--publishers`` XPUB sockets,
and this process as the one subscriber. It reports messages received per second (first to last) and how many were
lost (``seq`` gaps: ZeroMQ drops past a high-water mark when the broker cannot keep up).

    python3 benchmarks/broker_throughput.py                 # all three modes, 50k messages each
    python3 benchmarks/broker_throughput.py --messages 200000 --mode validate

A daemon publishes a handful of events per utterance plus a heartbeat every few seconds, so even a large fleet
needs far less than one thousand messages per second; this measures the headroom.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time

import zmq

from voxwatch.transport.subscriber import SeqTracker


def event(daemon: str, seq: int) -> list[bytes]:
    body = {"schema": 1, "type": "verdict", "daemon": {"id": daemon, "host": "bench", "pid": 1}, "stream": "s",
            "seq": seq, "ts": time.time(), "utterance": seq, "start_s": 1.0, "end_s": 3.5, "score": 0.93,
            "threshold": 0.5, "verdict": "fake", "windows": 3, "early": False,
            "model": {"id": "tinycnn", "sha256": "0" * 64}, "latency_ms": 4.2}
    return [b"voxwatch.verdict.s", json.dumps(body, separators=(",", ":")).encode()]


def run_broker(mode: str, ports: mp.Queue, stop: mp.Event) -> None:
    if mode == "proxy":
        ctx = zmq.Context()
        xsub, xpub = ctx.socket(zmq.XSUB), ctx.socket(zmq.XPUB)
        for sock in (xsub, xpub):
            sock.setsockopt(zmq.SNDHWM, 10000)
            sock.setsockopt(zmq.RCVHWM, 10000)
        xsub.bind("tcp://127.0.0.1:*")
        xpub.bind("tcp://127.0.0.1:*")
        ports.put((xsub.getsockopt_string(zmq.LAST_ENDPOINT), xpub.getsockopt_string(zmq.LAST_ENDPOINT)))
        try:
            zmq.proxy(xsub, xpub)
        except zmq.ContextTerminated:
            pass
        return
    from voxwatch.transport.broker import Broker, BrokerSettings

    broker = Broker(BrokerSettings(frontend=("tcp://127.0.0.1:*",), backend=("tcp://127.0.0.1:*",), heartbeat_s=60,
                                   validate=mode == "validate"))
    broker.start()
    ports.put((broker.frontend_endpoints[0], broker.backend_endpoints[0]))
    stop.wait()
    broker.stop()


def run_publishers(frontend: str, publishers: int, messages: int, go: mp.Event) -> None:
    ctx = zmq.Context()
    socks = []
    for _ in range(publishers):
        sock = ctx.socket(zmq.XPUB)
        sock.setsockopt(zmq.SNDHWM, 10000)
        sock.connect(frontend)
        socks.append(sock)
    for sock in socks:  # wait for the subscription to reach every publisher
        sock.poll(10000)
        sock.recv()
    go.wait()
    frames = [[event(f"d{i}", seq) for seq in range(messages // publishers)] for i in range(publishers)]
    for seq in range(messages // publishers):
        for i, sock in enumerate(socks):
            sock.send_multipart(frames[i][seq])
    time.sleep(1.0)
    for sock in socks:
        sock.close(linger=1000)
    ctx.term()


def measure(mode: str, publishers: int, messages: int) -> dict:
    ports: mp.Queue = mp.Queue()
    stop, go = mp.Event(), mp.Event()
    broker = mp.Process(target=run_broker, args=(mode, ports, stop), daemon=True)
    broker.start()
    frontend, backend = ports.get(timeout=10)
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"voxwatch.verdict")
    sub.connect(backend)
    pub = mp.Process(target=run_publishers, args=(frontend, publishers, messages, go), daemon=True)
    pub.start()
    time.sleep(0.5)
    go.set()
    received, first, last = 0, None, None
    seq = SeqTracker(first_seq=0)  # the subscriber is there before any publisher starts: count from seq 0
    while sub.poll(3000):
        topic, raw = sub.recv_multipart()
        body = json.loads(raw)
        now = time.perf_counter()
        first = first or now
        last = now
        received += 1
        seq.observe(body)
        if received >= messages - messages % publishers:
            break
    sub.close(0)
    ctx.term()
    pub.join(10)
    stop.set()
    broker.terminate() if mode == "proxy" else broker.join(10)
    span = (last - first) if first and last and last > first else float("nan")
    return {"mode": mode, "sent": messages - messages % publishers, "received": received, "lost": seq.lost,
            "msgs_per_s": round(received / span) if span == span else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50000)
    parser.add_argument("--publishers", type=int, default=3)
    parser.add_argument("--mode", choices=["validate", "forward", "proxy"], action="append",
                        help="validate (default broker), forward (--no-validate), proxy (zmq.proxy); default all")
    args = parser.parse_args()
    for mode in args.mode or ["validate", "forward", "proxy"]:
        print(json.dumps(measure(mode, args.publishers, args.messages)))


if __name__ == "__main__":
    main()
