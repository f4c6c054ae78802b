"""An in-process transport pair: two connected :class:`MemoryTransport` ends.

Frames are handed over through unbounded queues, so ``send`` never blocks. ``drop()`` cuts
the connection abruptly, as a network failure would, which tests use to exercise resume.
"""

from __future__ import annotations

import asyncio

from arcp.transport.base import TransportClosed

__all__ = ["MemoryTransport", "memory_pair"]

_CLOSED = object()


class MemoryTransport:
    """One end of an in-memory connection."""

    def __init__(self) -> None:
        self._inbox: asyncio.Queue[bytes | object] = asyncio.Queue()
        self._peer: MemoryTransport | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, frame: bytes) -> None:
        if self._closed or self._peer is None or self._peer._closed:
            raise TransportClosed("memory transport is closed")
        self._peer._inbox.put_nowait(frame)

    async def recv(self) -> bytes:
        if self._closed and self._inbox.empty():
            raise TransportClosed("memory transport is closed")
        item = await self._inbox.get()
        if item is _CLOSED:
            self._inbox.put_nowait(_CLOSED)  # wake any other waiter too
            raise TransportClosed("memory transport is closed")
        assert isinstance(item, bytes)
        return item

    async def close(self) -> None:
        self.drop()

    def drop(self) -> None:
        """Close both ends at once, without a goodbye; frames still queued are delivered first."""
        for end in (self, self._peer):
            if end is not None and not end._closed:
                end._closed = True
                end._inbox.put_nowait(_CLOSED)


def memory_pair() -> tuple[MemoryTransport, MemoryTransport]:
    """Two connected ends: what one sends, the other receives."""
    a, b = MemoryTransport(), MemoryTransport()
    a._peer, b._peer = b, a  # pyright: ignore[reportPrivateUsage]
    return a, b
