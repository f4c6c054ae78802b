"""ARCP mounted in a FastAPI app served by uvicorn, driven by the real client (§4, §6.1, §7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from starlette.routing import WebSocketRoute

from arcp import Client, Runtime
from arcp.demo import register_demo_agents
from arcp.transport import WebSocketConnectError, connect_websocket, memory_pair
from arcp.transport.asgi import ARCPApp, mount
from arcp_gen.errors import JobCancelledError, UnauthenticatedError
from tests.asgi.conftest import http_get, uvicorn_server


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    rt = Runtime(tokens={"secret": "alice"})
    register_demo_agents(rt)
    yield rt
    await rt.aclose()


def fastapi_app(runtime: Runtime) -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, bool]:  # pyright: ignore[reportUnusedFunction]
        return {"ok": True}

    app.mount("/arcp", ARCPApp(runtime, path=None))
    app.router.routes.append(WebSocketRoute("/ws", ARCPApp(runtime, path=None)))
    return app


async def test_jobs_events_and_cancel_through_a_fastapi_mount(runtime: Runtime) -> None:
    async with uvicorn_server(fastapi_app(runtime)) as port:
        url = f"ws://127.0.0.1:{port}/arcp/"
        async with Client.connect(url, token="secret") as client:
            assert client.session_id is not None
            assert {a.name for a in client.agents} >= {"echo", "chatty", "slow"}

            echo = await client.submit("echo", {"hello": "asgi"})
            assert echo.agent == "echo@1.0.0"
            assert await echo.result() == {"hello": "asgi"}

            chatty = await client.submit("chatty", {"n": 5})
            kinds = [event.payload.kind async for event in chatty]
            assert kinds == ["log"] * 5
            assert await chatty.result() == {"count": 5}

            slow = await client.submit("slow", {"sec": 60})
            await slow.cancel("test")
            with pytest.raises(JobCancelledError):
                await slow.result()


async def test_websocket_route_and_http_neighbours(runtime: Runtime) -> None:
    async with uvicorn_server(fastapi_app(runtime)) as port:
        # A WebSocketRoute serves the exact path, no trailing slash.
        async with Client.connect(f"ws://127.0.0.1:{port}/ws", token="secret") as client:
            handle = await client.submit("echo", [1, 2, 3])
            assert await handle.result() == [1, 2, 3]
        assert await http_get(f"http://127.0.0.1:{port}/health") == (200, b'{"ok":true}')
        status, body = await http_get(f"http://127.0.0.1:{port}/arcp/")
        assert (status, body) == (404, b"Not Found\n")


async def test_bad_token_is_refused_in_the_handshake(runtime: Runtime) -> None:
    async with uvicorn_server(fastapi_app(runtime)) as port:
        with pytest.raises(UnauthenticatedError):
            await Client.connect(f"ws://127.0.0.1:{port}/arcp/", token="wrong", reconnect=False)


async def test_disallowed_host_gets_403_before_the_handshake(runtime: Runtime) -> None:
    app = ARCPApp(runtime, allowed_hosts=["arcp.example.com", "*.example.org"])
    async with uvicorn_server(app) as port:
        with pytest.raises(WebSocketConnectError) as refused:
            await connect_websocket(f"ws://127.0.0.1:{port}/arcp")
        assert refused.value.status == 403


async def test_allowed_host_connects(runtime: Runtime) -> None:
    app = ARCPApp(runtime, allowed_hosts=["127.0.0.1", "*.example.org"])
    async with (
        uvicorn_server(app) as port,
        Client.connect(f"ws://127.0.0.1:{port}/arcp", token="secret") as client,
    ):
        assert await (await client.submit("echo", "ok")).result() == "ok"


async def test_standalone_app_paths_and_owned_runtime_lifespan() -> None:
    runtime = Runtime()
    register_demo_agents(runtime)
    app = ARCPApp(runtime, owns_runtime=True)
    async with uvicorn_server(app) as port:
        assert (await http_get(f"http://127.0.0.1:{port}/arcp"))[0] == 404
        with pytest.raises(WebSocketConnectError) as wrong_path:
            await connect_websocket(f"ws://127.0.0.1:{port}/elsewhere")
        assert wrong_path.value.status == 404
        async with Client.connect(f"ws://127.0.0.1:{port}/arcp") as client:
            assert await (await client.submit("echo", 1)).result() == 1
    # Lifespan shutdown closed the runtime it owns: it now refuses connections at once.
    local, remote = memory_pair()
    await runtime.serve(remote)
    assert remote.closed and local.closed


async def test_fallback_app_gets_http_and_lifespan() -> None:
    runtime = Runtime()
    register_demo_agents(runtime)
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    web = FastAPI(lifespan=lifespan)

    @web.get("/health")
    async def health() -> str:  # pyright: ignore[reportUnusedFunction]
        return "fine"

    app = ARCPApp(runtime, fallback=web, owns_runtime=True)
    async with uvicorn_server(app) as port:
        assert await http_get(f"http://127.0.0.1:{port}/health") == (200, b'"fine"')
        assert (await http_get(f"http://127.0.0.1:{port}/arcp"))[0] == 404  # FastAPI's 404
        async with Client.connect(f"ws://127.0.0.1:{port}/arcp") as client:
            assert await (await client.submit("echo", "x")).result() == "x"
    assert events == ["startup", "shutdown"]
    local, remote = memory_pair()
    await runtime.serve(remote)  # the owned runtime was closed on shutdown
    assert remote.closed and local.closed


async def test_mount_answers_the_path_with_and_without_a_slash(runtime: Runtime) -> None:
    """Issue 12 item 6: `ws://host/arcp` and `ws://host/arcp/` both reach the runtime (§4)."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, bool]:  # pyright: ignore[reportUnusedFunction]
        return {"ok": True}

    mount(app, "/arcp", ARCPApp(runtime))
    async with uvicorn_server(app) as port:
        for url in (f"ws://127.0.0.1:{port}/arcp", f"ws://127.0.0.1:{port}/arcp/"):
            async with Client.connect(url, token="secret") as client:
                echo = await client.submit("echo", url)
                assert await echo.result() == url
        assert await http_get(f"http://127.0.0.1:{port}/health") == (200, b'{"ok":true}')
        with pytest.raises(WebSocketConnectError):
            await connect_websocket(f"ws://127.0.0.1:{port}/arcp/elsewhere")


async def test_plain_mount_with_the_default_path_answers_below_the_prefix(
    runtime: Runtime,
) -> None:
    """`app.mount("/arcp", ARCPApp(runtime))`: the default path names the mount point."""
    app = FastAPI()
    app.mount("/arcp", ARCPApp(runtime))
    async with uvicorn_server(app) as port:
        client = await Client.connect(f"ws://127.0.0.1:{port}/arcp/", token="secret")
        async with client:
            assert await (await client.submit("echo", 1)).result() == 1
