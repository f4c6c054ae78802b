"""Flow control, sans-IO: a valve agents wait on while a consumer or the store lags (§13.2).

A :class:`Valve` is shut when a session's unsent or unacknowledged events reach its
high-water mark, or while the runtime's store cannot commit; it opens again once the lag
falls to the low-water mark (or the session is gone, or the store recovers). The asyncio
layer registers a callback with :meth:`Valve.when_open` and suspends the agent until it
runs, which is how the runtime "throttles the agent" (§13.2) instead of dropping events.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Valve"]


class Valve:
    """Open or shut; callbacks registered while shut run once it opens."""

    __slots__ = ("_waiters", "shut")

    def __init__(self) -> None:
        self.shut = False
        self._waiters: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"Valve(shut={self.shut}, waiters={len(self._waiters)})"

    def close(self) -> None:
        """Shut the valve: agents that check it from now on wait."""
        self.shut = True

    def open(self) -> None:
        """Open the valve and run every callback registered while it was shut."""
        self.shut = False
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                waiter()

    def when_open(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` now if the valve is open, else as soon as it opens."""
        if self.shut:
            self._waiters.append(callback)
        else:
            callback()
