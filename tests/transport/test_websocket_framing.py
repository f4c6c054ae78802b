"""The client's own framing of the messages a runtime sends most (§4): whole, unmasked text or
binary frames are cut out of the received bytes without ``websockets``' parser; everything else
is left to ``websockets`` from the frame boundary on. Whatever the split of the byte stream, the
client receives what ``websockets`` alone would deliver, and the protocol (pings, closing,
limits, errors) is unchanged."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as raw_connect
from websockets.frames import Close, CloseCode, Frame, Opcode

from arcp.transport import (
    TransportClosed,
    WebSocketTransport,
    connect_websocket,
    serve_websocket,
)


def _frame(opcode: Opcode, data: bytes, *, fin: bool = True, mask: bool = False) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=mask)


def _text(data: bytes) -> bytes:
    return _frame(Opcode.TEXT, data)


async def _quiet_client(
    *, plain: bool = False, max_size: int | None = None
) -> AsyncIterator[tuple[WebSocketTransport, Any]]:
    """A client connected to a server that sends nothing and keeps the connection open, and
    the client's connection (to feed it bytes as if they came from the socket). ``plain``:
    a connection of ``websockets``' own class, for comparison."""
    done = asyncio.Event()

    async def handler(transport: WebSocketTransport) -> None:
        await done.wait()

    async with await serve_websocket(handler) as server:
        if plain:
            connection = await raw_connect(
                server.url, compression=None, ping_interval=None, max_size=max_size
            )
            client = WebSocketTransport(connection)
        else:
            client = await connect_websocket(server.url, max_size=max_size)
        assert (type(client.connection) is ClientConnection) == plain
        try:
            yield client, client.connection
        finally:
            done.set()
            await client.close()


@pytest.fixture
async def quiet() -> AsyncIterator[tuple[WebSocketTransport, Any]]:
    async for pair in _quiet_client():
        yield pair


async def _take(client: WebSocketTransport, count: int) -> list[bytes]:
    got: list[bytes] = []
    while len(got) < count:
        got.extend(client.recv_ready() or [await asyncio.wait_for(client.recv(), 5)])
    return got


@pytest.mark.parametrize("seed", range(5))
async def test_any_split_of_the_stream_gives_the_same_messages(
    quiet: tuple[WebSocketTransport, Any], seed: int
) -> None:
    client, connection = quiet
    rng = random.Random(seed)
    sizes = [0, 1, 125, 126, 127, 200, 65535, 65536, 70_000, 3, 5000]
    messages = [bytes([65 + i % 26]) * n for i, n in enumerate(sizes * 3)]
    stream = bytearray()
    for i, message in enumerate(messages):
        stream += _frame(Opcode.BINARY if i % 4 == 3 else Opcode.TEXT, message)
        if i % 7 == 2:  # control frames in between: websockets answers the ping itself
            stream += _frame(Opcode.PING, b"p%d" % i)
            stream += _frame(Opcode.PONG, b"unsolicited")
        if i % 11 == 5:  # a fragmented message
            stream += _frame(Opcode.TEXT, b"fr", fin=False)
            stream += _frame(Opcode.CONT, b"ag", fin=False)
            stream += _frame(Opcode.CONT, b"ment", fin=True)
    expected: list[bytes] = []
    for i, message in enumerate(messages):
        expected.append(message)
        if i % 11 == 5:
            expected.append(b"fragment")
    pos = 0
    while pos < len(stream):
        step = rng.choice([1, 2, 3, 7, 130, 4096, 70_000])
        connection.data_received(bytes(stream[pos : pos + step]))
        pos += step
    assert await _take(client, len(expected)) == expected
    assert client.recv_ready() == []
    assert not client.closed


