"""Resume and replay (§6.3): the connection drops mid-job; the client dials again, sends
session.resume, and the runtime replays what was buffered. No event is lost or repeated."""

from __future__ import annotations

import asyncio
from typing import Any

from arcp import Client, JobContext, Runtime
from arcp.transport import MemoryTransport, Transport, memory_pair


async def main() -> None:
    runtime = Runtime(tokens={"tok": "alice"}, resume_window_sec=60)

    @runtime.agent("counter")
    async def counter(input: Any, ctx: JobContext) -> Any:
        for i in range(input["n"]):
            await ctx.log(f"line {i}")
            await asyncio.sleep(0.005)
        return {"lines": input["n"]}

    connections: list[MemoryTransport] = []

    sessions: list[asyncio.Task[None]] = []  # one serve() task per connection

    async def dial() -> Transport:
        """A connection factory: Client.connect calls it again after a drop."""
        ours, theirs = memory_pair()
        sessions.append(asyncio.ensure_future(runtime.serve(theirs)))
        connections.append(ours)
        return ours

    async with Client.connect(dial, token="tok") as client:
        job = await client.submit("counter", {"n": 40})
        seqs: list[int] = []
        async for event in job:
            seqs.append(event.event_seq)
            if len(seqs) == 10:
                connections[-1].drop()  # a network failure: no goodbye
        print("result:", await job.result())
        print("connections used:", len(connections))
        print("events:", len(seqs), "gap-free:", seqs == list(range(1, len(seqs) + 1)))
        print("last_event_seq:", client.last_event_seq)
    await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main())
