"""A real Mosquitto broker for the MQTT tests, and a paho subscriber that records what reaches it.

``Mosquitto`` writes a temporary config with two loopback listeners on free ports: a plain one and a TLS one with
a self-signed certificate made here by ``openssl`` (for 127.0.0.1 and localhost), both requiring a login from a
password file made by ``mosquitto_passwd``; anonymous clients are refused. ``Recorder`` is an ordinary paho
client subscribed to ``#``: it keeps every message with its retain flag and arrival time.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from daemon_helpers import free_port

USER, PASSWORD = "voxwatch", "c0rrect-horse"


def mosquitto_program() -> str:
    """The broker's path (Debian installs it in /usr/sbin, not on every user's PATH); skip or fail without it."""
    found = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.access(p, os.X_OK)), None)
    tools = [found, shutil.which("mosquitto_passwd"), shutil.which("openssl")]
    if None in tools:
        names = ("mosquitto", "mosquitto_passwd", "openssl")
        missing = [name for name, path in zip(names, tools, strict=True) if path is None]
        if os.environ.get("VOXWATCH_REQUIRE_ALL_TESTS"):
            pytest.fail(f"required tool(s) missing: {', '.join(missing)}")
        pytest.skip(f"tool(s) missing: {', '.join(missing)}")
    return str(found)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1 and localhost; the certificate is also the clients' CA file."""
    cert, key = directory / "broker.crt", directory / "broker.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Mosquitto:
    def __init__(self, directory: Path) -> None:
        program = mosquitto_program()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port, self.tls_port = free_port(), free_port()
        self.cafile, key = self_signed_certificate(directory)
        passwords = directory / "passwords"
        subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), USER, PASSWORD], check=True,
                       capture_output=True, timeout=30)
        config = directory / "mosquitto.conf"
        config.write_text(
            f"user {getpass.getuser()}\npersistence false\nper_listener_settings false\nallow_anonymous false\n"
            f"password_file {passwords}\nlog_dest stderr\nlog_type error\nlog_type warning\n"
            f"listener {self.port} 127.0.0.1\n"
            f"listener {self.tls_port} 127.0.0.1\ncertfile {self.cafile}\nkeyfile {key}\n")
        self.log = directory / "mosquitto.log"
        self.command = [program, "-c", str(config)]
        self.start()

    def start(self) -> None:
        """Start (again, after ``stop``: same ports, nothing retained, as after a broker's restart)."""
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        self._wait_listening()

    def _wait_listening(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        for port in (self.port, self.tls_port):
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"mosquitto exited: {self.log.read_text()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"mosquitto not listening on {port}: {self.log.read_text()}") from None
                    time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@dataclass(frozen=True)
class Message:
    topic: str
    payload: str
    retain: bool
    at: float  # monotonic arrival time


class Recorder:
    """A paho subscriber to ``#`` on the broker's plain listener; ``wait_for`` a message matching a predicate."""

    def __init__(self, broker: Mosquitto) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[Message] = []
        self._cond = threading.Condition()
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"recorder-{id(self)}")
        self.client.username_pw_set(USER, PASSWORD)
        self.client.on_connect = lambda client, *_: client.subscribe("#", qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert subscribed.wait(10), "the recorder subscribed"

    def _on_message(self, client, userdata, message) -> None:
        with self._cond:
            self.messages.append(Message(message.topic, message.payload.decode(), bool(message.retain),
                                         time.monotonic()))
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[Message], bool], timeout: float = 20.0) -> Message:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((m for m in self.messages if predicate(m)), None)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(m.topic, m.payload[:40]) for m in self.messages][-12:]
                    raise AssertionError(f"no matching message within {timeout} s; last: {seen}")
                self._cond.wait(remaining)

    def on(self, topic: str) -> list[Message]:
        with self._cond:
            return [m for m in self.messages if m.topic == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
