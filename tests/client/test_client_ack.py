"""Event acknowledgement from the asyncio client (§6.5), observed on the wire."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from arcp.client import Client
from arcp.transport import MemoryTransport

from .conftest import TOKEN, Dialer


class Tap:
    """A client-side transport that records what the client sends."""

    def __init__(self, inner: MemoryTransport) -> None:
        self.inner = inner
        self.sent: list[dict[str, Any]] = []
        self.acked = asyncio.Event()

    @property
    def closed(self) -> bool:
        return self.inner.closed

    async def send(self, frame: bytes) -> None:
        msg = orjson.loads(frame)
        self.sent.append(msg)
        if msg["type"] == "session.ack":
            self.acked.set()
        await self.inner.send(frame)

    async def recv(self) -> bytes:
        return await self.inner.recv()

    async def close(self) -> None:
        await self.inner.close()


def acks(tap: Tap) -> list[int]:
    return [m["payload"]["last_processed_seq"] for m in tap.sent if m["type"] == "session.ack"]


async def test_auto_ack_covers_consumed_events(dialer: Dialer) -> None:
    """§6.5: with auto_ack the client acknowledges what the application consumed."""
    taps: list[Tap] = []
    dialer.wrap = lambda end, attempt: taps.append(Tap(end)) or taps[-1]
    async with Client.connect(dialer, token=TOKEN) as client:
        handle = await client.submit("chatty", {"n": 30})
        last = 0
        async for event in handle:
            last = event.event_seq
        await handle.result()
        tap = taps[0]
        while not acks(tap) or acks(tap)[-1] <= last:  # the terminal message is acked too
            tap.acked.clear()
            await tap.acked.wait()
        seqs = acks(tap)
        assert seqs == sorted(seqs)


async def test_manual_ack_only(dialer: Dialer) -> None:
    """§6.5: auto_ack=False sends acks only when the application asks."""
    taps: list[Tap] = []
    dialer.wrap = lambda end, attempt: taps.append(Tap(end)) or taps[-1]
    async with Client.connect(dialer, token=TOKEN, auto_ack=False) as client:
        handle = await client.submit("chatty", {"n": 10})
        events = [e async for e in handle]
        await handle.result()
        assert acks(taps[0]) == []
        await client.ack(events[-1].event_seq)
        assert acks(taps[0]) == [events[-1].event_seq]
