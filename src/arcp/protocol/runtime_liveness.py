"""A runtime session's liveness as deadlines, sans-IO: heartbeats (§6.4) and idleness (§14).

Nothing here sleeps or reads a clock. :class:`Liveness` is told when a frame arrived and
when frames went out, answers with the next instant the session needs attention at, and
says what is due at that instant: a ping after one quiet interval, giving up the connection
after two silent ones.
"""

from __future__ import annotations

__all__ = ["Liveness"]


class Liveness:
    """When the client was last heard from and written to, and since when nothing moved."""

    __slots__ = ("_idle_seq", "_idle_since", "active", "interval", "last_received", "last_sent")

    def __init__(self, interval: float, now: float) -> None:
        self.interval = interval
        """The heartbeat interval in seconds (§6.4)."""
        self.active = False
        """Set when a request (anything but heartbeats and acks) arrives; see :meth:`idle`."""
        self.last_received = self.last_sent = self._idle_since = now
        self._idle_seq = 0

    def __repr__(self) -> str:
        return f"Liveness(interval={self.interval}, last_received={self.last_received})"

    def reset(self, now: float) -> None:
        """A new connection carries the session: every clock starts again (§6.3)."""
        self.last_received = self.last_sent = self._idle_since = now

    def deadline(self) -> float:
        """When a ping or the loss of the connection is next due (§6.4)."""
        interval = self.interval
        return min(self.last_sent + interval, self.last_received + 2 * interval)

    def lost(self, now: float) -> bool:
        """True after two heartbeat intervals without a frame from the client (§6.4)."""
        return now >= self.last_received + 2 * self.interval

    def ping_due(self, now: float) -> bool:
        """True after one interval without a frame to the client (§6.4)."""
        return now >= self.last_sent + self.interval

    def idle(self, now: float, limit: float, last_seq: int, attached: bool) -> bool:
        """True when nothing but heartbeats and acks crossed the connection for ``limit``
        seconds: no request in, no event out (§14, zero-throughput sessions). Costs nothing
        per event: it compares the last seq with the one seen at the previous call."""
        if self.active or last_seq != self._idle_seq or not attached:
            self.active = False
            self._idle_seq = last_seq
            self._idle_since = now
            return False
        return now - self._idle_since >= limit
