"""``Notifier``: hands each received event to every receiver's ``Delivery`` and sums up their counters."""

from __future__ import annotations

import json
import time
from typing import Any

from voxwatch.notify.delivery import Delivery, DeliveryCounters, DeliverySettings, Sink


class Notifier:
    """Many receivers, one event stream. ``deliver`` never blocks (each receiver queues on its own).

    ``verdicts`` (optional) keeps only the alerts and verdicts with one of these verdicts (``fake``, ``uncertain``,
    ``real``); stream and status events always pass. Filtered events are counted, not delivered.
    """

    def __init__(self, sinks: list[Sink], settings: DeliverySettings,
                 verdicts: frozenset[str] | None = None) -> None:
        self.deliveries = [Delivery(sink, settings) for sink in sinks]
        self.verdicts = verdicts
        self.received = 0
        self.filtered = 0

    def start(self) -> None:
        """Open every receiver and start its worker; if one cannot open, close those already open and re-raise."""
        try:
            for delivery in self.deliveries:
                delivery.start()
        except BaseException:
            self.close(0.0)
            raise

    def deliver(self, event: dict[str, Any]) -> None:
        self.received += 1
        if self.verdicts is not None and event.get("type") in ("alert", "verdict") \
                and event.get("verdict") not in self.verdicts:
            self.filtered += 1
            return
        body = json.dumps(event, separators=(",", ":")).encode()
        for delivery in self.deliveries:
            delivery.offer(event, body)

    def close(self, timeout: float) -> None:
        """Give all receivers together at most ``timeout`` seconds to take what is queued."""
        deadline = time.monotonic() + timeout
        for delivery in self.deliveries:
            delivery.close(max(0.0, deadline - time.monotonic()))

    def counters(self) -> list[DeliveryCounters]:
        return [delivery.counters() for delivery in self.deliveries]

    def report(self) -> list[str]:
        """Counter lines: the events received, then one line per receiver."""
        filtered = f", {self.filtered} filtered out by --verdict" if self.verdicts is not None else ""
        return [f"{self.received} event(s) received{filtered}", *(c.line() for c in self.counters())]
