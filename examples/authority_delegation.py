"""Delegation (§9.4, §10): a child job under a subset of the parent's lease.

Run: ``uv run python examples/authority_delegation.py``
"""

from __future__ import annotations

import asyncio
from typing import Any

from arcp.client import Client
from arcp.client.lease import Lease
from arcp.demo import register_demo_agents
from arcp.runtime import JobContext, Runtime
from arcp.transport import Transport, memory_pair
from arcp_gen.errors import LeaseSubsetViolationError
from arcp_gen.models import DelegateEvent


async def planner(input: Any, ctx: JobContext) -> Any:
    """Hands a research step to `costly` with 40 cents of its dollar, then tries to widen."""
    child = await ctx.delegate(
        "costly",
        {"steps": 1, "usd": 0.10},
        lease={"tool.call": ["search.web"], "cost.budget": ["USD:0.40"]},
    )
    child_result = await child.result()
    widened = "allowed?!"
    try:
        await ctx.delegate("costly", {}, lease={"tool.call": ["*"], "cost.budget": ["USD:0.10"]})
    except LeaseSubsetViolationError as err:
        widened = err.code.value
    return {"child": child_result, "widening": widened, "budget_left": ctx.budget}


async def main() -> None:
    runtime = Runtime()
    register_demo_agents(runtime)
    runtime.register("planner", planner)
    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))

    async def dial() -> Transport:
        return ours

    lease = Lease().delegate("costly").tool_call("search.*").budget("USD", "1.00")
    async with await Client.connect(dial, token="demo", reconnect=False) as client:
        job = await client.submit("planner", None, lease=lease)
        async for event in job:
            if isinstance(event.payload, DelegateEvent):
                body = event.payload.body
                print("delegated to", body.agent, "as", body.child_job_id, "trace", event.trace_id)
        print("result:", await job.result())
        async for summary in client.list_jobs():
            print(f"  {summary.job_id} {summary.agent} parent={summary.parent_job_id}")
    await runtime.aclose()
    serving.cancel()


if __name__ == "__main__":
    asyncio.run(main())
