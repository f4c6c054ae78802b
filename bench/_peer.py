"""Server processes for the cross-process benchmarks: ``python -m bench._peer MODE PORT``.

``raw``: a bare ``websockets`` server that, per connection, waits for one text frame with
a count and then sends that many pre-encoded ``job.event`` frames (the stream baseline), or,
when the first frame is ``echo``, answers every frame with itself (the round-trip baseline).
``arcp``: our runtime with a ``firehose`` agent that emits ``input.n`` log events.
The first line on stdout is ``READY <port>``.
``stdio``: the same runtime serving one session over its stdin/stdout (the port is unused).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from bench.frames import event_frame

__all__ = ["firehose"]


async def _raw(port: int) -> None:
    frames = [event_frame(seq) for seq in range(1, 1001)]

    async def handler(ws: ServerConnection) -> None:
        first = await ws.recv()
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


async def _arcp(port: int) -> None:
    from arcp.demo import register_demo_agents
    from arcp.runtime import Runtime

    runtime = Runtime(tokens={"bench": "bench"}, heartbeat_interval_sec=300)
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
    if mode == "stdio":
        asyncio.run(_arcp_stdio())
    else:
        asyncio.run(_raw(port) if mode == "raw" else _arcp(port))


if __name__ == "__main__":
    main()
