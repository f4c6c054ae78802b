"""What became ready for the asyncio adapter, sans-IO: the core's one way out (§6.4, §13.2).

The core never calls into its adapter. What a fed frame, an agent's event, a deadline or a
sweep made ready is recorded here instead, and the adapter takes it after each thing it
feeds the core, as websockets' Sans-I/O protocols leave ``data_to_send()`` for their caller:

* :attr:`Ready.writers`: the connections (by :attr:`RuntimeConnection.key`) whose queue went
  from empty to non-empty, overflowed, or must close: their writer looks again and sends
  everything queued in one batch;
* :attr:`Ready.released`: the tokens that waited on a :class:`~arcp.protocol.flow.Valve`
  that opened (an agent may go on, §13.2).

"The journal has changes" is the journal's own :attr:`~arcp.protocol.journal.Journal.due`.
"""

from __future__ import annotations

__all__ = ["Ready"]


class Ready:
    """Connections to write and valve waiters to release, since the adapter last took them."""

    __slots__ = ("_keys", "released", "writers")

    def __init__(self) -> None:
        self.writers: set[int] = set()
        """Keys of the connections whose writer must look at its queue again."""
        self.released: list[object] = []
        """Tokens that waited on a valve that opened since the last :meth:`take_released`."""
        self._keys = 0

    def __repr__(self) -> str:
        return f"Ready(writers={sorted(self.writers)}, released={len(self.released)})"

    def __bool__(self) -> bool:
        return bool(self.writers or self.released)

    def new_key(self) -> int:
        """A key for a new connection, unique among the connections of this core."""
        self._keys += 1
        return self._keys

    def take_writers(self) -> set[int]:
        """The connections to write since the last call (and forget them)."""
        writers, self.writers = self.writers, set()
        return writers

    def take_released(self) -> list[object]:
        """The valve waiters to let go since the last call (and forget them)."""
        released, self.released = self.released, []
        return released
