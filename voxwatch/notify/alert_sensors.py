"""``AlertSensors``: which streams are in an alert and until when, the state behind the MQTT sensors.

An alert stands for "this stream is speaking with a machine-generated voice"; the daemon stays silent about that
stream for the refractory period after it, so "alert in progress" is exactly the alert plus its refractory
period: a sensor turns on with an alert and off once that period has passed without another alert. This class
holds only that bookkeeping (no sockets, no clock of its own: callers pass ``now``), so its rules are tested
without a broker and its owner decides the locking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voxwatch.pipeline.decision import DecisionSettings


@dataclass(frozen=True, order=True)
class SensorKey:
    """One sensor per stream of each daemon: two daemons may both have a stream called ``system-audio``."""

    daemon: str
    stream: str


def sensor_key(event: dict[str, Any]) -> SensorKey | None:
    """The stream an event is about, or None (status heartbeats are about no stream)."""
    stream = event.get("stream")
    if not isinstance(stream, str) or not stream:
        return None
    return SensorKey(str((event.get("daemon") or {}).get("id", "")), stream)


def hold_seconds(event: dict[str, Any]) -> float:
    """How long an alert keeps its sensor on: the alert's ``refractory_s``, else the default refractory period
    (daemons older than that field send none)."""
    value = event.get("refractory_s")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return DecisionSettings().refractory_s


class AlertSensors:
    """Every stream seen (in the order seen) and, for those in an alert, the monotonic time it ends."""

    def __init__(self) -> None:
        self._known: dict[SensorKey, None] = {}  # a dict keeps the order the streams were seen in
        self._on_until: dict[SensorKey, float] = {}

    def see(self, key: SensorKey) -> bool:
        """Note a stream; True the first time (its sensor is new and must be announced)."""
        if key in self._known:
            return False
        self._known[key] = None
        return True

    def turn_on(self, key: SensorKey, now: float, hold_s: float) -> None:
        """An alert: on until ``now + hold_s``, or longer if an earlier alert's period reaches further."""
        self.see(key)
        self._on_until[key] = max(self._on_until.get(key, now), now + hold_s)

    def expire(self, now: float) -> list[SensorKey]:
        """Turn off, and return, every sensor whose period has ended by ``now``."""
        done = sorted(key for key, until in self._on_until.items() if until <= now)
        for key in done:
            del self._on_until[key]
        return done

    def next_change(self) -> float | None:
        """When the next sensor turns off (monotonic time), or None while none is on."""
        return min(self._on_until.values(), default=None)

    def states(self) -> list[tuple[SensorKey, bool]]:
        """Every known sensor with its state, for re-publishing after a reconnection."""
        return [(key, key in self._on_until) for key in self._known]

    def turn_all_off(self) -> list[SensorKey]:
        """End every alert (on a clean exit nothing may stay on that nobody will turn off)."""
        done = sorted(self._on_until)
        self._on_until.clear()
        return done
