"""Server processes for the cross-process benchmarks: ``python -m bench._peer MODE PORT``.

``raw``: a bare ``websockets`` server that, per connection, waits for one text frame with
a count and then sends that many pre-encoded ``job.event`` frames (the stream baseline), or,
when the first frame is ``echo``, answers every frame with itself (the round-trip baseline).
``arcp``: our runtime with a ``firehose`` agent that emits ``input.n`` log events.
The first line on stdout is ``READY <port>``.
``stdio``: the same runtime serving one session over its stdin/stdout (the port is unused).
``scale``: the ``arcp`` runtime with limits raised for thousands of sessions of one principal
and a ``stamped`` agent whose log messages carry ``time.monotonic_ns()`` (one clock for every
process of the machine), for delivery latency.
``node PORT DSN NODE_ID``: the ``scale`` runtime as one node of a PostgreSQL cluster, with a
``paced`` agent (``stamped``, one event every ``input.interval_ms``).
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from bench.frames import event_frame

__all__ = ["firehose", "stamped"]


async def _raw(port: int) -> None:
    frames = [event_frame(seq) for seq in range(1, 1001)]

    async def handler(ws: ServerConnection) -> None:
        try:
            first = await ws.recv()
        except ConnectionClosed:  # an idle connection (bench scale's memory figure) leaving
            return
        if first == "echo":  # request/response baseline: answer every frame with one frame
            async for frame in ws:
                await ws.send(frame)
            return
        count = int(first)
        for i in range(count):
            await ws.send(frames[i % 1000].decode())
        await ws.send("done")
        await ws.wait_closed()

    async with serve(
        handler, "127.0.0.1", port, compression=None, max_size=None, ping_interval=None
    ) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(f"READY {bound}", flush=True)
        await asyncio.Future()


async def firehose(input: Any, ctx: Any) -> Any:
    """Emit ``input.n`` log events as fast as the runtime takes them."""
    n = int(input["n"])
    for i in range(n):
        await ctx.log(f"processing item {i} of {n}")
    return {"count": n}


async def stamped(input: Any, ctx: Any) -> Any:
    """Emit ``input.n`` log events, each carrying the monotonic clock when it was emitted."""
    n = int(input["n"])
    for _ in range(n):
        await ctx.log(str(time.monotonic_ns()))
    return {"count": n}


async def paced(input: Any, ctx: Any) -> Any:
    """``stamped``, with ``input.interval_ms`` between events."""
    n, pause = int(input["n"]), float(input.get("interval_ms", 1)) / 1000
    for _ in range(n):
        await ctx.log(str(time.monotonic_ns()))
        await asyncio.sleep(pause)
    return {"count": n}


async def _arcp(port: int, *, scale: bool = False, node: tuple[str, str] | None = None) -> None:
    from arcp.demo import register_demo_agents
    from arcp.runtime import Limits, Runtime

    limits = None
    store = None
    if node is not None:
        from arcp.store.postgres import PostgresStore

        store = PostgresStore(node[0], node_id=node[1])
        scale = True
    if scale:  # one principal opens every session of the cost curves
        limits = Limits(
            max_unauthenticated=10_000,
            max_sessions_per_principal=100_000,
            max_jobs_per_principal=100_000,
        )
    runtime = Runtime(
        tokens={"bench": "bench"}, heartbeat_interval_sec=300, limits=limits, store=store
    )
    runtime.register("stamped", stamped)
    runtime.register("paced", paced)
    register_demo_agents(runtime)
    runtime.register("firehose", firehose)
    server = await runtime.serve_websocket(host="127.0.0.1", port=port, path="/arcp")
    print(f"READY {server.port}", flush=True)
    await asyncio.Future()


async def _arcp_stdio() -> None:
    from arcp.demo import register_demo_agents
    from arcp.runtime import Runtime
    from arcp.transport import stdio_transport

    runtime = Runtime(tokens={"bench": "bench"}, heartbeat_interval_sec=300)
    register_demo_agents(runtime)
    runtime.register("firehose", firehose)
    transport = await stdio_transport()
    await runtime.serve(transport)
    await runtime.aclose()


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "node":
        asyncio.run(_arcp(port, node=(sys.argv[3], sys.argv[4])))
    elif mode == "stdio":
        asyncio.run(_arcp_stdio())
    else:
        asyncio.run(_raw(port) if mode == "raw" else _arcp(port, scale=mode == "scale"))


if __name__ == "__main__":
    main()
