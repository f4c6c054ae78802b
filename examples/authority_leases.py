"""Leases (§9.1-§9.5, §9.7): coverage, path normalisation, model.use, and expiry.

Run: ``uv run python examples/authority_leases.py``
"""

from __future__ import annotations

import asyncio
from typing import Any

from arcp.client import Client
from arcp.client.lease import Lease, LeaseConstraints
from arcp.demo import register_demo_agents
from arcp.runtime import JobContext, Runtime
from arcp.transport import Transport, memory_pair
from arcp_gen.errors import ARCPError, LeaseExpiredError


async def indexer(input: Any, ctx: JobContext) -> Any:
    """Reads files through the gate until its lease runs out (§13.4)."""
    n = 0
    while True:
        await ctx.check_read(f"/data/file-{n}.txt")  # raises LEASE_EXPIRED once expired
        n += 1
        await asyncio.sleep(0.05)


async def main() -> None:
    # model_policy enables (and advertises) model.use; a zero grace makes the demo quick.
    runtime = Runtime(model_policy="require", expiry_grace_sec=0)
    register_demo_agents(runtime)
    runtime.register("indexer", indexer)
    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))

    async def dial() -> Transport:
        return ours

    async with await Client.connect(dial, token="demo", reconnect=False) as client:
        workspace = Lease().fs_read("/workspace/**")
        for path in ("/workspace/src/app.py", "/workspace/../etc/passwd"):
            job = await client.submit("reader", {"path": path}, lease=workspace)
            try:
                print(path, "->", await job.result())
            except ARCPError as err:
                print(path, "->", err.code.value)

        models = Lease().model_use("tier-fast/*")
        for model in ("tier-fast/mini", "tier-large/max"):
            job = await client.submit("modeler", {"model": model}, lease=models)
            try:
                print(model, "->", await job.result())
            except ARCPError as err:
                print(model, "->", err.code.value)

        job = await client.submit(
            "indexer",
            None,
            lease=Lease().fs_read("/data/**"),
            lease_constraints=LeaseConstraints.expires_in(seconds=0.5),
        )
        print("lease expires at", job.accepted.lease_constraints)
        try:
            await job.result()
        except LeaseExpiredError as err:
            print("indexer ended:", err.code.value, "retryable =", err.retryable)
    await runtime.aclose()
    serving.cancel()


if __name__ == "__main__":
    asyncio.run(main())
