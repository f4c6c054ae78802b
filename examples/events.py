"""Events (§8): one agent emits every event kind; the client yields each as a typed model.
event_seq is per session, starts at 1 and has no gaps (§8.3)."""

from __future__ import annotations

import asyncio
from typing import Any

from arcp import Client, JobContext, Runtime
from arcp.transport import memory_pair


async def every_kind(input: Any, ctx: JobContext) -> Any:
    await ctx.log("starting", level="info")  # log
    await ctx.thought("plan: search, then summarise")  # thought
    await ctx.status("searching", "one query")  # status
    hits = await ctx.tool_call("search.web", {"q": "arcp"}, lambda args: ["hit"])
    # ^ tool_call, then tool_result with what the function returned (§9.3 gate in between)
    await ctx.metric("tokens.used", 1234, unit="tokens")  # metric
    await ctx.progress(1, total=2, units="steps")  # progress (only if negotiated)
    await ctx.artifact("file:///tmp/report.txt", "text/plain", byte_size=42)  # artifact_ref
    await ctx.emit("x-vendor.acme.note", {"anything": True})  # vendor kind
    child = await ctx.delegate("helper", {"x": 1})  # delegate (§10)
    await child.result()
    stream = ctx.stream_result()  # result_chunk (only if negotiated)
    await stream.write(f"found {len(hits)} hit")
    return None


async def helper(input: Any, ctx: JobContext) -> Any:
    return input


async def main() -> None:
    runtime = Runtime()
    runtime.register("every-kind", every_kind)
    runtime.register("helper", helper)
    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))

    async with Client.connect(ours) as client:
        lease = {"tool.call": ["search.*"], "agent.delegate": ["helper"]}
        job = await client.submit("every-kind", lease=lease)
        seqs: list[int] = []
        async for event in job:
            seqs.append(event.event_seq)
            payload = event.payload
            print(f"{event.event_seq:2} {payload.kind:18} {type(payload).__name__}")
        print("result:", await job.result())
        print("gap-free:", seqs == list(range(seqs[0], seqs[0] + len(seqs))))

    await runtime.aclose()
    await serving


if __name__ == "__main__":
    asyncio.run(main())
