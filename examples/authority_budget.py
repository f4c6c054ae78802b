"""Budgets (§9.6): a job with a USD 1.00 budget runs until the budget is exhausted.

Run: ``uv run python examples/authority_budget.py``
"""

from __future__ import annotations

import asyncio

from arcp.client import Client
from arcp.client.lease import Lease
from arcp.demo import register_demo_agents
from arcp.runtime import Runtime
from arcp.transport import Transport, memory_pair
from arcp_gen.errors import BudgetExhaustedError
from arcp_gen.models import MetricEvent, ToolResultEvent


async def main() -> None:
    runtime = Runtime()
    register_demo_agents(runtime)  # `costly`: gated search.web calls costing input.usd each
    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))

    async def dial() -> Transport:
        return ours

    lease = Lease().tool_call("search.*").budget("USD", "1.00")
    async with await Client.connect(dial, token="demo", reconnect=False) as client:
        job = await client.submit("costly", {"steps": 10, "usd": 0.30}, lease=lease)
        print("accepted with budget", job.budget)
        async for event in job:
            payload = event.payload
            if isinstance(payload, MetricEvent) and payload.body.name == "cost.budget.remaining":
                print(f"  remaining {payload.body.value:.2f} {payload.body.unit}")
            elif isinstance(payload, ToolResultEvent) and payload.body.error is not None:
                print("  denied:", payload.body.error.code)
        try:
            await job.result()
        except BudgetExhaustedError as err:
            print("job ended:", err.code.value, "retryable =", err.retryable)
            assert err.retryable is False
        print("final budget", job.budget)
    await runtime.aclose()
    serving.cancel()


if __name__ == "__main__":
    asyncio.run(main())
