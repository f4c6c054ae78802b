"""Client timers as deadlines: heartbeats (§6.4), automatic acknowledgements (§6.5), and the
default deadlines of requests, the handshake, resumes and close (no unbounded wait).

Nothing here sleeps. Each class is told what happened and when, answers with the next instant
it needs attention at, and says what is due when asked at that instant.
"""

from __future__ import annotations

import math
from typing import Final

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "DEFAULT_REQUEST_TIMEOUT",
    "DEFAULT_RESUME_TIMEOUT",
    "AckScheduler",
    "Heartbeat",
    "check_timeout",
]

DEFAULT_REQUEST_TIMEOUT: Final = 30.0
"""Seconds a request (submit, cancel, subscribe, list_jobs) waits for its answer by default."""
DEFAULT_HANDSHAKE_TIMEOUT: Final = 30.0
"""Seconds ``session.hello`` waits for ``session.welcome`` by default (§6.2)."""
DEFAULT_RESUME_TIMEOUT: Final = 15.0
"""Seconds one resume attempt waits for its welcome by default (§6.3)."""
DEFAULT_CLOSE_TIMEOUT: Final = 5.0
"""Seconds ``session.close`` waits for ``session.closed`` by default (§6.7)."""


def check_timeout(name: str, value: float) -> None:
    """Refuse a deadline that is not a positive number of seconds (``math.inf``: none)."""
    if not value > 0:  # also refuses NaN
        raise ValueError(f"{name} must be a positive number of seconds (math.inf for none)")


class Heartbeat:
    """Liveness per §6.4 once ``heartbeat`` is negotiated.

    We ping when we have sent nothing for one interval, and declare the peer lost when we have
    received nothing (of any kind) for two intervals.
    """

    __slots__ = ("interval", "last_received", "last_sent")

    def __init__(self, interval: float, now: float) -> None:
        self.interval = interval
        self.last_sent = now
        self.last_received = now

    def deadline(self) -> float:
        """The next instant something may be due."""
        return min(self.last_sent + self.interval, self.last_received + 2 * self.interval)

    def lost(self, now: float) -> bool:
        """True when the peer has been silent for two intervals."""
        return now >= self.last_received + 2 * self.interval

    def ping_due(self, now: float) -> bool:
        """True when we have been silent for one interval."""
        return now >= self.last_sent + self.interval


class AckScheduler:
    """When to send ``session.ack`` automatically (§6.5).

    An ack goes out at most once per ``interval`` seconds and only when at least ``every``
    new events were processed since the last one, whichever allows fewer acks.
    """

    __slots__ = ("acked", "due_at", "every", "interval", "last_ack_at", "processed")

    def __init__(self, *, interval: float, every: int) -> None:
        self.interval = interval
        self.every = max(1, every)
        self.processed = 0
        self.acked = 0
        self.last_ack_at = -math.inf
        self.due_at: float | None = None

    def mark(self, seq: int) -> bool:
        """Record that events up to ``seq`` were processed; True when an ack became pending
        (the caller may need an earlier timer)."""
        if seq <= self.processed:
            return False
        self.processed = seq
        if self.due_at is None and seq - self.acked >= self.every:
            self.due_at = self.last_ack_at + self.interval
            return True
        return False

    def take(self, now: float) -> int | None:
        """The ``last_processed_seq`` to acknowledge now, or ``None`` if no ack is due."""
        if self.due_at is None or now < self.due_at:
            return None
        self.due_at = None
        if self.processed - self.acked < self.every:
            return None
        self.acked = self.processed
        self.last_ack_at = now
        return self.acked

    def sent_manually(self, seq: int, now: float) -> None:
        """A manual ack went out: count it so automatic acks do not repeat it."""
        if seq > self.acked:
            self.acked = seq
            self.last_ack_at = now
        if self.processed - self.acked < self.every:
            self.due_at = None
