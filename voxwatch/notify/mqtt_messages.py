"""What voxwatch says over MQTT: the topics and payloads, and Home Assistant's discovery config (no sockets here).

Topics under the prefix (``--mqtt-topic``, default ``voxwatch``):

* ``<prefix>/availability``                 ``online`` / ``offline`` (retained; ``offline`` is also the last will)
* ``<prefix>/<daemon>/<stream>/state``      ``ON`` during an alert and its refractory period, then ``OFF`` (retained)
* ``<prefix>/<daemon>/<stream>/alert``      the last alert's fields as flat JSON (retained; the sensor's attributes)
* ``<discovery>/binary_sensor/<daemon>/<stream>/config``  Home Assistant discovery (retained; ``homeassistant``)

Every retained message describes a state, so a subscriber that connects later (Home Assistant after a restart)
reads the current one at once. Daemon and stream ids become topic levels with only ``A-Za-z0-9_-`` (what Home
Assistant accepts in discovery topics, and never an MQTT wildcard or level separator).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from voxwatch import __version__
from voxwatch.errors import ConfigError
from voxwatch.notify.alert_sensors import SensorKey

ON, OFF = "ON", "OFF"
ONLINE, OFFLINE = "online", "offline"
SENSOR_NAME = "synthetic voice detected"
# "safety" (on means unsafe) rather than "problem" (a fault of the device) or "sound" (any sound): a synthetic
# voice on a call is a risk to the people listening, not a malfunction of the detector
DEVICE_CLASS = "safety"
_NOT_TOPIC_SAFE = re.compile(r"[^A-Za-z0-9_-]+")
_ATTRIBUTES = ("score", "threshold", "utterance", "start_s", "end_s", "early", "refractory_s", "ts", "stage",
               "filter_score", "verifier_score", "why", "reason", "voice")


def topic_id(text: str) -> str:
    """A daemon or stream id as one topic level: other characters become ``_`` (``call #7.wav`` -> ``call_7_wav``)."""
    return _NOT_TOPIC_SAFE.sub("_", text).strip("_") or "unnamed"


def _check_prefix(prefix: str, option: str) -> None:
    if not prefix or prefix.startswith("/") or prefix.endswith("/") or any(c in prefix for c in "+#\0"):
        raise ConfigError(f"{option} {prefix!r}: expected topic levels like 'voxwatch' or 'home/voxwatch' "
                          "(no wildcards, no leading or trailing /)")


@dataclass(frozen=True)
class Topics:
    """Where each message goes, from the two prefixes."""

    prefix: str = "voxwatch"
    discovery_prefix: str = "homeassistant"

    def __post_init__(self) -> None:
        _check_prefix(self.prefix, "--mqtt-topic")
        _check_prefix(self.discovery_prefix, "--mqtt-discovery-prefix")

    @property
    def availability(self) -> str:
        return f"{self.prefix}/availability"

    def _sensor(self, key: SensorKey) -> str:
        return f"{self.prefix}/{topic_id(key.daemon)}/{topic_id(key.stream)}"

    def state(self, key: SensorKey) -> str:
        return f"{self._sensor(key)}/state"

    def attributes(self, key: SensorKey) -> str:
        return f"{self._sensor(key)}/alert"

    def discovery(self, key: SensorKey) -> str:
        return f"{self.discovery_prefix}/binary_sensor/{topic_id(key.daemon)}/{topic_id(key.stream)}/config"


def unique_id(key: SensorKey) -> str:
    return f"voxwatch_{topic_id(key.daemon)}_{topic_id(key.stream)}"


def discovery_config(topics: Topics, key: SensorKey) -> dict[str, Any]:
    """Home Assistant's MQTT discovery payload for a stream's ``binary_sensor``.

    Each stream is its own device, so the entity's name is the device's ("voxwatch call-7 on desk-1") followed by
    "synthetic voice detected", and a daemon with several streams still gives every sensor a distinct name.
    """
    return {
        "name": SENSOR_NAME,
        "unique_id": unique_id(key),
        "device_class": DEVICE_CLASS,
        "state_topic": topics.state(key),
        "payload_on": ON,
        "payload_off": OFF,
        "availability_topic": topics.availability,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "json_attributes_topic": topics.attributes(key),
        "qos": 1,
        "device": {
            "identifiers": [unique_id(key)],
            "name": f"voxwatch {key.stream} on {key.daemon}",
            "manufacturer": "voxwatch",
            "model": "synthetic speech detector",
            "sw_version": __version__,
        },
        "origin": {"name": "voxwatch", "sw_version": __version__},
    }


def alert_attributes(event: dict[str, Any]) -> dict[str, Any]:
    """An alert's fields that an automation may want, flat (Home Assistant shows them as the sensor's attributes)."""
    attributes = {"daemon": (event.get("daemon") or {}).get("id"), "stream": event.get("stream")}
    attributes.update({name: event[name] for name in _ATTRIBUTES if name in event})
    attributes["model"] = (event.get("model") or {}).get("id")
    return attributes
