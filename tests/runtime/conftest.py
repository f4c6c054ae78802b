"""Runtimes with small test agents, served over the memory transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from arcp.runtime import JobContext, Runtime
from arcp_gen.errors import PermissionDeniedError


class Gates:
    """Named asyncio events the tests open to let a waiting agent continue."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}

    def __getitem__(self, name: str) -> asyncio.Event:
        return self.events.setdefault(name, asyncio.Event())


def build_runtime(gates: Gates, **options: Any) -> Runtime:
    options.setdefault("tokens", {"t": "alice", "t2": "alice", "tb": "bob"})
    rt = Runtime("arcp-test", "9.9.9", **options)

    @rt.agent("echo")
    async def echo(input: Any, ctx: JobContext) -> Any:
        return input

    @rt.agent("chatty")
    async def chatty(input: Any, ctx: JobContext) -> Any:
        n = int(input["n"])
        gate = input.get("gate")
        for i in range(n):
            if gate is not None and i == n // 2:
                await gates[gate].wait()
            await ctx.log(f"event {i}")
        return {"count": n}

    @rt.agent("waiter")
    async def waiter(input: Any, ctx: JobContext) -> Any:
        await ctx.status("waiting")
        await gates[str(input)].wait()
        await ctx.log("released")
        return "done"

    @rt.agent("forever")
    async def forever(input: Any, ctx: JobContext) -> Any:
        await ctx.status("started")
        await asyncio.Event().wait()

    @rt.agent("denied")
    async def denied(input: Any, ctx: JobContext) -> Any:
        raise PermissionDeniedError("not allowed to touch that", details={"path": "/etc"})

    @rt.agent("crash")
    async def crash(input: Any, ctx: JobContext) -> Any:
        raise RuntimeError("secret internal detail")

    @rt.agent("progress")
    async def progress(input: Any, ctx: JobContext) -> Any:
        for i in range(3):
            await ctx.progress(i + 1, 3, units="steps")
        await ctx.log("done")
        return None

    @rt.agent("stream")
    async def stream(input: Any, ctx: JobContext) -> Any:
        if not ctx.can_stream_result:
            return input["text"]
        out = ctx.stream_result(input.get("encoding", "utf8"))
        for piece in input["pieces"]:
            await out.write(piece)
        return None

    @rt.agent("versioned", version="1.0.0")
    async def v1(input: Any, ctx: JobContext) -> Any:
        return "v1"

    @rt.agent("versioned", version="2.0.0", default=True)
    async def v2(input: Any, ctx: JobContext) -> Any:
        return "v2"

    @rt.agent("versioned", version="3.0.0-beta")
    async def v3(input: Any, ctx: JobContext) -> Any:
        return "v3"

    return rt


@pytest.fixture
def gates() -> Gates:
    return Gates()


@pytest.fixture
async def rt(gates: Gates) -> AsyncIterator[Runtime]:
    runtime = build_runtime(gates)
    yield runtime
    await runtime.aclose()
