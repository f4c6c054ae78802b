"""Fixtures for the asyncio client tests: the REAL runtime over memory transports (§4).

``dialer`` is a connection factory: each call makes a fresh ``memory_pair()``, hands one end
to ``runtime.serve`` and returns the other, so the client can reconnect and resume (§6.3).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from arcp.runtime import Runtime
from arcp.runtime.context import JobContext
from arcp.transport import MemoryTransport, memory_pair

TOKEN = "tok-alice-secret"
OTHER_TOKEN = "tok-bob-secret"


def make_runtime(**kw: Any) -> Runtime:
    """A runtime with a small set of test agents."""
    rt = Runtime(tokens={TOKEN: "alice", "tok-alice-2": "alice", OTHER_TOKEN: "bob"}, **kw)

    @rt.agent("echo", version="1.0.0", default=True)
    async def echo(input: Any, ctx: JobContext) -> Any:
        return input

    @rt.agent("echo", version="2.0.0")
    async def echo2(input: Any, ctx: JobContext) -> Any:
        return {"v2": input}

    @rt.agent("chatty")
    async def chatty(input: Any, ctx: JobContext) -> Any:
        n = int(input["n"])
        gate: asyncio.Event | None = input.get("gate") and GATES[input["gate"]]
        for i in range(n):
            await ctx.log(f"line {i}")
            if gate is not None and i == input.get("pause_at", -1):
                await gate.wait()
            if i % 7 == 0:
                await ctx.progress(i + 1, n)
        return {"count": n}

    @rt.agent("slow")
    async def slow(input: Any, ctx: JobContext) -> Any:
        await ctx.status("sleeping")
        await asyncio.sleep(3600)

    @rt.agent("stream")
    async def stream(input: Any, ctx: JobContext) -> Any:
        out = ctx.stream_result(input["encoding"])
        for part in input["parts"]:
            await out.write(part.encode() if input["encoding"] == "base64" else part)
        return None

    @rt.agent("boom")
    async def boom(input: Any, ctx: JobContext) -> Any:
        raise RuntimeError("kaboom")

    return rt


GATES: dict[str, asyncio.Event] = {}
"""Named events a ``chatty`` job can wait on (tests set them)."""


class Dialer:
    """A connection factory to a runtime, remembering the runtime-side ends."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.server_ends: list[MemoryTransport] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.before_connect: Callable[[int], Any] | None = None
        self.wrap: Callable[[MemoryTransport, int], Any] | None = None

    async def __call__(self) -> Any:
        attempt = len(self.server_ends)
        if self.before_connect is not None:
            await self.before_connect(attempt)
        client_end, server_end = memory_pair()
        self.server_ends.append(server_end)
        self.tasks.append(asyncio.create_task(self.rt.serve(server_end)))
        return self.wrap(client_end, attempt) if self.wrap is not None else client_end

    @property
    def connections(self) -> int:
        return len(self.server_ends)

    def drop(self) -> None:
        """Cut the current connection, as a network failure would."""
        self.server_ends[-1].drop()


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    GATES.clear()
    rt = make_runtime()
    yield rt
    await rt.aclose()


@pytest.fixture
def dialer(runtime: Runtime) -> Dialer:
    return Dialer(runtime)
