"""Results (§7.3, §8.4): inline in job.result, or streamed as result_chunk events that the
client reassembles; an agent checks ctx.can_stream_result to pick one."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from arcp import Client, Feature, JobContext, Runtime
from arcp.transport import Transport, memory_pair


async def main() -> None:
    runtime = Runtime()

    @runtime.agent("report")
    async def report(input: Any, ctx: JobContext) -> Any:
        text = "line of a long report\n" * input["lines"]
        if not ctx.can_stream_result:
            return text  # inline: the whole value travels in job.result
        stream = ctx.stream_result(encoding="utf8")
        for start in range(0, len(text), 100):
            await stream.write(text[start : start + 100])
        return None  # the result is what was written; job.result only references it

    @runtime.agent("blob")
    async def blob(input: Any, ctx: JobContext) -> Any:
        stream = ctx.stream_result(encoding="base64")  # bytes travel base64-encoded
        await stream.write(bytes(range(256)) * 8)
        return None

    sessions: list[asyncio.Task[None]] = []  # one serve() task per connection

    async def dial() -> Transport:
        ours, theirs = memory_pair()
        sessions.append(asyncio.ensure_future(runtime.serve(theirs)))
        return ours

    async with Client.connect(dial) as client:  # negotiates result_chunk
        job = await client.submit("report", {"lines": 20})
        kinds = [event.payload.kind async for event in job]
        text = await job.result()
        print("streamed:", kinds.count("result_chunk"), "chunks,", len(text), "chars")

        data = await (await client.submit("blob")).result()
        print("bytes:", type(data).__name__, len(data), hashlib.sha256(data).hexdigest()[:12])

    without = [Feature.HEARTBEAT, Feature.ACK]  # no result_chunk
    async with Client.connect(dial, features=without) as client:
        job = await client.submit("report", {"lines": 20})
        kinds = [event.payload.kind async for event in job]
        print("inline:", kinds, len(await job.result()), "chars")

    await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main())
