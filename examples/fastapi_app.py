"""ARCP inside a FastAPI app (§4): one uvicorn server for your HTTP API and the ARCP endpoint.

Run it: ``uv run python examples/fastapi_app.py``. It starts uvicorn on 127.0.0.1 (a free
port), connects a client over ``ws://127.0.0.1:PORT/arcp``, runs a few jobs, calls the
HTTP API, and shuts down. To serve for real, build the same app and run ``uvicorn``.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from arcp import Client, Runtime
from arcp.demo import register_demo_agents
from arcp.transport.asgi import ARCPApp, mount
from arcp_gen.errors import JobCancelledError


def build_app() -> FastAPI:
    runtime = Runtime(tokens={"secret-token": "alice"})  # bearer tokens in session.hello (§6.1)
    register_demo_agents(runtime)
    arcp_app = ARCPApp(runtime, path=None, allowed_hosts=["127.0.0.1", "localhost"])

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await arcp_app.aclose()  # end running jobs, flush and close ARCP sessions

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:  # pyright: ignore[reportUnusedFunction]
        return {"status": "ok"}

    # ws://host/arcp and ws://host/arcp/ both reach ARCP (a plain app.mount answers only
    # the slashed form: Starlette routes a mount's WebSockets only below its prefix).
    mount(app, "/arcp", arcp_app)
    return app


async def main() -> None:
    server = uvicorn.Server(
        uvicorn.Config(build_app(), host="127.0.0.1", port=0, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn has no "started" event; poll until it listens
        if serving.done():
            serving.result()  # it failed to start: raise why
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with Client.connect(f"ws://127.0.0.1:{port}/arcp", token="secret-token") as client:
            echo = await client.submit("echo", {"hello": "fastapi"})
            print("echo ->", await echo.result())

            chatty = await client.submit("chatty", {"n": 3})
            async for event in chatty:
                print("event:", event.payload.kind, event.event_seq)
            print("chatty ->", await chatty.result())

            slow = await client.submit("slow", {"sec": 30})
            await slow.cancel("demo")
            try:
                await slow.result()
            except JobCancelledError as err:
                print("slow ->", err.code)

        url = f"http://127.0.0.1:{port}/health"
        with await asyncio.to_thread(urllib.request.urlopen, url) as response:
            print("GET /health ->", response.status, response.read().decode())
    finally:
        server.should_exit = True
        await serving


if __name__ == "__main__":
    asyncio.run(main())
