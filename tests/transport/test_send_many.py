"""``send_many``: the optional batch send of the memory and WebSocket transports (§4).

A batch is the same as that many ``send`` calls to the peer: every frame arrives whole, as its
own message, in order; only the number of socket writes / wake-ups differs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
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


async def _collect(peer: EchoPeer, count: int) -> list[bytes]:
    return [await peer.local.recv() for _ in range(count)]


def _send_many(peer: EchoPeer) -> Any:
    send_many = getattr(peer.local, "send_many", None)
    if send_many is None:
        pytest.skip("this transport has no send_many")
    return send_many


async def test_batches_arrive_whole_and_in_order(peer: EchoPeer) -> None:
    send_many = _send_many(peer)
    frames = [json.dumps({"n": i, "pad": "é" * (i % 300)}).encode() for i in range(3000)]
    big = json.dumps({"data": base64.b64encode(os.urandom(1024 * 1024)).decode()}).encode()
    frames.insert(1500, big)
    receiver = asyncio.create_task(_collect(peer, len(frames)))
    await send_many(frames[:10])
    await send_many(frames[10:11])
    await send_many([])
    await send_many(frames[11:])
    assert await receiver == frames


async def test_batches_and_single_sends_interleave(peer: EchoPeer) -> None:
    send_many = _send_many(peer)
    receiver = asyncio.create_task(_collect(peer, 6))
    await peer.local.send(b"1")
    await send_many([b"2", b"3"])
    await peer.local.send(b"4")
    await send_many((b"5", b"6"))
    assert await receiver == [b"1", b"2", b"3", b"4", b"5", b"6"]


async def test_send_many_after_close_raises(peer: EchoPeer) -> None:
    send_many = _send_many(peer)
    await peer.local.close()
    with pytest.raises(TransportClosed):
        await send_many([b"late", b"later"])


async def test_websocket_batch_is_one_write_per_chunk() -> None:
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def handler(transport: WebSocketTransport) -> None:
        while True:
            received.put_nowait(await transport.recv())

    async with await serve_websocket(handler) as server:
        client = await connect_websocket(server.url)
        writes: list[int] = []
        socket_transport: Any = client.socket_transport
        write = socket_transport.write

        def counting_write(data: bytes) -> None:
            writes.append(len(data))
            write(data)

        socket_transport.write = counting_write
        small = [b'{"n":%d}' % i for i in range(200)]
        await client.send_many(small)
        assert len(writes) == 1
        # Past the batch size the data goes out in a few writes, never one per frame.
        writes.clear()
        big = [b'{"pad":"%s"}' % (b"x" * 60_000) for _ in range(20)]
        await client.send_many(big)
        assert 1 < len(writes) < len(big)
        got = [await received.get() for _ in range(len(small) + len(big))]
        assert got == small + big
        await client.close()


async def test_memory_recv_cancelled_loses_nothing() -> None:
    a, b = memory_pair()
    pending = asyncio.create_task(b.recv())
    await asyncio.sleep(0)
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    await a.send_many([b"x", b"y"])
    assert [await b.recv(), await b.recv()] == [b"x", b"y"]


async def test_memory_wakes_every_waiting_reader_on_drop() -> None:
    a, b = memory_pair()
    readers = [asyncio.create_task(b.recv()) for _ in range(3)]
    await asyncio.sleep(0)
    await a.send(b"only")
    a.drop()
    results = await asyncio.gather(*readers, return_exceptions=True)
    assert results.count(b"only") == 1
    assert sum(isinstance(r, TransportClosed) for r in results) == 2


async def test_memory_frames_queued_before_drop_are_delivered() -> None:
    a, b = memory_pair()
    await a.send_many([b"1", b"2"])
    b.drop()
    assert [await b.recv(), await b.recv()] == [b"1", b"2"]
    with pytest.raises(TransportClosed):
        await b.recv()
    with pytest.raises(TransportClosed):
        await a.send_many([b"3"])


async def test_websocket_recv_reassembles_fragmented_messages_between_whole_ones() -> None:
    """recv returns whole messages in order, fragmented ones reassembled (RFC 6455 §5.4),
    from ``websockets``' own server."""
    sent = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await ws.send("a")
        await ws.send(["b", "c", "d"])  # one message in three frames
        await ws.send(b"e")  # binary
        await ws.send("f")
        await ws.send("g")
        sent.set()
        await ws.wait_closed()

    async with raw_serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        client = await connect_websocket(f"ws://127.0.0.1:{port}/")
        await sent.wait()
        await asyncio.sleep(0.05)  # let every frame reach the client's queue
        got = [await client.recv() for _ in range(5)]
        assert got == [b"a", b"bcd", b"e", b"f", b"g"]
        await client.close()
        with pytest.raises(TransportClosed):
            await client.recv()


@pytest.mark.parametrize("compression", [None, "deflate"])
async def test_server_batches_reach_the_client_whole(compression: str | None) -> None:
    """The runtime's side of a connection writes batches; every message arrives whole."""
    sizes = [0, 1, 125, 126, 127, 65535, 65536, 300_000, 5, 2]
    frames = [b'{"p":"' + b"y" * n + b'"}' for n in sizes]

    async def handler(transport: WebSocketTransport) -> None:
        await transport.send_many(frames[:4])
        await transport.send(frames[4])
        await transport.send_many(frames[5:])
        await transport.wait_closed()

    async with await serve_websocket(handler, compression=compression) as server:
        client = await connect_websocket(server.url, compression=compression)
        assert [await client.recv() for _ in frames] == frames
        await client.close()
