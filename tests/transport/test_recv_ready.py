"""``recv_ready``: the optional "take what already arrived" of the memory and WebSocket
transports (§4).

It returns what repeated ``recv`` calls would return before they had to wait, in order, and
never returns a frame twice; mixing it with ``recv`` keeps the order.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as raw_serve

from arcp.transport import (
    TransportClosed,
    WebSocketTransport,
    connect_websocket,
    memory_pair,
    serve_websocket,
)

from .conftest import EchoPeer


def _recv_ready(peer: EchoPeer) -> Any:
    recv_ready = getattr(peer.local, "recv_ready", None)
    if recv_ready is None:
        pytest.skip("this transport has no recv_ready")
    return recv_ready


async def _take(peer: EchoPeer, recv_ready: Any, count: int) -> list[bytes]:
    """``count`` frames, taken with recv_ready where possible and recv otherwise."""
    got: list[bytes] = []
    while len(got) < count:
        ready = recv_ready()
        assert isinstance(ready, list)
        if ready:
            got.extend(ready)
        else:
            got.append(await peer.local.recv())
    return got


async def test_nothing_arrived_is_an_empty_list(peer: EchoPeer) -> None:
    recv_ready = _recv_ready(peer)
    assert recv_ready() == []


async def test_frames_arrive_whole_in_order_once(peer: EchoPeer) -> None:
    recv_ready = _recv_ready(peer)
    frames = [json.dumps({"n": i, "pad": "é" * (i % 300)}).encode() for i in range(2000)]
    receiver = asyncio.create_task(_take(peer, recv_ready, len(frames)))
    for frame in frames:
        await peer.local.send(frame)
    assert await receiver == frames
    assert recv_ready() == []


async def test_a_backlog_is_taken_at_once(peer: EchoPeer) -> None:
    recv_ready = _recv_ready(peer)
    frames = [b'{"n":%d}' % i for i in range(10)]
    for frame in frames:
        await peer.local.send(frame)
    got = [await peer.local.recv()]  # the echoes are on their way: wait for the first
    for _ in range(100):
        await asyncio.sleep(0.01)
        got += recv_ready()
        if len(got) == len(frames):
            break
    assert got == frames


async def test_frames_queued_before_a_close_are_taken_then_recv_raises() -> None:
    a, b = memory_pair()
    await a.send_many([b"1", b"2"])
    await a.send(b"3")
    b.drop()
    assert b.recv_ready() == [b"1", b"2", b"3"]
    assert b.recv_ready() == []
    with pytest.raises(TransportClosed):
        await b.recv()


async def test_websocket_fragmented_messages_are_left_to_recv() -> None:
    """Whole messages are taken in order, a fragmented one once it is complete (RFC 6455
    §5.4): fragmented, binary and text messages sent by ``websockets``' own server."""
    sent = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await ws.send("a")
        await ws.send(b"b")  # binary
        await ws.send(["c", "d", "e"])  # one message in three frames
        await ws.send("f")
        await ws.send("g")
        sent.set()
        await ws.wait_closed()

    async with raw_serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        client = await connect_websocket(f"ws://127.0.0.1:{port}/")
        await sent.wait()
        await asyncio.sleep(0.05)  # let every frame reach the client's queue
        got: list[bytes] = []
        while len(got) < 5:
            got.extend(client.recv_ready() or [await client.recv()])
        assert got == [b"a", b"b", b"cde", b"f", b"g"]
        assert client.recv_ready() == []
        await client.close()
        assert client.recv_ready() == []
        with pytest.raises(TransportClosed):
            await client.recv()


async def test_websocket_flow_control_resumes_after_a_batch() -> None:
    """Reading paused at websockets' high-water mark resumes once a batch was taken, so
    a long stream read only through recv_ready (and recv when empty) completes."""
    count = 5000

    async def handler(transport: WebSocketTransport) -> None:
        await transport.send_many([b'{"n":%d}' % i for i in range(count)])
        await transport.wait_closed()

    async with await serve_websocket(handler) as server:
        client = await connect_websocket(server.url)
        got: list[bytes] = []
        while len(got) < count:
            ready = client.recv_ready()
            got.extend(ready if ready else [await client.recv()])
        assert got == [b'{"n":%d}' % i for i in range(count)]
        await client.close()
