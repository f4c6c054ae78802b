"""Run the official ARCP Python SDK runtime on 127.0.0.1 with the interop demo agents.

This script runs inside ``.interop-venv`` (where ``import arcp`` is the official SDK from
PyPI ``agentruntimecontrolprotocol``), never in the project venv.

Agents mirror our demo contract (``src/arcp/demo/agents.py``), each version ``1.0.0``:

- ``echo``: the result is the input, unchanged.
- ``chatty``: ``input.n`` (default 10) ``log`` events, then ``{"count": n}``.
- ``progress``: progress ``1..n`` of ``n``, ``input.delay_ms`` between steps.
- ``chunked``: ``input.bytes`` bytes of text streamed as ``result_chunk`` events.
- ``slow``: a ``status`` event, then sleeps ``input.sec`` seconds (default 5); cancellable.
- ``versioned``: versions 1.0.0 and 2.0.0 (default 2.0.0); the result names the version.
- ``fail``: raises, so the job ends with ``job.error`` (not in our demo set).

Once listening it prints one line ``READY <port>`` to stdout and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

# `arcp` here is the official SDK: this file runs in .interop-venv, never in our venv.
from arcp import RuntimeInfo, runtime, serve_websocket

ARCPRuntime = runtime.ARCPRuntime
StaticBearerVerifier = runtime.StaticBearerVerifier
JobContext = Any  # the official arcp.runtime.JobContext


def _num(data: Any, key: str, default: float) -> float:
    if isinstance(data, dict) and isinstance(data.get(key), int | float):
        return float(data[key])
    return default


async def echo(input_value: Any, ctx: JobContext) -> Any:
    return input_value


async def chatty(input_value: Any, ctx: JobContext) -> Any:
    n = int(_num(input_value, "n", 10))
    for i in range(n):
        await ctx.log("info", f"event {i + 1} of {n}")
    return {"count": n}


async def progress(input_value: Any, ctx: JobContext) -> Any:
    n = int(_num(input_value, "n", 10))
    delay = _num(input_value, "delay_ms", 0) / 1000
    for i in range(1, n + 1):
        if delay:
            await asyncio.sleep(delay)
        await ctx.progress(i, total=n, units="steps", message=f"step {i} of {n}")
    return {"steps": n}


async def chunked(input_value: Any, ctx: JobContext) -> Any:
    size = int(_num(input_value, "bytes", 4096))
    chunk_size = max(1, int(_num(input_value, "chunk_size", 1024)))
    text = ("ARCP streams large results in ordered chunks.\n" * (size // 40 + 1))[:size]
    async with ctx.stream_result() as stream:
        for start in range(0, size, chunk_size):
            await stream.write(text[start : start + chunk_size])
    return None


async def slow(input_value: Any, ctx: JobContext) -> Any:
    sec = _num(input_value, "sec", 5)
    await ctx.status("sleeping", f"{sec:g} s")
    await asyncio.sleep(sec)
    return {"slept": sec}


def versioned(version: str) -> Any:
    async def agent(input_value: Any, ctx: JobContext) -> Any:
        return {"version": version, "agent": ctx.agent, "input": input_value}

    return agent


async def fail(input_value: Any, ctx: JobContext) -> Any:
    raise RuntimeError("the fail agent always fails")


AGENTS = (
    ("echo", "1.0.0", echo),
    ("chatty", "1.0.0", chatty),
    ("progress", "1.0.0", progress),
    ("chunked", "1.0.0", chunked),
    ("slow", "1.0.0", slow),
    ("versioned", "1.0.0", versioned("1.0.0")),
    ("versioned", "2.0.0", versioned("2.0.0")),
    ("fail", "1.0.0", fail),
)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path", default="/arcp")
    parser.add_argument("--token", action="append", default=[], help="TOKEN=PRINCIPAL")
    parser.add_argument("--heartbeat", type=int, default=30)
    args = parser.parse_args()

    tokens = dict(t.split("=", 1) for t in (args.token or ["interop-token=alice"]))
    rt = ARCPRuntime(
        runtime=RuntimeInfo(name="official-python-runtime", version="interop"),
        bearer=StaticBearerVerifier(tokens),
        heartbeat_interval_sec=args.heartbeat or None,
    )
    for name, version, fn in AGENTS:
        rt.register_agent_version(name, version, fn)
    rt.set_default_agent_version("versioned", "2.0.0")

    server = await serve_websocket(rt.accept, host=args.host, port=args.port, path=args.path)
    port = next(iter(server.sockets)).getsockname()[1]
    print(f"READY {port}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    with contextlib.suppress(Exception):
        await rt.close()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
