"""``MqttSink`` (``--mqtt``): a connection to an MQTT broker and the ON/OFF state of each stream's sensor.

The client is paho-mqtt (the ``mqtt`` extra): it keeps the connection alive and reconnects by itself with
backoff. ``send`` is called by the sink's ``Delivery`` (bounded queue, retries); it turns the stream's sensor on
and returns once the broker acknowledged every message (QoS 1), so a broker that is down counts as a failed,
retried delivery like a webhook that is down. What topics and payloads say is ``mqtt_messages``'s business.

Two things happen without an event arriving, so the sink has a thread of its own ("mqtt-sensors"): a sensor
turns off when its alert's refractory period ends, and after a reconnection every sensor's state is published
again (an OFF due while the broker was away would otherwise never arrive and the sensor would stay on). That
thread and ``send`` share the sensor state under one lock; messages are handed to paho under it too, so the
broker sees them in the order the state changed. paho's own thread only sets events (its callbacks run under
paho's locks, which a publish needs: taking ours there could deadlock).

A login the broker refuses, a certificate that does not verify or a broker that cannot be reached when
``voxwatch notify`` starts is a ``ConfigError`` (one line, exit 2): waiting would not fix any of them. Later
disconnections are retried for as long as it runs.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from voxwatch.errors import ConfigError
from voxwatch.notify.alert_sensors import AlertSensors, hold_seconds, sensor_key
from voxwatch.notify.delivery import DeliveryError
from voxwatch.notify.mqtt_messages import OFF, OFFLINE, ON, ONLINE, Topics, alert_attributes, discovery_config

log = logging.getLogger(__name__)
PASSWORD_ENV = "VOXWATCH_MQTT_PASSWORD"
DEFAULT_PORT, DEFAULT_TLS_PORT = 1883, 8883


@dataclass(frozen=True)
class MqttSettings:
    """Where the broker is and how to log in; ``timeout_s`` bounds the connection and each acknowledgement."""

    host: str
    port: int = DEFAULT_PORT
    tls: bool = False
    cafile: str | None = None  # None: the system's CA certificates
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    topics: Topics = field(default_factory=Topics)
    timeout_s: float = 5.0
    keepalive_s: int = 60

    def __post_init__(self) -> None:
        if not self.host or not 0 < self.port < 65536:
            raise ConfigError(f"--mqtt {self.host}:{self.port}: expected HOST or HOST:PORT with a port 1-65535")
        if self.timeout_s <= 0:
            raise ConfigError("the receiver timeout must be > 0 seconds")
        if self.password is not None and not self.username:
            raise ConfigError(f"an MQTT password (--mqtt-password-file or ${PASSWORD_ENV}) needs --mqtt-user")
        if self.cafile and not self.tls:
            raise ConfigError("--mqtt-cafile needs --mqtt-tls")

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_broker(text: str, tls: bool) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT`` -> (host, port); the port defaults to 1883, or 8883 with TLS."""
    default = DEFAULT_TLS_PORT if tls else DEFAULT_PORT
    host, port, ok = text, "", True
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        port = rest[1:]
        ok = bool(bracket) and rest[:1] in ("", ":") and rest != ":"
    elif text.count(":") == 1:
        host, port = text.split(":")
        ok = bool(port)
    if not ok or not host or (port and not port.isdigit()):
        raise ConfigError(f"--mqtt {text!r}: expected HOST, HOST:PORT or [IPv6]:PORT")
    return host, int(port) if port else default


def read_password(path: str | None, environ: Mapping[str, str]) -> str | None:
    """The password from ``path`` (its first line), else from ``$VOXWATCH_MQTT_PASSWORD``, else None.

    Never from the command line: arguments are visible to every user of the machine (``ps``).
    """
    if path is None:
        return environ.get(PASSWORD_ENV) or None
    try:
        with open(path, encoding="utf-8") as handle:
            password = handle.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--mqtt-password-file {path}: cannot read it ({getattr(exc, 'strerror', None) or exc})"
                          ) from None
    if not password:
        raise ConfigError(f"--mqtt-password-file {path}: the first line is empty")
    return password


