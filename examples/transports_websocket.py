"""WebSocket (§4): path, max_size, compression, and a custom connection factory."""

from __future__ import annotations

import asyncio

from arcp import Client, Runtime
from arcp.demo import register_demo_agents
from arcp.transport import Transport, WebSocketConnectError, connect_websocket


async def main() -> None:
    runtime = Runtime(tokens={"tok": "alice"})
    register_demo_agents(runtime)
    server = await runtime.serve_websocket(
        host="127.0.0.1",
        port=0,  # any free port; server.port tells which
        path="/agents/arcp",  # other paths get HTTP 404; path=None accepts any
        max_size=8 * 1024 * 1024,  # largest incoming message (default 4 MiB)
        compression="deflate",  # permessage-deflate, off by default
    )
    print("listening on", server.url.replace(str(server.port), "PORT"))

    # A plain URL: Client.connect dials it (and dials it again to resume).
    async with Client.connect(server.url, token="tok") as client:
        print(await (await client.submit("echo", "plain url")).result())

    # A factory gives control over the socket options; it is also used for reconnects.
    async def dial() -> Transport:
        return await connect_websocket(
            server.url, compression="deflate", max_size=8 * 1024 * 1024, open_timeout=5
        )

    async with Client.connect(dial, token="tok") as client:
        job = await client.submit("chunked", {"bytes": 3_000_000, "chunk_size": 1_000_000})
        print("chunked result:", len((await job.result()).encode()), "bytes")

    # A wrong path is refused during the WebSocket handshake.
    try:
        await connect_websocket(f"ws://127.0.0.1:{server.port}/wrong")
    except WebSocketConnectError as err:
        print("wrong path -> HTTP", err.status)

    await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main())
