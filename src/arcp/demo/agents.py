"""Demo agents: small, deterministic agents that exercise every part of §7-§8.

=========  ==============================================================================
echo       result = input
chatty     ``input.n`` log events, then ``{"count": n}``
progress   progress ``1..n`` of ``n`` (§8.2.1), ``input.delay_ms`` between steps
chunked    ``input.bytes`` bytes in ``input.chunk_size`` chunks when ``result_chunk`` is
           negotiated (§8.4), the same text inline otherwise
slow       sleeps ``input.sec`` seconds; cancellable (§7.4)
versioned  versions 1.0.0 and 2.0.0 (default 2.0.0); the result names the version (§7.5)
costly     ``input.steps`` gated calls of tool ``search.web``, each reporting a ``cost.search``
           metric of ``input.usd`` USD; runs until done or the budget is exhausted (§9.6)
reader     a gated ``fs.read`` of ``input.path`` (nothing is actually read, §9.3)
delegator  delegates ``input.input`` to ``input.agent`` (default ``echo``) under
           ``input.lease`` / ``input.lease_constraints``; returns the child's result (§10)
modeler    a gated ``model.use`` of ``input.model`` (§9.7); reports its credentials count
=========  ==============================================================================
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from arcp.runtime import JobContext, Runtime
from arcp_gen.errors import InvalidRequestError

__all__ = ["DEMO_AGENTS", "register_demo_agents"]

Agent = Callable[[Any, JobContext], Awaitable[Any]]


def _field(data: Any, key: str, default: float) -> float:
    """A numeric field of a JSON-object input, or ``default``; rejects non-numbers."""
    if not isinstance(data, Mapping):
        return default
    value = cast(Mapping[str, Any], data).get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(f"input.{key} must be a number")
    return float(value)


async def echo(input: Any, ctx: JobContext) -> Any:
    """Return the input unchanged."""
    return input


async def chatty(input: Any, ctx: JobContext) -> Any:
    """Emit ``input.n`` log events (default 10), then report how many."""
    n = int(_field(input, "n", 10))
    for i in range(n):
        await ctx.log(f"event {i + 1} of {n}")
    return {"count": n}


async def progress(input: Any, ctx: JobContext) -> Any:
    """Report progress 1..n of n, sleeping ``delay_ms`` between steps."""
    n = int(_field(input, "n", 10))
    delay = _field(input, "delay_ms", 0) / 1000
    for i in range(1, n + 1):
        if delay:
            await asyncio.sleep(delay)
        await ctx.progress(i, total=n, units="steps", message=f"step {i} of {n}")
    return {"steps": n}


def _demo_text(size: int) -> bytes:
    """Exactly ``size`` bytes of UTF-8 text (the line has a two-byte ``§``)."""
    line = "ARCP streams large results in ordered chunks (§8.4).\n".encode()
    data = (line * (size // len(line) + 1))[:size]
    cut = len(data.decode(errors="ignore").encode())  # drop a split character at the end
    return data[:cut] + b"." * (size - cut)


def _pieces(data: bytes, chunk_size: int) -> list[bytes]:
    """``data`` cut into pieces of at most ``chunk_size`` bytes (longer only when a single
    character is), each ending on a character boundary."""
    pieces: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + chunk_size, len(data))
        while end < len(data) and end > start and (data[end] & 0xC0) == 0x80:
            end -= 1
        if end == start:  # chunk_size is smaller than this one character
            end = start + 1
            while end < len(data) and (data[end] & 0xC0) == 0x80:
                end += 1
        pieces.append(data[start:end])
        start = end
    return pieces


async def chunked(input: Any, ctx: JobContext) -> Any:
    """Stream ``bytes`` bytes of UTF-8 text in ``chunk_size``-byte pieces, or return it
    inline; ``result_size`` counts the same bytes (§8.4)."""
    size = max(0, int(_field(input, "bytes", 4096)))
    chunk_size = max(1, int(_field(input, "chunk_size", 1024)))
    data = _demo_text(size)
    if not ctx.can_stream_result:
        return data.decode()
    stream = ctx.stream_result(encoding="utf8")
    for piece in _pieces(data, chunk_size):
        await stream.write(piece)
    return None


async def slow(input: Any, ctx: JobContext) -> Any:
    """Sleep ``input.sec`` seconds (default 5); cancellation interrupts the sleep."""
    seconds = _field(input, "sec", 5)
    await ctx.status("sleeping", f"{seconds:g} s")
    await asyncio.sleep(seconds)
    return {"slept": seconds}


def _text(data: Any, key: str, default: str | None = None) -> str:
    """A string field of a JSON-object input; INVALID_REQUEST when missing or not a string."""
    value = (
        cast(Mapping[str, Any], data).get(key, default) if isinstance(data, Mapping) else default
    )
    if not isinstance(value, str):
        raise InvalidRequestError(f"input.{key} must be a string")
    return value


def _object(data: Any, key: str) -> Mapping[str, Any] | None:
    value = cast(Mapping[str, Any], data).get(key) if isinstance(data, Mapping) else None
    if value is not None and not isinstance(value, Mapping):
        raise InvalidRequestError(f"input.{key} must be an object")
    return cast(Mapping[str, Any] | None, value)


def _search(args: Any) -> Any:
    return {"hits": [f"result for {args['q']}"]}


async def costly(input: Any, ctx: JobContext) -> Any:
    """``steps`` gated ``search.web`` calls, each costing ``usd`` USD (§9.6, §13.5)."""
    steps = int(_field(input, "steps", 3))
    usd = _field(input, "usd", 0.25)
    for i in range(1, steps + 1):
        await ctx.tool_call("search.web", {"q": f"step {i}"}, _search)
        await ctx.metric("cost.search", usd, unit="USD")
    return {"steps": steps, "budget": ctx.budget}


async def reader(input: Any, ctx: JobContext) -> Any:
    """Authorize reading ``input.path`` through the lease (``fs.read``)."""
    path = _text(input, "path")
    await ctx.check_read(path)
    return {"path": path, "allowed": True}


async def delegator(input: Any, ctx: JobContext) -> Any:
    """Delegate to ``input.agent`` (default ``echo``) and return the child's result (§10)."""
    agent = _text(input, "agent", "echo")
    payload = cast(Mapping[str, Any], input).get("input") if isinstance(input, Mapping) else None
    lease = _object(input, "lease")
    child = await ctx.delegate(
        agent,
        payload,
        lease=cast(Mapping[str, list[str]] | None, lease),
        lease_constraints=_object(input, "lease_constraints"),
    )
    return {"child_job_id": child.job_id, "result": await child.result()}


