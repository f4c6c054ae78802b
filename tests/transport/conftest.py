"""Echo peers over every transport (§4), shared by the transport tests.

Each peer echoes every frame back; ``!close`` makes it close its end. ``outcome()`` reports how
the peer's loop ended: ``"saw-close"`` (its recv/send raised TransportClosed) or
``"closed-on-command"``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from arcp.transport import (
    Transport,
    TransportClosed,
    connect_websocket,
    memory_pair,
    serve_websocket,
    spawn_stdio,
)

ECHO_CHILD = str(Path(__file__).with_name("echo_child.py"))


async def echo_loop(transport: Transport) -> str:
    """Echo until told to close or until the channel closes."""
    while True:
        try:
            frame = await transport.recv()
            if frame == b"!close":
                await transport.close()
                return "closed-on-command"
            await transport.send(frame)
        except TransportClosed:
            return "saw-close"


@dataclass
class EchoPeer:
    local: Transport
    outcome: Callable[[], Awaitable[str]]


async def _memory() -> AsyncIterator[EchoPeer]:
    local, remote = memory_pair()
    task = asyncio.create_task(echo_loop(remote))
    yield EchoPeer(local, lambda: task)
    await local.close()
    await task


def _websocket(compression: str | None) -> Callable[[], AsyncIterator[EchoPeer]]:
    async def make() -> AsyncIterator[EchoPeer]:
        outcomes: asyncio.Queue[str] = asyncio.Queue()

        async def handler(transport: Transport) -> None:
            outcomes.put_nowait(await echo_loop(transport))

        async with await serve_websocket(handler, compression=compression) as server:
            local = await connect_websocket(server.url, compression=compression)
            yield EchoPeer(local, outcomes.get)
            await local.close()

    return make


_CHILD_EXIT = {0: "saw-close", 3: "closed-on-command"}


async def _stdio() -> AsyncIterator[EchoPeer]:
    local = await spawn_stdio([sys.executable, ECHO_CHILD, "echo"])

    async def outcome() -> str:
        return _CHILD_EXIT.get(await local.process.wait(), f"exit {local.returncode}")

    yield EchoPeer(local, outcome)
    await local.close()


PEERS: dict[str, Callable[[], AsyncIterator[EchoPeer]]] = {
    "memory": _memory,
    "websocket": _websocket(None),
    "websocket-deflate": _websocket("deflate"),
    "stdio": _stdio,
}


@pytest.fixture(params=list(PEERS))
async def peer(request: pytest.FixtureRequest) -> AsyncIterator[EchoPeer]:
    async for item in PEERS[request.param]():
        yield item
