"""Helpers for tests that run ``voxwatch run``/``replay`` as subprocesses and read their events."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import zmq


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EventCollector:
    """A SUB socket read by a background thread; events kept in order, with waiting helpers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: list[tuple[str, dict]] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        sock = zmq.Context.instance().socket(zmq.SUB)
        sock.setsockopt(zmq.SUBSCRIBE, b"voxwatch.")
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.url)
        try:
            while not self._stop.is_set():
                if sock.poll(100):
                    topic, raw = sock.recv_multipart()
                    with self._cond:
                        self.events.append((topic.decode(), json.loads(raw)))
                        self._cond.notify_all()
        finally:
            sock.close(0)

    def wait_for(self, predicate: Callable[[str, dict], bool], timeout: float, after: int = 0) -> dict:
        """The first event (at index >= after) matching ``predicate``; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for topic, body in self.events[after:]:
                    if predicate(topic, body):
                        return body
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    kinds = [(b["type"], b.get("state") or b.get("verdict")) for _, b in self.events[after:]][-15:]
                    raise AssertionError(f"no matching event within {timeout} s; last events: {kinds}")
                self._cond.wait(remaining)

    def count(self) -> int:
        with self._cond:
            return len(self.events)

    def of_type(self, kind: str, after: int = 0) -> list[dict]:
        with self._cond:
            return [b for _, b in self.events[after:] if b["type"] == kind]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)


def voxwatch(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "voxwatch", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
