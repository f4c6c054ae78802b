"""The in-memory transport (§4): two connected ends in one process, for tests and embedding."""

from __future__ import annotations

import asyncio

from arcp import Client, Runtime
from arcp.demo import register_demo_agents
from arcp.transport import memory_pair


async def main() -> None:
    runtime = Runtime()
    register_demo_agents(runtime)
    client_end, runtime_end = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(runtime_end))  # one session per pair

    # A bare transport cannot be dialled again: pass a factory instead when you want resume.
    async with Client.connect(client_end) as client:
        print(await (await client.submit("echo", "in memory")).result())

    await runtime.aclose()
    await serving


if __name__ == "__main__":
    asyncio.run(main())
