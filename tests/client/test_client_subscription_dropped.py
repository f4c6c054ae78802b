"""A subscriber the runtime drops for lagging ends with the error (§7.6, §13.2, #13).

The runtime unsubscribes a session that falls ``high_water`` events behind a job it observes
and says so with a ``session.error`` naming the job. The client used to log it only, and the
subscription waited for ever; now that subscription raises the spec-coded error and the
session's other jobs carry on.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from arcp.client import Client
from arcp.runtime import JobContext, Runtime
from arcp.transport.base import Transport
from arcp.transport.memory import memory_pair
from arcp_gen.errors import InternalError


async def test_a_dropped_subscription_raises_and_the_session_carries_on() -> None:
    rt = Runtime(high_water=50)
    gate = asyncio.Event()

    @rt.agent("chatty")
    async def chatty(input: Any, ctx: JobContext) -> Any:
        await gate.wait()
        for i in range(input["n"]):
            await ctx.log(f"event {i + 1}")
        return {"count": input["n"]}

    tasks: list[asyncio.Task[None]] = []

    async def dial() -> Transport:
        ours, theirs = memory_pair()
        tasks.append(asyncio.ensure_future(rt.serve(theirs)))
        return ours

    try:
        async with (
            await Client.connect(dial) as owner,
            await Client.connect(dial) as watcher,
        ):
            job = await owner.submit("chatty", {"n": 400})
            sub = await watcher.subscribe(job.job_id)
            gate.set()
            assert await asyncio.wait_for(job.result(), 30) == {"count": 400}  # not slowed
            # The watcher never read its subscription, so never acknowledged: dropped.
            with pytest.raises(InternalError) as caught:
                async with asyncio.timeout(30):
                    async for _ in sub:
                        pass
            assert caught.value.details is not None
            assert caught.value.details["job_id"] == job.job_id
            # The watcher's session is still open and runs its own jobs.
            own = await watcher.submit("chatty", {"n": 3})
            assert await asyncio.wait_for(own.result(), 30) == {"count": 3}
    finally:
        await rt.aclose()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
