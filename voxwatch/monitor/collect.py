"""Events into monitor state: ``pump`` for the live loop, ``monitor_once`` for one snapshot (scripts and tests)."""

from __future__ import annotations

import time
from typing import Any

from voxwatch.monitor.state import MonitorState
from voxwatch.monitor.view import render
from voxwatch.transport.subscriber import EventSubscriber


def pump(subscriber: Any, state: Any, budget_s: float) -> None:
    """Receive and apply events for up to ``budget_s`` seconds, then forget what has long gone (``prune``)."""
    deadline = time.monotonic() + budget_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        event = subscriber.receive(max(1, int(remaining * 1000)))
        if event is None:
            break
        topic, body = event
        state.apply(topic, body, time.monotonic())
        state.malformed = subscriber.malformed
    state.prune(time.monotonic())


def monitor_once(urls: list[str], console: Any, collect_s: float = 6.0, stale_s: float | None = None,
                 alert_lines: int = 8, subscriber: Any = None, state: Any = None) -> Any:
    """Collect events for ``collect_s`` seconds, print one snapshot to ``console``; returns the state.

    Pass ``subscriber`` and ``state`` to continue from an earlier call (tests take several snapshots)."""
    own = subscriber is None
    subscriber = subscriber or EventSubscriber(urls)
    state = state or MonitorState(stale_s=stale_s)
    try:
        pump(subscriber, state, collect_s)
        console.print(render(state, time.monotonic(), urls, alert_lines, live=False))
    finally:
        if own:
            subscriber.close()
    return state
