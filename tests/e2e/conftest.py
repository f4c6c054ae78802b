"""The real client against the real runtime over every transport (§4).

``stack`` runs a test over the in-memory pair, a WebSocket on 127.0.0.1 and a runtime in a
child process over stdio. ``shared_stack`` covers the two transports where several sessions
reach one runtime (needed for listing, subscribing, isolation and resume).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from arcp.client import Client
from arcp.demo import register_demo_agents
from arcp.runtime import Runtime
from arcp.transport import (
    MemoryTransport,
    Transport,
    WebSocketTransport,
    connect_websocket,
    memory_pair,
    spawn_stdio,
)

TOKENS = {"tok-alice": "alice", "tok-bob": "bob"}
ALICE, BOB = "tok-alice", "tok-bob"


@dataclass
class Stack:
    """How a test reaches a runtime: ``connect`` opens a client session; ``dial`` opens a bare
    transport (for raw-frame tests); ``drop_last`` cuts the newest connection like a network
    failure (``None`` where a cut cannot be resumed: stdio has one session per process)."""

    kind: str
    dial: Callable[[], Awaitable[Transport]]
    drop_last: Callable[[], None] | None
    transports: list[Transport] = field(default_factory=list[Transport])

    async def connect(self, token: str = ALICE, **options: Any) -> Client:
        if self.kind == "stdio":
            options.setdefault("reconnect", False)
        return await Client.connect(self.dial, token=token, **options)


def _runtime() -> Runtime:
    runtime = Runtime(tokens=TOKENS, resume_window_sec=60, heartbeat_interval_sec=30)
    register_demo_agents(runtime)
    return runtime


@contextlib.asynccontextmanager
async def _memory_stack() -> AsyncIterator[Stack]:
    runtime = _runtime()
    tasks: list[asyncio.Task[None]] = []
    ends: list[MemoryTransport] = []

    async def dial() -> Transport:
        ours, theirs = memory_pair()
        tasks.append(asyncio.ensure_future(runtime.serve(theirs)))
        ends.append(ours)
        return ours

    try:
        yield Stack("memory", dial, lambda: ends[-1].drop())
    finally:
        await runtime.aclose()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def _websocket_stack() -> AsyncIterator[Stack]:
    runtime = _runtime()
    server = await runtime.serve_websocket(host="127.0.0.1", port=0, path="/arcp")
    ends: list[WebSocketTransport] = []

    async def dial() -> Transport:
        transport = await connect_websocket(server.url)
        ends.append(transport)
        return transport

    try:
        yield Stack("websocket", dial, lambda: ends[-1].drop())
    finally:
        await runtime.aclose()


@contextlib.asynccontextmanager
async def _stdio_stack() -> AsyncIterator[Stack]:
    children: list[Transport] = []
    argv = [sys.executable, "-m", "arcp", "serve", "--stdio", "--demo"]
    for token, principal in TOKENS.items():
        argv += ["--token", f"{token}={principal}"]

    async def dial() -> Transport:
        child = await spawn_stdio(argv)
        children.append(child)
        return child

    try:
        yield Stack("stdio", dial, None)
    finally:
        for child in children:
            await child.close()


_STACKS = {"memory": _memory_stack, "websocket": _websocket_stack, "stdio": _stdio_stack}


@pytest.fixture(params=["memory", "websocket", "stdio"])
async def stack(request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    async with _STACKS[request.param]() as made:
        yield made


@pytest.fixture(params=["memory", "websocket"])
async def shared_stack(request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    async with _STACKS[request.param]() as made:
        yield made
