"""Flow control, sans-IO: a valve agents wait on while a consumer or the store lags (§13.2).

A :class:`Valve` is shut when a session's unsent or unacknowledged events reach its
high-water mark, or while the runtime's store cannot commit; it opens again once the lag
falls to the low-water mark (or the session is gone, or the store recovers). The asyncio
layer parks a token (its future) with :meth:`Valve.park` and suspends the agent; when the
valve opens the token moves to :attr:`Ready.released <arcp.protocol.ready.Ready.released>`,
where the adapter takes it and resumes the agent: that is how the runtime "throttles the
agent" (§13.2) instead of dropping events, with no callback into the adapter.
"""

from __future__ import annotations

from arcp.protocol.ready import Ready

__all__ = ["Valve"]


class Valve:
    """Open or shut; tokens parked while shut are released to :class:`Ready` once it opens."""

    __slots__ = ("_parked", "_ready", "shut")

    def __init__(self, ready: Ready | None = None) -> None:
        self.shut = False
        self._ready = ready if ready is not None else Ready()
        self._parked: list[object] = []

    def __repr__(self) -> str:
        return f"Valve(shut={self.shut}, parked={len(self._parked)})"

    def close(self) -> None:
        """Shut the valve: agents that check it from now on wait."""
        self.shut = True

    def open(self) -> None:
        """Open the valve and release every token parked while it was shut."""
        self.shut = False
        if self._parked:
            self._ready.released.extend(self._parked)
            self._parked.clear()

    def park(self, token: object) -> bool:
        """Park ``token`` until the valve opens; False (nothing parked) when it is open."""
        if not self.shut:
            return False
        self._parked.append(token)
        return True
