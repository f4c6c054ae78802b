"""Writing agents: the JobContext API, cancellation, streaming a result, failing cleanly."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from arcp import Client, JobContext, Runtime
from arcp.transport import Transport, memory_pair
from arcp_gen.errors import InvalidRequestError, JobCancelledError

cleaned_up: list[str] = []
thread_steps: list[int] = []


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


def count_slowly(ctx: JobContext, limit: int) -> int:
    """Blocking work in a worker thread. Cancellation cannot interrupt a thread, so it
    polls ctx.cancelled, which turns true when the job is cancelled or times out."""
    done = 0
    while done < limit and not ctx.cancelled:
        time.sleep(0.01)
        done += 1
    thread_steps.append(done)
    return done


async def counter(input: Any, ctx: JobContext) -> Any:
    return {"counted": await asyncio.to_thread(count_slowly, ctx, input["limit"])}


async def main() -> None:
    runtime = Runtime()
    runtime.register("crawler", crawler, version="1.0.0", default=True)
    runtime.register("summariser", summariser)
    runtime.register("counter", counter)

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

        timed = await client.submit("counter", {"limit": 1000}, max_runtime_sec=0.1)
        await timed.wait()
        await asyncio.sleep(0.1)  # give the thread a moment to notice
        print("counter ended:", timed.status, "thread stopped early:", thread_steps[0] < 1000)

    await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main())
