"""The client writes what it queued in one batch where the transport offers ``send_many`` (§4),
and frame by frame otherwise; either way the runtime sees every frame, in order."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pytest

from arcp.client import Client
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
        session.ack(seqs[1], 0.0)
        session.ack(seqs[2], 0.0)
        await client.ack(seqs[-1])  # flushes all three
        calls = recorders[0].calls
        acks = [call for call in calls if "session.ack" in call]
        if batching:
            assert acks == [["session.ack"] * 3]
        else:
            assert acks == [["session.ack"]] * 3
        # The session is still healthy: the runtime took every frame.
        assert await (await client.submit("echo", "after")).result() == "after"
