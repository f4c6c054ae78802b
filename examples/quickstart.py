"""Quickstart: a runtime with one agent on 127.0.0.1, and a client that submits a job."""

from __future__ import annotations

import asyncio
from typing import Any

from arcp import Client, JobContext, Runtime


async def main() -> None:
    runtime = Runtime(tokens={"dev-token": "alice"})

    @runtime.agent("greeter", version="1.0.0", default=True)
    async def greeter(input: Any, ctx: JobContext) -> Any:
        await ctx.log("saying hello")
        await ctx.progress(1, total=1)
        return {"greeting": f"hello, {input['name']}"}

    server = await runtime.serve_websocket(host="127.0.0.1", port=0)
    try:
        async with Client.connect(server.url, token="dev-token") as client:
            job = await client.submit("greeter", {"name": "world"})
            async for event in job:
                print(event.event_seq, event.payload.kind, event.payload.body)
            print("result:", await job.result())
    finally:
        await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main())