class MqttSink:
    """``--mqtt``: Home Assistant discovery per stream, ON with an alert, OFF when its refractory period is over."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self.topics = settings.topics
        scheme = "mqtts" if settings.tls else "mqtt"
        self.name = f"mqtt {scheme}://{settings.address}/{self.topics.prefix}"
        self._tls = self._tls_context() if settings.tls else None
        self._sensors = AlertSensors()
        self._lock = threading.Lock()  # guards _sensors and the order in which messages go to paho
        self._wake = threading.Event()  # a new deadline, a reconnection or stop: the sensor thread looks again
        self._resync = threading.Event()  # (re)connected: publish every sensor's state again
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._answered = threading.Event()  # the broker answered the first connection attempt
        self._refused = ""
        self._client: mqtt.Client | None = None
        self._thread = threading.Thread(target=self._sensor_loop, name="mqtt-sensors", daemon=True)

    def _tls_context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self.settings.cafile)  # verifies the certificate and host name
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"--mqtt-cafile {self.settings.cafile}: cannot load CA certificates: {exc}") from None

    def open(self) -> None:
        """Connect and wait for the broker's answer; a ConfigError if it cannot be reached or refuses us."""
        s = self.settings
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"voxwatch-notify-{socket.gethostname()}-"
                             f"{os.getpid()}", protocol=mqtt.MQTTv311)
        client.connect_timeout = s.timeout_s
        client.will_set(self.topics.availability, OFFLINE, qos=1, retain=True)
        if s.username:
            client.username_pw_set(s.username, s.password)
        if self._tls is not None:
            client.tls_set_context(self._tls)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        where = f"--mqtt {s.address}"
        try:
            client.connect(s.host, s.port, s.keepalive_s)
        except ssl.SSLCertVerificationError as exc:
            raise ConfigError(f"{where}: the broker's certificate does not verify: {exc.verify_message}") from None
        except ssl.SSLError as exc:
            raise ConfigError(f"{where}: TLS handshake failed: {exc.reason or exc}") from None
        except OSError as exc:
            raise ConfigError(f"{where}: cannot reach the broker: {exc.strerror or exc}") from None
        client.loop_start()
        if not self._answered.wait(s.timeout_s) or self._refused:
            client.loop_stop()
            client.disconnect()
            why = f"the broker refused the connection: {self._refused}" if self._refused else \
                f"no answer from the broker within {s.timeout_s:g} s"
            raise ConfigError(f"{where}: {why}")
        self._client = client
        self._thread.start()

    def send(self, event: dict[str, Any], body: bytes) -> None:  # noqa: ARG002
        key = sensor_key(event)
        if key is None:
            return
        alert = event.get("type") == "alert"
        with self._lock:
            new = self._sensors.see(key)
            if alert:
                self._sensors.turn_on(key, time.monotonic(), hold_seconds(event))
            if not self._connected.is_set():  # the state is kept: it is published again on reconnection
                raise DeliveryError("not connected to the broker (reconnecting)")
            sent = [self._publish(self.topics.discovery(key), json.dumps(discovery_config(self.topics, key)))] \
                if new else []
            if alert:
                sent.append(self._publish(self.topics.attributes(key), json.dumps(alert_attributes(event))))
                sent.append(self._publish(self.topics.state(key), ON))
        self._wake.set()
        self._acknowledged(sent)

    def close(self) -> None:
        """Turn every sensor off, say ``offline`` and disconnect (a clean exit leaves nothing on)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(self.settings.timeout_s)
        if self._client is None:
            return
        with self._lock:
            sent = [self._publish(self.topics.state(key), OFF) for key in self._sensors.turn_all_off()]
            sent.append(self._publish(self.topics.availability, OFFLINE))
        try:
            if self._connected.is_set():
                self._acknowledged(sent)
        except DeliveryError as exc:
            log.warning("%s: on exit: %s", self.name, exc)
        self._client.disconnect()
        self._client.loop_stop()

    def _publish(self, topic: str, payload: str) -> mqtt.MQTTMessageInfo:
        """Hand one retained QoS 1 message to paho (while disconnected paho keeps it for the reconnection)."""
        assert self._client is not None
        return self._client.publish(topic, payload, qos=1, retain=True)

    def _acknowledged(self, sent: list[mqtt.MQTTMessageInfo]) -> None:
        """Wait for the broker's PUBACKs, at most ``timeout_s`` for all together; DeliveryError if any is missing."""
        deadline = time.monotonic() + self.settings.timeout_s
        for info in sent:
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
                published = info.is_published()
            except (RuntimeError, ValueError) as exc:
                raise DeliveryError(str(exc)) from None
            if not published:
                raise DeliveryError(f"no acknowledgement from the broker within {self.settings.timeout_s:g} s")

    def _sensor_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                next_change = self._sensors.next_change()
            self._wake.wait(None if next_change is None else max(0.0, next_change - time.monotonic()))
            self._wake.clear()  # before looking, so a change made after this is not missed
            if self._stop.is_set():
                return
            with self._lock:
                if self._resync.is_set() and self._connected.is_set():
                    self._resync.clear()
                    self._publish_all()
                for key in self._sensors.expire(time.monotonic()):
                    self._publish(self.topics.state(key), OFF)
                    log.info("%s: %s of %s off (refractory period over)", self.name, key.stream, key.daemon)

    def _publish_all(self) -> None:
        """After a (re)connection: ``online``, then every known sensor's discovery config and state."""
        self._publish(self.topics.availability, ONLINE)
        for key, on in self._sensors.states():
            self._publish(self.topics.discovery(key), json.dumps(discovery_config(self.topics, key)))
            self._publish(self.topics.state(key), ON if on else OFF)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            if self._client is not None:  # during open() the refusal becomes the one error line instead
                log.warning("%s: the broker refused the connection: %s", self.name, reason)
        else:
            log.info("%s: connected", self.name)
            self._connected.set()
            self._resync.set()
            self._wake.set()
        self._answered.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self._connected.clear()
        if self._client is not None and not self._stop.is_set():
            log.warning("%s: disconnected (%s); reconnecting", self.name, reason)
