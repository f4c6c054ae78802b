"""Limits against peers that never authenticate or never read, over a real WebSocket (§13.2,
§14, issue #13 item 1)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from arcp.codec import encode
from arcp.ids import new_ulid
from arcp.protocol.limits import Limits
from arcp.runtime import Runtime
from arcp.transport import TransportClosed
from arcp.transport.websocket import WebSocketServer, WebSocketTransport, connect_websocket

MiB = 1024 * 1024


def rss() -> int:
    """This process's resident set size in bytes (runtime and test peers share it)."""
    gc.collect()
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def hello(token: str = "t", features: list[str] | None = None) -> bytes:
    payload: dict[str, Any] = {
        "client": {"name": "limits-test"},
        "auth": {"scheme": "bearer", "token": token},
        "capabilities": {"features": features or []},
    }
    return encode({"arcp": "1.1", "id": new_ulid(), "type": "session.hello", "payload": payload})


async def recv(ws: WebSocketTransport, within: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(within):
        return orjson.loads(await ws.recv())


async def closed_within(ws: WebSocketTransport, within: float) -> list[dict[str, Any]]:
    """Read until the runtime closes the connection; the frames read on the way."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            try:
                frames.append(orjson.loads(await ws.recv()))
            except TransportClosed:
                return frames


@pytest.fixture
async def served(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Runtime, WebSocketServer]]:
    limits: Limits = getattr(request, "param", Limits())
    rt = Runtime(tokens={"t": "alice", "tb": "bob"}, limits=limits)

    @rt.agent("echo")
    async def echo(input: Any, ctx: Any) -> Any:
        return input

    server = await rt.serve_websocket(port=0)
    yield rt, server
    await rt.aclose()


@pytest.mark.parametrize("served", [Limits(hello_timeout_sec=0.3)], indirect=True)
async def test_silent_connection_is_closed_at_the_hello_deadline(
    served: tuple[Runtime, WebSocketServer],
) -> None:
    """Issue #13 1a: a connection that never sends session.hello was never closed; now it
    gets session.error UNAUTHENTICATED at the deadline and the transport closes (§6.1)."""
    _, server = served
    ws = await connect_websocket(server.url)
    frames = await closed_within(ws, 5)
    assert [f["payload"]["code"] for f in frames] == ["UNAUTHENTICATED"]
    assert server.connections == 0 or await _drained(server)


async def _drained(server: WebSocketServer, within: float = 5) -> bool:
    async with asyncio.timeout(within):
        while server.connections:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return True


@pytest.mark.parametrize("served", [Limits(max_unauthenticated=3)], indirect=True)
async def test_connections_waiting_for_hello_are_capped(
    served: tuple[Runtime, WebSocketServer],
) -> None:
    """Issue #13 1a: with the cap reached, one more unauthenticated connection is closed at
    once; a connection that says hello frees its place, so a legitimate client gets in."""
    _, server = served
    silent = [await connect_websocket(server.url) for _ in range(3)]
    extra = await connect_websocket(server.url)
    assert await closed_within(extra, 5) == []
    await silent[0].close()
    await _settle(server, 3)
    client = await connect_websocket(server.url)
    await client.send(hello())
    assert (await recv(client))["type"] == "session.welcome"
    another = await connect_websocket(server.url)  # the hello freed a place
    await another.send(hello())
    assert (await recv(another))["type"] == "session.welcome"
    for ws in (*silent[1:], client, another):
        await ws.close()


async def _settle(server: WebSocketServer, count: int) -> None:
    async with asyncio.timeout(5):
        while server.connections > count - 1:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def flood(server: WebSocketServer, ws: WebSocketTransport, frame: bytes, count: int) -> bool:
    """Send ``frame`` ``count`` times without reading (the frames may sit in socket buffers
    until the runtime reads them); True once the runtime dropped the connection."""
    with contextlib.suppress(TransportClosed):
        for _ in range(count // 500):
            await ws.send_many([frame] * 500)
    with contextlib.suppress(TimeoutError):
        await _drained(server, 30)
    return server.connections == 0


async def test_pre_hello_flood_from_a_peer_that_never_reads_is_closed_with_flat_memory(
    served: tuple[Runtime, WebSocketServer],
) -> None:
    """Issue #13 1b: 300,000 one-byte frames before hello from a peer that never read took
    the runtime from 50 MiB to 1,172 MiB. The pre-session reply queue is bounded
    (``max_preamble_bytes``) and the peer is closed when it overflows (§13.2)."""
    _, server = served
    before = rss()
    ws = await connect_websocket(server.url)  # its reader stops after 16 frames (max_queue)
    dropped = await flood(server, ws, b"x", 300_000)
    growth = rss() - before
    print(f"RSS growth {growth / MiB:.1f} MiB")
    assert dropped, "the runtime never closed the flooding connection"
    assert growth < 64 * MiB, f"RSS grew {growth / MiB:.1f} MiB"


async def test_ping_flood_in_a_session_from_a_peer_that_never_reads_is_closed_with_flat_memory(
    served: tuple[Runtime, WebSocketServer],
) -> None:
    """Issue #13 1b: 500,000 pings inside a session added 1.88 GiB: pongs queued without
    limit. Control replies are bounded (``max_queued_control_bytes``), the peer is closed
    with INTERNAL_ERROR (§13.2) and its session stays resumable (§6.3)."""
    rt, server = served
    ws = await connect_websocket(server.url)
    await ws.send(hello())
    welcome = await recv(ws)
    ping = encode(
        {
            "arcp": "1.1",
            "id": new_ulid(),
            "type": "session.ping",
            "session_id": welcome["payload"]["session_id"],
            "payload": {"nonce": "p", "sent_at": "2026-01-01T00:00:00.000Z"},
        }
    )
    before = rss()
    dropped = await flood(server, ws, ping, 500_000)
    growth = rss() - before
    print(f"RSS growth {growth / MiB:.1f} MiB")
    assert dropped, "the runtime never closed the flooding connection"
    assert growth < 96 * MiB, f"RSS grew {growth / MiB:.1f} MiB"
    session = rt.core.sessions[welcome["payload"]["session_id"]]
    assert not session.attached  # detached, resumable for the window


async def test_invalid_utf8_text_closes_the_connection_with_1007(
    served: tuple[Runtime, WebSocketServer],
) -> None:
    """Issue #13 item 4: invalid UTF-8 in a text frame was answered INVALID_REQUEST on an
    open connection; RFC 6455 asks for close code 1007. Binary frames stay the codec's
    business: INVALID_REQUEST, connection open (wire-decisions: malformed frames)."""
    _, server = served
    ws = await connect_websocket(server.url)
    await ws.send(hello())
    assert (await recv(ws))["type"] == "session.welcome"
    await ws.send_binary(b"\xff\xfe")
    assert (await recv(ws))["payload"]["code"] == "INVALID_REQUEST"
    await ws.send(b'{"arcp":"1.1","id":"\xff"}')
    assert await closed_within(ws, 5) == []
    assert ws.close_code == 1007
