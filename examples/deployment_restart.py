"""What a restart loses today: sessions, jobs and replay buffers live in memory only.

A client is connected while its runtime process goes away and a new one takes the same
port. The client dials again and asks to resume; the new runtime has never heard of the
session, so the resume is refused and the client reports it.
"""

from __future__ import annotations

import asyncio
import logging

from arcp import Client, Runtime
from arcp.client import ConnectionLostError
from arcp.demo import register_demo_agents
from arcp_gen.errors import ARCPError


def make_runtime() -> Runtime:
    runtime = Runtime(tokens={"tok": "alice"}, resume_window_sec=600)
    register_demo_agents(runtime)
    return runtime


async def main() -> None:
    logging.getLogger("arcp.client").setLevel(logging.ERROR)  # quiet reconnect warnings
    first = make_runtime()
    server = await first.serve_websocket(port=0)
    port = server.port

    client = await Client.connect(server.url, token="tok")
    job = await client.submit("slow", {"sec": 30})
    await first.aclose()  # graceful stop: running jobs end with CANCELLED first
    try:
        await job.result()
    except ARCPError as err:
        print("job on the old runtime ended with", err.code)

    second = make_runtime()  # "restarted": same address, empty memory
    await second.serve_websocket(port=port)
    try:
        await client.list_jobs().__anext__()
    except (ARCPError, ConnectionLostError) as err:
        print("resume after restart:", type(err).__name__, getattr(err, "code", ""))
    await client.close()
    await second.aclose()


if __name__ == "__main__":
    asyncio.run(main())
