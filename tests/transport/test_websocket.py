"""WebSocket specifics (§4): path routing, size limits, compression, shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import connect as raw_connect
from websockets.exceptions import ConnectionClosed

from arcp.transport import (
    DEFAULT_MAX_SIZE,
    Transport,
    TransportClosed,
    WebSocketConnectError,
    WebSocketServer,
    WebSocketTransport,
    connect_websocket,
    serve_websocket,
)

from .conftest import echo_loop


class EchoServer:
    """A real server on 127.0.0.1:0 whose handlers echo and report how they ended."""

    def __init__(self) -> None:
        self.outcomes: asyncio.Queue[str] = asyncio.Queue()
        self.transports: asyncio.Queue[WebSocketTransport] = asyncio.Queue()

    async def handler(self, transport: Transport) -> None:
        assert isinstance(transport, WebSocketTransport)
        self.transports.put_nowait(transport)
        self.outcomes.put_nowait(await echo_loop(transport))


async def _roundtrip(transport: Transport, frame: bytes = b'{"hello":1}') -> None:
    await transport.send(frame)
    assert await transport.recv() == frame


async def test_default_max_size_fits_a_base64_mebibyte_chunk() -> None:
    assert DEFAULT_MAX_SIZE >= 4 * 1024 * 1024 > 1024 * 1024 * 4 // 3 + 1024


async def test_wrong_path_is_refused_with_404() -> None:
    echo = EchoServer()
    async with await serve_websocket(echo.handler, path="/arcp") as server:
        assert server.url == f"ws://127.0.0.1:{server.port}/arcp"
        assert server.port > 0
        with pytest.raises(WebSocketConnectError) as caught:
            await connect_websocket(f"ws://127.0.0.1:{server.port}/other")
        assert caught.value.status == 404
        assert isinstance(caught.value, TransportClosed)
        client = await connect_websocket(server.url + "?v=1")
        await _roundtrip(client)
        accepted = await echo.transports.get()
        assert accepted.path == "/arcp?v=1"
        await client.close()


async def test_connection_refused_when_nobody_listens() -> None:
    server = await serve_websocket(EchoServer().handler)
    url = server.url
    await server.close()
    with pytest.raises(WebSocketConnectError) as caught:
        await connect_websocket(url, open_timeout=5)
    assert caught.value.status is None


async def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        await connect_websocket("http://127.0.0.1:1/arcp")
    with pytest.raises(ValueError):
        await connect_websocket("ws://127.0.0.1:1/arcp", compression="brotli")
    with pytest.raises(ValueError):
        await serve_websocket(EchoServer().handler, compression="gzip")


async def test_oversized_frame_closes_that_connection_only() -> None:
    echo = EchoServer()
    async with await serve_websocket(echo.handler, max_size=64 * 1024) as server:
        client = await connect_websocket(server.url)
        await client.send(b"x" * (64 * 1024 + 1))
        with pytest.raises(TransportClosed):
            await client.recv()
        assert client.close_code == 1009
        assert await echo.outcomes.get() == "saw-close"
        second = await connect_websocket(server.url)
        await _roundtrip(second, b"y" * (64 * 1024))
        await second.close()
        await client.close()


async def test_client_max_size_applies_to_incoming_frames() -> None:
    echo = EchoServer()
    async with await serve_websocket(echo.handler) as server:
        client = await connect_websocket(server.url, max_size=1024)
        await client.send(b"z" * 2048)  # the server echoes it; too big for the client
        with pytest.raises(TransportClosed):
            await client.recv()
        assert client.closed
        assert await echo.outcomes.get() == "saw-close"
        accepted = await echo.transports.get()
        assert accepted.close_code == 1009  # what the client said when it gave up


@pytest.mark.parametrize(
    ("server_side", "client_side", "expected"),
    [
        (None, None, None),
        ("deflate", "deflate", "deflate"),
        (None, "deflate", None),
        ("deflate", None, None),
    ],
)
async def test_compression_negotiation(
    server_side: str | None, client_side: str | None, expected: str | None
) -> None:
    echo = EchoServer()
    async with await serve_websocket(echo.handler, compression=server_side) as server:
        client = await connect_websocket(server.url, compression=client_side)
        accepted = await echo.transports.get()
        assert client.compression == expected
        assert accepted.compression == expected
        await _roundtrip(client, b'{"text":"' + b"abc" * 10_000 + b'"}')
        await client.close()


async def test_server_close_closes_clients_and_stops_accepting() -> None:
    echo = EchoServer()
    server = await serve_websocket(echo.handler)
    clients = [await connect_websocket(server.url) for _ in range(2)]
    for client in clients:
        await _roundtrip(client)
    assert server.connections == 2
    await server.close()
    for client in clients:
        with pytest.raises(TransportClosed):
            await client.recv()
        assert client.close_code == 1001
        assert client.closed
    assert [await echo.outcomes.get(), await echo.outcomes.get()] == ["saw-close"] * 2
    assert server.connections == 0
    with pytest.raises(WebSocketConnectError):
        await connect_websocket(server.url)
    await server.close()  # idempotent


async def test_server_close_cancels_a_handler_that_ignores_shutdown() -> None:
    started = asyncio.Event()

    async def stubborn(transport: Transport) -> None:
        started.set()
        await asyncio.Event().wait()

    server = await serve_websocket(stubborn)
    client = await connect_websocket(server.url)
    await started.wait()
    await server.close(grace=0.1)
    assert server.connections == 0
    with pytest.raises(TransportClosed):
        await client.recv()


async def test_handler_return_and_failure_close_the_connection() -> None:
    async def handler(transport: Transport) -> None:
        frame = await transport.recv()
        await transport.send(frame)
        if frame == b"fail":
            raise RuntimeError("handler bug")

    async with await serve_websocket(handler) as server:
        for frame, code in ((b"ok", 1000), (b"fail", 1011)):
            client = await connect_websocket(server.url)
            await _roundtrip(client, frame)
            with pytest.raises(TransportClosed):
                await client.recv()
            assert client.close_code == code


async def test_drop_is_seen_as_closed_by_the_server() -> None:
    echo = EchoServer()
    async with await serve_websocket(echo.handler) as server:
        client = await connect_websocket(server.url)
        await _roundtrip(client)
        client.drop()
        assert await echo.outcomes.get() == "saw-close"
        with pytest.raises(TransportClosed):
            await client.recv()


async def test_binary_frames_are_accepted_and_text_is_sent() -> None:
    echo = EchoServer()
    server = await serve_websocket(echo.handler)
    async with server, raw_connect(server.url, compression=None) as raw:
        await raw.send(b'{"binary":true}')  # a binary message
        reply = await raw.recv()
        assert reply == '{"binary":true}'  # echoed back as a text message


async def test_handshake_details_are_exposed() -> None:
    echo = EchoServer()
    async with await serve_websocket(echo.handler) as server:
        client = await connect_websocket(server.url, extra_headers={"X-Arcp-Test": "yes"})
        accepted = await echo.transports.get()
        assert accepted.request_headers["x-arcp-test"] == "yes"
        assert accepted.remote_address[0] == "127.0.0.1"
        assert client.remote_address[1] == server.port
        assert isinstance(server, WebSocketServer)
        await client.close()
        assert await echo.outcomes.get() == "saw-close"


@pytest.mark.parametrize(
    "message",
    [b'{"x":"\xff"}', [b'{"x":"', b"\xc3", b'("}']],
    ids=["whole", "fragmented"],
)
async def test_invalid_utf8_in_a_text_message_closes_with_1007(message: Any) -> None:
    """Issue #13 item 4: RFC 6455 §8.1 asks for close code 1007 when a text message is not
    UTF-8; the runtime used to answer INVALID_REQUEST and keep the connection open."""
    echo = EchoServer()
    async with await serve_websocket(echo.handler) as server:
        async with raw_connect(server.url, compression=None) as raw:
            await raw.send(message, text=True)
            with pytest.raises(ConnectionClosed):
                await raw.recv()
            assert raw.close_code == 1007
        assert await echo.outcomes.get() == "saw-close"


async def test_valid_non_ascii_text_still_passes() -> None:
    """Non-ASCII UTF-8 text passes, whole or split inside a character across fragments."""
    echo = EchoServer()
    server = await serve_websocket(echo.handler)
    async with server, raw_connect(server.url, compression=None) as raw:
        text = '{"x":"żółw 🐢"}'
        await raw.send(text.encode(), text=True)
        assert await raw.recv() == text
        await raw.send([b'{"x":"\xc5', b'\xbc"}'], text=True)  # split inside a character
        assert await raw.recv() == '{"x":"ż"}'


async def test_a_connection_that_never_completes_the_handshake_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A TCP peer that never sends its opening handshake is dropped after the open timeout
    (10 s by default), as websockets' own server did; one that completes it is not."""
    from arcp.transport import websocket_server

    monkeypatch.setattr(websocket_server, "_OPEN_TIMEOUT", 0.2)
    echo = EchoServer()
    async with await serve_websocket(echo.handler) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        async with asyncio.timeout(5):
            assert await reader.read() == b""  # the server closed the connection
        writer.close()
        client = await connect_websocket(server.url)
        await asyncio.sleep(0.4)
        await _roundtrip(client)
        await client.close()
