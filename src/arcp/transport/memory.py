"""An in-process transport pair: two connected :class:`MemoryTransport` ends.

Frames are handed over through unbounded queues, so ``send`` never blocks. ``drop()`` cuts
the connection abruptly, as a network failure would, which tests use to exercise resume.

The queue is a plain deque plus the futures of waiting readers: a frame that is already
there is returned without touching the event loop, ``send_many`` hands a whole batch
over with one extend and at most one wake-up, and ``recv_ready`` takes every queued frame
at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

from arcp.transport.base import TransportClosed

__all__ = ["MemoryTransport", "memory_pair"]


class MemoryTransport:
    """One end of an in-memory connection."""

    __slots__ = ("_closed", "_inbox", "_peer", "_waiters")

    def __init__(self) -> None:
        self._inbox: deque[bytes] = deque()
        self._waiters: list[asyncio.Future[None]] = []
        self._peer: MemoryTransport | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, frame: bytes) -> None:
        peer = self._peer
        if self._closed or peer is None or peer._closed:
            raise TransportClosed("memory transport is closed")
        peer._inbox.append(frame)
        if peer._waiters:
            peer._wake()

    async def send_many(self, frames: Iterable[bytes]) -> None:
        """Send ``frames`` in order, as one hand-over (at most one wake-up of the reader)."""
        peer = self._peer
        if self._closed or peer is None or peer._closed:
            raise TransportClosed("memory transport is closed")
        peer._inbox.extend(frames)
        if peer._waiters:
            peer._wake()

    async def recv(self) -> bytes:
        inbox = self._inbox
        while not inbox:
            if self._closed:
                raise TransportClosed("memory transport is closed")
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
        return inbox.popleft()

    def recv_ready(self) -> list[bytes]:
        """Take every frame that already arrived, in order, without waiting (maybe none)."""
        inbox = self._inbox
        if not inbox:
            return []
        frames = list(inbox)
        inbox.clear()
        return frames

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def close(self) -> None:
        self.drop()

    def drop(self) -> None:
        """Close both ends at once, without a goodbye; frames still queued are delivered first."""
        for end in (self, self._peer):
            if end is not None and not end._closed:
                end._closed = True
                end._wake()


def memory_pair() -> tuple[MemoryTransport, MemoryTransport]:
    """Two connected ends: what one sends, the other receives."""
    a, b = MemoryTransport(), MemoryTransport()
    a._peer, b._peer = b, a  # pyright: ignore[reportPrivateUsage]
    return a, b
