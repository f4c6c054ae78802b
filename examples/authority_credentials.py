"""Provisioned credentials (§9.8): issued with job.accepted, rotated, revoked at the end.

Run: ``uv run python examples/authority_credentials.py``
"""

from __future__ import annotations

import asyncio
from typing import Any

from arcp.client import Client
from arcp.client.lease import Lease
from arcp.runtime import JobContext, Runtime
from arcp.runtime.credentials import InProcessProvisioner
from arcp.transport import Transport, memory_pair
from arcp_gen.models import StatusBody

gateway = InProcessProvisioner(endpoint="https://gateway.example/v1", profile="openai")
"""The reference provisioner doubles as a toy gateway that checks the credentials it issued."""


async def summarizer(input: Any, ctx: JobContext) -> Any:
    """Checks its model grant, "calls" the gateway with its credential, rotates it once."""
    await ctx.use_model("tier-fast/mini")
    (credential,) = ctx.credentials
    print("agent holds", credential)  # the repr never shows the value
    # The gateway enforces the same lease independently (§9.7, §9.8.3).
    assert gateway.accepts(credential.value, model="tier-fast/mini")
    assert not gateway.accepts(credential.value, model="tier-large/max")
    await ctx.metric("cost.inference", 0.42, unit="USD")
    await ctx.rotate_credentials()
    assert not gateway.accepts(credential.value)  # the prior value stops working
    return {"summary": "short", "endpoint": credential.endpoint}


async def main() -> None:
    runtime = Runtime(model_policy="require", provisioner=gateway)
    runtime.register("summarizer", summarizer)
    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))

    async def dial() -> Transport:
        return ours

    lease = Lease().model_use("tier-fast/*").budget("USD", "2.00")
    async with await Client.connect(dial, token="demo", reconnect=False) as client:
        job = await client.submit("summarizer", None, lease=lease)
        (issued,) = job.credentials
        print("issued", issued)
        async for event in job:
            body = event.payload.body
            if isinstance(body, StatusBody) and body.phase == "credential_rotated":
                # job.credentials follows rotations; the new value reached only us.
                print("rotated", body.credential_id, "(new value sent to the submitter only)")
        print("result:", await job.result(), "budget:", job.budget)
        assert job.credentials == ()  # the client drops credential values when the job ends
    await runtime.revocations_settled()
    print("revoked:", gateway.revoked == [issued.id], "live:", gateway.is_live(issued.id))
    await runtime.aclose()
    serving.cancel()


if __name__ == "__main__":
    asyncio.run(main())
