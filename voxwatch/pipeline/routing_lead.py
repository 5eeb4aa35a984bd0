"""``RoutingLead``: how far a stream's front may run ahead of the inference worker that routes its items.

The cascade's verifier and clone watch judge audio that the front has already passed: the inference worker asks
the stream's ``UtteranceAudio`` for a span when it routes the window or utterance end that closes it, and that
history holds only a few seconds beyond the longest span. Replayed files arrive as fast as the front takes them,
and silence yields no window to wait for, so without a bound the front could overwrite a span before it is asked
for, and the verifier would judge clipped audio or none (more often the busier the machine). The front notes the
end of each item it emits; the inference worker counts the items it has routed; the front reads no further while
the oldest item not yet routed lies more than ``limit`` samples behind. Live audio meanwhile waits in the ring
buffer (which drops and counts what overflows, as when the queue to inference is full).
"""

from __future__ import annotations

from collections import deque


class RoutingLead:
    """The ends of a stream's emitted items that the inference worker has not routed yet. ``note`` and ``room``
    belong to the front's thread; ``routed`` is counted by the inference worker's (an int that only grows, read
    here without a lock)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit  # samples the front may hold beyond the end of the oldest item not yet routed
        self._ends: deque[int] = deque()
        self.emitted = 0
        self.routed = 0

    def note(self, end: int) -> None:
        """An item whose span ends at sample ``end`` went to the inference worker."""
        self._ends.append(end)
        self.emitted += 1

    def room(self, upto: int) -> bool:
        """Whether the front may hold audio up to sample ``upto`` without overwriting what a span may need."""
        waiting = self.emitted - self.routed
        while len(self._ends) > waiting:
            self._ends.popleft()
        return not self._ends or upto - self._ends[0] <= self.limit
