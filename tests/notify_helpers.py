"""A local webhook receiver for the notify tests: an ``http.server`` on 127.0.0.1 in a thread.

The path picks the behaviour: ``/ok`` answers 200, ``/fail`` 500, ``/forbidden`` 403, ``/hang`` reads the request
and then sleeps (at most ``hang_s``, so the server always stops by itself), ``/gate`` waits until ``release()``
and then answers 200. Every request is recorded (path, headers, JSON body) before it is answered.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, hang_s: float = 3.0) -> None:
        self.requests: list[tuple[str, dict[str, str], dict]] = []
        self.times: list[float] = []
        self.gate = threading.Event()
        self.hang_s = hang_s
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver._cond:
                    receiver.requests.append((self.path, dict(self.headers), body))
                    receiver.times.append(time.monotonic())
                    receiver._cond.notify_all()
                if self.path == "/hang":
                    time.sleep(receiver.hang_s)
                elif self.path == "/gate":
                    receiver.gate.wait(receiver.hang_s)
                code = {"/fail": 500, "/forbidden": 403}.get(self.path, 200)
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up (timeout) and closed the connection

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def to(self, path: str) -> list[dict]:
        with self._cond:
            return [body for p, _, body in self.requests if p == path]

    def wait_for(self, path: str, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len([r for r in self.requests if r[0] == path]) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{path}: {len(self.to(path))} of {count} requests within {timeout} s")
                self._cond.wait(remaining)
        return self.to(path)

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/refused"
