"""The per-session replay buffer: every event a session was sent, by ``event_seq`` (§6.3, §6.5).

Entries are :data:`EventItem` tuples shared with the job's own log, so buffering one event
costs a list slot, not a copy of its frame. The buffer numbers its entries implicitly: the
entry at offset ``i`` has ``event_seq == first_seq + i``, which keeps the sequence gap-free
by construction (§8.3). A list with a moving head (compacted now and then) gives O(1)
lookup by seq for draining and replay.

Entries are freed by ``session.ack`` (§6.5) or, only when the hard cap forces it, by evicting
the oldest, and then only an entry at or below :attr:`ReplayBuffer.floor` (one the client
already has): an event that was never sent is never evicted; the session throttles the
agents instead (§13.2). A resume that asks for an event no longer held is refused (§6.3).
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["EventItem", "ReplayBuffer"]

EventItem = tuple[int, bytes, bytes, int]
"""``(origin_seq, head, payload, gate)``: one encoded job event.

``origin_seq`` is the seq the submitting session gave it (0 for session-local events),
``head`` the job's pre-encoded envelope middle for its message type, ``payload`` the encoded
payload, ``gate`` the feature a receiver must have negotiated (see :mod:`event_frames`).
"""

_COMPACT_AT = 4096


class ReplayBuffer:
    """Ordered, gap-free event entries with an implicit ``event_seq`` (§8.3)."""

    __slots__ = ("_base", "_head", "_items", "floor", "last_seq", "limit")

    def __init__(self, limit: int = 100_000) -> None:
        self._items: list[EventItem | None] = []
        self._head = 0  # index of the oldest held entry in _items
        self._base = 1  # seq of that entry
        self.limit = limit
        self.last_seq = 0
        """The seq of the newest entry ever appended (0 before the first)."""
        self.floor = 0
        """Entries with seq ≤ this may be evicted at the cap (the client has them)."""

    @property
    def first_seq(self) -> int:
        """The seq of the oldest entry still held (``last_seq + 1`` when empty)."""
        return self._base

    def __len__(self) -> int:
        return len(self._items) - self._head

    def append(self, item: EventItem) -> int:
        """Store ``item`` under the next seq and return that seq; at the cap, evicts the
        oldest entry if it is at or below :attr:`floor`, else grows past the cap."""
        items = self._items
        items.append(item)
        if len(items) - self._head > self.limit and self._base <= self.floor:
            self._drop(1)
        seq = self.last_seq = self.last_seq + 1
        return seq

    def set_floor(self, seq: int) -> None:
        """The client has every entry through ``seq``; evict what the cap no longer allows."""
        self.floor = seq
        excess = min(len(self) - self.limit, seq - self._base + 1)
        if excess > 0:
            self._drop(excess)

    def restore(self, first_seq: int, items: list[EventItem]) -> None:
        """Refill an empty buffer with ``items`` numbered from ``first_seq`` (a store reload)."""
        self._items = list[EventItem | None](items)
        self._head = 0
        self._base = first_seq
        self.last_seq = first_seq + len(items) - 1

    def get(self, seq: int) -> EventItem | None:
        """The entry with ``seq``, or None once it was freed."""
        index = seq - self._base
        if 0 <= index < len(self._items) - self._head:
            return self._items[self._head + index]
        return None

    def free_through(self, seq: int) -> int:
        """Free entries with seq ≤ ``seq`` (§6.5); returns how many were freed."""
        count = min(seq - self._base + 1, len(self))
        if count <= 0:
            return 0
        self._drop(count)
        return count

    def _drop(self, count: int) -> None:
        items, head = self._items, self._head
        for i in range(head, head + count):
            items[i] = None  # release the entry now; the slot goes at the next compaction
        head += count
        self._base += count
        if head >= _COMPACT_AT and head * 2 >= len(items):
            del items[:head]
            head = 0
        self._head = head

    def covers(self, last_event_seq: int) -> bool:
        """True when every event after ``last_event_seq`` is still held (§6.3)."""
        return self._base <= last_event_seq + 1 <= self.last_seq + 1

    def after(self, last_event_seq: int) -> Iterator[int]:
        """The seqs of held entries newer than ``last_event_seq``, oldest first."""
        return iter(range(max(last_event_seq + 1, self._base), self.last_seq + 1))
