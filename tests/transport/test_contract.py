"""The transport contract (§4), checked against every transport with a real peer."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os

import pytest

from arcp.transport import Transport, TransportClosed

from .conftest import EchoPeer


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _collect(transport: Transport, count: int) -> list[bytes]:
    return [await transport.recv() for _ in range(count)]


async def test_many_frames_arrive_in_order(peer: EchoPeer) -> None:
    frames = [json.dumps({"n": i, "pad": "x" * (i % 300)}).encode() for i in range(3000)]
    receiver = asyncio.create_task(_collect(peer.local, len(frames)))
    for frame in frames:
        await peer.local.send(frame)
    assert await receiver == frames


async def test_frame_over_one_mebibyte(peer: EchoPeer) -> None:
    chunk = base64.b64encode(os.urandom(1024 * 1024 + 17)).decode()
    frame = json.dumps({"type": "job.event", "payload": {"data": chunk}}).encode()
    assert len(frame) > 1024 * 1024
    receiver = asyncio.create_task(peer.local.recv())
    await peer.local.send(frame)
    await peer.local.send(b'{"after":true}')
    received = await receiver
    assert (len(received), _digest(received)) == (len(frame), _digest(frame))
    assert await peer.local.recv() == b'{"after":true}'


async def test_unicode_survives(peer: EchoPeer) -> None:
    frame = json.dumps({"text": 'héllo ✓ 日本語 𝄞 \u2028 "q" \\ \n'}, ensure_ascii=False)
    await peer.local.send(frame.encode())
    received = await peer.local.recv()
    assert received.decode() == frame
    assert json.loads(received)["text"].endswith("\n")


async def test_local_close_is_seen_by_the_peer(peer: EchoPeer) -> None:
    await peer.local.send(b"ping")
    assert await peer.local.recv() == b"ping"
    assert not peer.local.closed
    await peer.local.close()
    assert peer.local.closed
    assert await peer.outcome() == "saw-close"
    with pytest.raises(TransportClosed):
        await peer.local.recv()
    with pytest.raises(TransportClosed):
        await peer.local.send(b"late")
    await peer.local.close()  # idempotent
    assert peer.local.closed


async def test_remote_close_is_seen_locally_after_pending_frames(peer: EchoPeer) -> None:
    await peer.local.send(b"one")
    await peer.local.send(b"two")
    await peer.local.send(b"!close")
    assert await peer.local.recv() == b"one"
    assert await peer.local.recv() == b"two"
    with pytest.raises(TransportClosed):
        await peer.local.recv()
    assert await peer.outcome() == "closed-on-command"
    assert peer.local.closed
    with pytest.raises(TransportClosed):
        await peer.local.recv()
    await peer.local.close()
    await peer.local.close()


async def test_close_wakes_a_pending_recv(peer: EchoPeer) -> None:
    pending = asyncio.create_task(peer.local.recv())
    await asyncio.sleep(0)
    await peer.local.close()
    with pytest.raises(TransportClosed):
        await pending


async def test_implements_the_protocol(peer: EchoPeer) -> None:
    assert isinstance(peer.local, Transport)
