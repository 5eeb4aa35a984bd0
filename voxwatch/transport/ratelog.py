"""Log a repeated warning once, then at most once per interval with a count, so a flood cannot flood the log.

A peer that keeps reconnecting with a rejected key, or a sender of junk frames, produces the same warning many times
a second; the first one is what a person needs to see, the rest only as a running count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class RateLimitedLog:
    """``warn(key, msg, *args)`` logs the first time a key is seen, then once per ``interval_s`` with a count."""

    def __init__(self, logger: logging.Logger, interval_s: float = 60.0, max_keys: int = 1000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self._interval = interval_s
        self._max_keys = max_keys
        self._clock = clock
        self._state: dict[str, tuple[float, int]] = {}  # key -> (last logged at, suppressed since)

    def warn(self, key: str, msg: str, *args: object) -> bool:
        """Returns True when this call was logged (False: suppressed and counted)."""
        now = self._clock()
        last = self._state.get(key)
        if last is not None and now - last[0] < self._interval:
            self._state[key] = (last[0], last[1] + 1)
            return False
        if last is None and len(self._state) >= self._max_keys:
            self._state.clear()  # bounded memory against a peer cycling through keys
        suppressed = last[1] if last else 0
        suffix = f" ({suppressed} more like this in the last {self._interval:.0f} s)" if suppressed else ""
        self._log.warning(msg + suffix, *args)
        self._state[key] = (now, 0)
        return True
