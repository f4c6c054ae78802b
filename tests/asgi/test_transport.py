"""ASGIWebSocketTransport against the real websockets client through uvicorn (§4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from arcp.transport import TransportClosed, WebSocketTransport, connect_websocket
from arcp.transport.asgi import ASGIWebSocketTransport, Receive, Scope, Send, host_allowed
from tests.asgi.conftest import uvicorn_server

# uvicorn's legacy "websockets" protocol uses deprecated websockets APIs.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The `websockets` implementation is deprecated"),
]


@dataclass
class EchoApp:
    """Accepts every WebSocket and echoes frames; ``!close`` makes it close its end."""

    max_size: int | None = 1024
    outcomes: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue[str]())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        transport = ASGIWebSocketTransport(scope, receive, send, max_size=self.max_size)
        while True:
            try:
                frame = await transport.recv()
                if frame == b"!close":
                    await transport.close()
                    assert transport.closed and transport.close_code == 1000
                    self.outcomes.put_nowait("closed-on-command")
                    return
                await transport.send(frame)
            except TransportClosed:
                self.outcomes.put_nowait(f"saw-close {transport.close_code}")
                return


@pytest.fixture(params=["websockets-sansio", "websockets"])
async def echo(request: pytest.FixtureRequest) -> AsyncIterator[tuple[EchoApp, WebSocketTransport]]:
    app = EchoApp()
    async with uvicorn_server(app, ws=request.param) as port:
        client = await connect_websocket(f"ws://127.0.0.1:{port}/any")
        yield app, client
        await client.close()


async def test_frames_arrive_whole_and_in_order(echo: tuple[EchoApp, WebSocketTransport]) -> None:
    _, client = echo
    frames = [f'{{"n":{i},"s":"é"}}'.encode() for i in range(200)]
    for frame in frames:
        await client.send(frame)
    assert [await client.recv() for _ in frames] == frames


async def test_binary_messages_are_accepted(echo: tuple[EchoApp, WebSocketTransport]) -> None:
    _, client = echo
    await client.send_binary(b'{"binary":true}')
    assert await client.recv() == b'{"binary":true}'


async def test_client_close_is_seen_by_the_server(
    echo: tuple[EchoApp, WebSocketTransport],
) -> None:
    app, client = echo
    await client.close()
    assert client.closed
    assert await app.outcomes.get() == "saw-close 1000"
    with pytest.raises(TransportClosed):
        await client.send(b"{}")


async def test_server_close_is_seen_by_the_client(
    echo: tuple[EchoApp, WebSocketTransport],
) -> None:
    app, client = echo
    await client.send(b"!close")
    with pytest.raises(TransportClosed):
        await client.recv()
    assert await app.outcomes.get() == "closed-on-command"
    assert client.close_code == 1000


async def test_oversized_message_closes_with_1009(
    echo: tuple[EchoApp, WebSocketTransport],
) -> None:
    app, client = echo
    await client.send(b"x" * 1025)
    with pytest.raises(TransportClosed):
        await client.recv()
    assert client.close_code == 1009
    assert await app.outcomes.get() == "saw-close 1009"


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("arcp.example.com", True),
        ("ARCP.Example.com:8443", True),
        ("arcp.example.com.", True),
        ("a.b.example.org", True),
        ("example.org", False),
        ("evil-example.org", False),
        ("[::1]:9000", True),
        ("127.0.0.1:80", False),
        (None, False),
        ("", False),
    ],
)
def test_host_allow_list(host: str | None, allowed: bool) -> None:
    patterns = ["arcp.example.com", "*.example.org", "[::1]"]
    assert host_allowed(host, patterns) is allowed


def test_star_allows_every_host() -> None:
    assert host_allowed("anything:1", ["*"])
    assert host_allowed(None, ["*"])