async def modeler(input: Any, ctx: JobContext) -> Any:
    """Authorize invoking ``input.model`` (``model.use``, §9.7)."""
    model = _text(input, "model")
    await ctx.use_model(model)
    return {"model": model, "credentials": len(ctx.credentials)}


def _versioned(version: str) -> Agent:
    async def versioned(input: Any, ctx: JobContext) -> Any:
        return {"version": version, "agent": ctx.agent, "input": input}

    versioned.__doc__ = f"Report that version {version} ran."
    return versioned


DEMO_AGENTS: tuple[tuple[str, str, Agent, bool], ...] = (
    ("echo", "1.0.0", echo, True),
    ("chatty", "1.0.0", chatty, True),
    ("progress", "1.0.0", progress, True),
    ("chunked", "1.0.0", chunked, True),
    ("slow", "1.0.0", slow, True),
    ("versioned", "1.0.0", _versioned("1.0.0"), False),
    ("versioned", "2.0.0", _versioned("2.0.0"), True),
    ("costly", "1.0.0", costly, True),
    ("reader", "1.0.0", reader, True),
    ("delegator", "1.0.0", delegator, True),
    ("modeler", "1.0.0", modeler, True),
)
"""(name, version, agent, is default) for every demo agent."""


def register_demo_agents(runtime: Runtime) -> None:
    """Register every demo agent on ``runtime``."""
    for name, version, fn, default in DEMO_AGENTS:
        runtime.register(name, fn, version=version, default=default)
