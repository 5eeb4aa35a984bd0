"""The broker restarted (SIGKILL, then started again on the same ports) while a daemon's publisher and a consumer
run: both reconnect by themselves, and the consumer's seq gap accounting equals exactly the events the daemon
published that never arrived, all of them from the time the broker was away."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from daemon_helpers import free_port

from voxwatch.config import PublishSettings
from voxwatch.transport.publisher import EventPublisher
from voxwatch.transport.subscriber import EventSubscriber

DAEMON = "restart-test"
PERIOD_S = 0.01  # one event every 10 ms


def start_broker(frontend: str, backend: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "voxwatch", "broker", "--frontend", frontend, "--backend", backend,
                             "--heartbeat", "0.5"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # bounded: the broker prints this once bound, or exits (EOF)
        if "frontend (daemons connect)" in line:
            return proc
    raise AssertionError(f"broker did not start (exit {proc.wait(5)})")


def test_daemon_and_consumer_reconnect_after_broker_restart_and_gaps_are_exact():
    frontend, backend = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    broker = start_broker(frontend, backend)
    publisher = EventPublisher(PublishSettings(bind=(), connect=(frontend,), daemon_id=DAEMON, heartbeat_s=60.0))
    subscriber = EventSubscriber([backend])
    sent: list[tuple[int, float]] = []  # (index, monotonic time submitted)
    stop = threading.Event()

    def produce() -> None:
        i = 0
        while not stop.is_set() and i < 3000:  # bounded: at most 30 s of events
            sent.append((i, time.monotonic()))
            publisher.submit(("stream", {"stream": "s", "state": "started", "detail": str(i), "source": ""}))
            i += 1
            time.sleep(PERIOD_S)

    received: list[dict] = []

    def pump(until, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            event = subscriber.receive(50)
            if event and event[1]["daemon"]["id"] == DAEMON:
                received.append(event[1])
            if until():
                return True
        return False

    publisher.start()
    producer = threading.Thread(target=produce, daemon=True)
    try:
        producer.start()
        assert pump(lambda: len(received) >= 50, 20), "no events through the first broker"
        broker.kill()  # SIGKILL: sockets gone, nothing said
        broker.wait(10)
        killed_at = time.monotonic()
        time.sleep(1.0)
        broker = start_broker(frontend, backend)
        n = len(received)
        assert pump(lambda: len(received) >= n + 50, 20), "no events after the broker came back"
        back_at = time.monotonic()
        stop.set()
        producer.join(5)
        publisher.close("stopping", timeout=3)
        assert pump(lambda: received[-1]["type"] == "status" and received[-1]["state"] == "stopping", 10)
    finally:
        stop.set()
        publisher.close("stopping", timeout=1)
        subscriber.close()
        broker.kill()
        broker.wait(10)

    seqs = [body["seq"] for body in received]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    missing = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
    assert sum(subscriber.seq.gaps.values()) == subscriber.seq.gaps.get(DAEMON, 0) == len(missing)  # exactly
    assert subscriber.malformed == 0 and subscriber.rejoined == 0  # a broker restart is not a malformed peer
    # Usually the events sent while the broker was away are lost (one run of them); ZeroMQ may also hold some
    # in the publisher's pipe and deliver them after the reconnect (seen on a loaded machine): then fewer or
    # none are missing, and the accounting above must still be exact.
    if missing:
        assert missing == list(range(missing[0], missing[-1] + 1))
        # the first heartbeat (seq 0) precedes the stream events: event index i has seq i + 1
        first_submit = {i + 1: t for i, t in sent}
        assert all(killed_at - 0.5 <= first_submit[s] <= back_at for s in missing if s in first_submit)
