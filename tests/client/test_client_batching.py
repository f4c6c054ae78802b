"""The client writes what it queued in one batch where the transport offers ``send_many`` (§4),
and frame by frame otherwise; either way the runtime sees every frame, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from arcp.client import Client
from arcp.ids import new_ulid
from arcp.transport import MemoryTransport

from .conftest import TOKEN, Dialer


class Recorder:
    """A client-side transport that records what goes out, and how (one by one or batched)."""

    def __init__(self, inner: MemoryTransport) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    @property
    def closed(self) -> bool:
        return self.inner.closed

    async def send(self, frame: bytes) -> None:
        self.calls.append([orjson.loads(frame)["type"]])
        await self.inner.send(frame)

    async def recv(self) -> bytes:
        return await self.inner.recv()

    async def close(self) -> None:
        await self.inner.close()


class BatchRecorder(Recorder):
    async def send_many(self, frames: Sequence[bytes]) -> None:
        self.calls.append([orjson.loads(frame)["type"] for frame in frames])
        await self.inner.send_many(frames)


@pytest.mark.parametrize("batching", [True, False])
async def test_queued_frames_go_out_together_and_in_order(dialer: Dialer, batching: bool) -> None:
    recorders: list[Recorder] = []

    def wrap(end: MemoryTransport, attempt: int) -> Recorder:
        recorders.append(BatchRecorder(end) if batching else Recorder(end))
        return recorders[-1]

    dialer.wrap = wrap
    async with Client.connect(dialer, token=TOKEN, auto_ack=False) as client:
        handle = await client.submit("chatty", {"n": 5})
        seqs = [event.event_seq async for event in handle]
        await handle.result()
        session = client._session  # pyright: ignore[reportPrivateUsage]
        session.requests.ack(seqs[1], 0.0)
        session.requests.ack(seqs[2], 0.0)
        await client.ack(seqs[-1])  # flushes all three
        calls = recorders[0].calls
        acks = [call for call in calls if "session.ack" in call]
        if batching:
            assert acks == [["session.ack"] * 3]
        else:
            assert acks == [["session.ack"]] * 3
        # The session is still healthy: the runtime took every frame.
        assert await (await client.submit("echo", "after")).result() == "after"


class NoRecvReady:
    """A memory transport end without ``recv_ready``: the client reads frame by frame."""

    def __init__(self, inner: MemoryTransport) -> None:
        self.inner = inner

    @property
    def closed(self) -> bool:
        return self.inner.closed

    async def send(self, frame: bytes) -> None:
        await self.inner.send(frame)

    async def recv(self) -> bytes:
        return await self.inner.recv()

    async def close(self) -> None:
        await self.inner.close()


@pytest.mark.parametrize("batched", [True, False])
async def test_frames_arriving_together_are_read_in_order(batched: bool) -> None:
    """A backlog taken at once (``recv_ready``) is handled exactly as frame-by-frame reads:
    the answer first, then the job's events in order, a replayed duplicate dropped, then the
    result."""
    from arcp.transport import memory_pair

    from .test_client_scripted import Peer, shut

    mine, theirs = memory_pair()
    peer = Peer(theirs)
    script = asyncio.create_task(peer.welcome())
    client = await Client.connect(mine if batched else NoRecvReady(mine), token="t")
    await script
    submitting = asyncio.create_task(client.submit("a"))
    request = await peer.expect("job.submit")

    def frame(type_: str, payload: dict[str, Any], **env: Any) -> bytes:
        env = {"session_id": "sess_S", "job_id": "job_1", **env}
        return orjson.dumps(
            {"arcp": "1.1", "id": new_ulid(), "type": type_, **env, "payload": payload}
        )

    def event(seq: int) -> bytes:
        body = {"level": "info", "message": f"m{seq}"}
        payload = {"kind": "log", "ts": "2026-05-13T19:42:13.000Z", "body": body}
        return frame("job.event", payload, event_seq=seq)

    accepted = {"job_id": "job_1", "request_id": request["id"], "lease": {}}
    result = {"final_status": "success", "result": 7}
    await theirs.send_many(
        [
            frame("job.accepted", accepted),
            *(event(seq) for seq in range(1, 151)),
            event(150),  # a duplicate (as replayed after a resume): dropped
            *(event(seq) for seq in range(151, 201)),
            frame("job.result", result, event_seq=201),
        ]
    )
    handle = await submitting
    seen = [msg.event_seq async for msg in handle]
    assert seen == list(range(1, 201))
    assert await handle.result() == 7
    await shut(client, peer)