async def test_the_shortcut_is_taken_and_resumes_after_a_control_frame(
    quiet: tuple[WebSocketTransport, Any],
) -> None:
    client, connection = quiet
    assert connection._framing is False  # nothing received since the handshake yet
    connection.data_received(_text(b"a") + _text(b"b"))
    assert connection._framing is True
    connection.data_received(_frame(Opcode.PING, b"x") + _text(b"c")[:1])
    assert connection._framing is False  # websockets had the ping and what followed
    connection.data_received(_text(b"c")[1:])
    connection.data_received(_text(b"d"))  # the boundary is back: the shortcut again
    assert connection._framing is True
    assert await _take(client, 4) == [b"a", b"b", b"c", b"d"]


async def _outcome(chunks: list[bytes], *, plain: bool, eof: bool = False) -> Any:
    """Feed ``chunks`` to a fresh client (``plain``: websockets' own connection class) and
    report what it received, how it closed, and what it told the server."""
    async for client, connection in _quiet_client(max_size=1000, plain=plain):
        for chunk in chunks:
            connection.data_received(chunk)
        if eof:
            connection.eof_received()
        got: list[bytes] = []
        with pytest.raises(TransportClosed):
            while True:
                got.append(await asyncio.wait_for(client.recv(), 5))
        sent = connection.protocol.close_sent
        return got, client.close_code, None if sent is None else sent.code
    raise AssertionError


_CLOSE = _frame(Opcode.CLOSE, Close(CloseCode.GOING_AWAY, "bye").serialize())
_RSV = bytes([_text(b"rsv")[0] | 0x40]) + _text(b"rsv")[1:]

FAILURES = {
    "masked frame": [_text(b"first") + _frame(Opcode.TEXT, b"bad", mask=True)],
    "reserved bit": [_text(b"first"), _RSV],
    "too big": [_text(b"x" * 1000) + _text(b"y" * 1001)],
    "too big, 64-bit length": [_text(b"x") + _text(b"y" * 70_000)],
    "close after messages": [_text(b"one") + _text(b"two") + _CLOSE],
    "close split": [_text(b"one") + _CLOSE[:3], _CLOSE[3:]],
    "unknown opcode": [_text(b"one") + b"\x83\x00"],
    "continuation out of place": [_text(b"one") + _frame(Opcode.CONT, b"x")],
    "fragment then text": [_frame(Opcode.TEXT, b"a", fin=False) + _text(b"b")],
}


@pytest.mark.parametrize("name", list(FAILURES))
async def test_errors_and_closing_are_websockets_own(name: str) -> None:
    chunks = FAILURES[name]
    assert await _outcome(chunks, plain=False) == await _outcome(chunks, plain=True)


@pytest.mark.parametrize("cut", [1, 2, 3, 5])
async def test_the_stream_ending_mid_frame_ends_as_with_websockets(cut: int) -> None:
    chunks = [_text(b"whole") + _text(b"y" * 300)[:cut]]
    ours = await _outcome(chunks, plain=False, eof=True)
    assert ours == await _outcome(chunks, plain=True, eof=True)
    assert ours[0] == [b"whole"]


async def test_flow_control_pauses_and_resumes_reading(
    quiet: tuple[WebSocketTransport, Any],
) -> None:
    client, connection = quiet
    transport: Any = connection.transport
    connection.data_received(b"".join(_text(b"%d" % i) for i in range(100)))
    assert not transport.is_reading()  # above websockets' high-water mark
    assert await _take(client, 100) == [b"%d" % i for i in range(100)]
    assert transport.is_reading()


async def test_a_real_stream_with_pings_arrives_whole() -> None:
    count = 3000

    async def handler(transport: WebSocketTransport) -> None:
        ws = transport.connection
        for start in range(0, count, 500):
            await transport.send_many([b'{"n":%d}' % i for i in range(start, start + 500)])
            await ws.ping()
        await transport.wait_closed()

    async with await serve_websocket(handler) as server:
        client = await connect_websocket(server.url)
        assert await _take(client, count) == [b'{"n":%d}' % i for i in range(count)]
        await client.close()
        assert client.close_code == CloseCode.NORMAL_CLOSURE
