"""Writing agents: the JobContext API, cancellation, streaming a result, failing cleanly."""

from __future__ import annotations

import asyncio
from typing import Any

from arcp import Client, JobContext, Runtime
from arcp.transport import Transport, memory_pair
from arcp_gen.errors import InvalidRequestError, JobCancelledError

cleaned_up: list[str] = []


async def crawler(input: Any, ctx: JobContext) -> Any:
    """Works page by page until done or cancelled; always releases what it holds."""
    if not isinstance(input, dict) or not isinstance(input.get("pages"), int):
        raise InvalidRequestError("input.pages must be an integer")  # -> job.error
    await ctx.status("starting", f"{ctx.agent}, trace {ctx.trace_id[:8]}...")
    try:
        for page in range(1, input["pages"] + 1):
            await asyncio.sleep(0.02)  # real work; cancellation interrupts any await
            await ctx.progress(page, total=input["pages"], units="pages")
        return {"pages": input["pages"]}
    finally:
        cleaned_up.append(ctx.job_id)  # runs on success, error, cancel and timeout


async def summariser(input: Any, ctx: JobContext) -> Any:
    """Streams its answer when the submitter negotiated result_chunk (§8.4)."""
    words = ["ARCP", "streams", "large", "results", "in", "ordered", "chunks."]
    if not ctx.can_stream_result:
        return " ".join(words)
    stream = ctx.stream_result()
    for i, word in enumerate(words):
        await stream.write(word if i == 0 else " " + word)
    return None


async def watcher(input: Any, ctx: JobContext) -> Any:
    """Waits for an outside signal, or for cancellation, whichever comes first."""
    await ctx.wait_cancelled()  # returns once the job is cancelled or timed out
    return None  # ignored: the job already ended with CANCELLED / TIMEOUT


async def main() -> None:
    runtime = Runtime()
    runtime.register("crawler", crawler, version="1.0.0", default=True)
    runtime.register("summariser", summariser)
    runtime.register("watcher", watcher)

    sessions: list[asyncio.Task[None]] = []  # one serve() task per connection

    async def dial() -> Transport:
        ours, theirs = memory_pair()
        sessions.append(asyncio.ensure_future(runtime.serve(theirs)))
        return ours

    async with Client.connect(dial) as client:
        print(await (await client.submit("crawler", {"pages": 3})).result())
        print(await (await client.submit("summariser")).result())

        job = await client.submit("crawler", {"pages": 1000})
        await asyncio.sleep(0.1)
        await job.cancel("enough")
        try:
            await job.result()
        except JobCancelledError:
            print("cancelled after", job.progress.current if job.progress else 0, "pages")
        print("cleanup ran:", job.job_id in cleaned_up)

        bad = await client.submit("crawler", {"pages": "many"})
        try:
            await bad.result()
        except InvalidRequestError as err:
            print("refused input:", err.message)

        timed = await client.submit("watcher", max_runtime_sec=0.1)
        await timed.wait()
        print("watcher ended:", timed.status)

    await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main())
