"""Acks and back-pressure (§6.5): the client acknowledges processed events; a runtime whose
unacknowledged lag crosses a threshold emits one status event with phase back_pressure."""

from __future__ import annotations

import asyncio
from typing import Any

from arcp import Client, JobContext, Runtime
from arcp.transport import memory_pair
from arcp_gen.models import StatusEvent


async def main() -> None:
    runtime = Runtime(back_pressure_threshold=10)  # no tokens: development mode

    @runtime.agent("burst")
    async def burst(input: Any, ctx: JobContext) -> Any:
        for i in range(input["n"]):
            await ctx.log(f"event {i}")
        return None

    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))

    # auto_ack=False: nothing is acknowledged until the application says so.
    async with Client.connect(ours, auto_ack=False) as client:
        job = await client.submit("burst", {"n": 15})
        async for event in job:
            if isinstance(event.payload, StatusEvent):
                print(f"seq {event.event_seq}: status {event.payload.body.phase}")
        await job.result()
        # Everything up to here was processed: the runtime may free its replay buffer.
        await client.ack(client.last_event_seq)
        print("acked through", client.last_event_seq)

    await runtime.aclose()
    await serving


if __name__ == "__main__":
    asyncio.run(main())
