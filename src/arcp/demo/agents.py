"""Demo agents: small, deterministic agents that exercise every part of §7-§8.

=========  ==============================================================================
echo       result = input
chatty     ``input.n`` log events, then ``{"count": n}``
progress   progress ``1..n`` of ``n`` (§8.2.1), ``input.delay_ms`` between steps
chunked    ``input.bytes`` bytes in ``input.chunk_size`` chunks when ``result_chunk`` is
           negotiated (§8.4), the same text inline otherwise
slow       sleeps ``input.sec`` seconds; cancellable (§7.4)
versioned  versions 1.0.0 and 2.0.0 (default 2.0.0); the result names the version (§7.5)
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


def _demo_text(size: int) -> str:
    line = "ARCP streams large results in ordered chunks (§8.4).\n"
    return (line * (size // len(line) + 1))[:size]


async def chunked(input: Any, ctx: JobContext) -> Any:
    """Stream ``bytes`` bytes of text in ``chunk_size`` pieces, or return it inline."""
    size = int(_field(input, "bytes", 4096))
    chunk_size = max(1, int(_field(input, "chunk_size", 1024)))
    text = _demo_text(size)
    if not ctx.can_stream_result:
        return text
    stream = ctx.stream_result(encoding="utf8")
    for start in range(0, size, chunk_size):
        await stream.write(text[start : start + chunk_size])
    return None


async def slow(input: Any, ctx: JobContext) -> Any:
    """Sleep ``input.sec`` seconds (default 5); cancellation interrupts the sleep."""
    seconds = _field(input, "sec", 5)
    await ctx.status("sleeping", f"{seconds:g} s")
    await asyncio.sleep(seconds)
    return {"slept": seconds}


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
)
"""(name, version, agent, is default) for every demo agent."""


def register_demo_agents(runtime: Runtime) -> None:
    """Register every demo agent on ``runtime``."""
    for name, version, fn, default in DEMO_AGENTS:
        runtime.register(name, fn, version=version, default=default)
