"""Transparent reconnect-and-resume against the real runtime (§6.3, §8.3)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest

from arcp.client import Client, ConnectionLostError
from arcp.protocol.client_session import ClientState
from arcp.runtime import Runtime
from arcp.transport import MemoryTransport, memory_pair
from arcp_gen.errors import ResumeWindowExpiredError
from arcp_gen.models import LogEvent

from .conftest import GATES, TOKEN, Dialer, make_runtime


async def resumed(client: Client, dialer: Dialer, connections: int) -> None:
    """Yield to the loop until the client redialled and its resume was welcomed."""
    session = client._session  # pyright: ignore[reportPrivateUsage]
    while dialer.connections == connections or session.state is not ClientState.OPEN:  # noqa: ASYNC110
        await asyncio.sleep(0)  # no event to wait on from outside the client: just yield


def log_lines(events: list[Any]) -> list[str]:
    return [e.payload.body.message for e in events if isinstance(e.payload, LogEvent)]


async def test_drop_mid_stream_resumes_without_loss_or_duplicates(dialer: Dialer) -> None:
    """§6.3: after a drop the client dials again, resumes, and the handle sees every event
    exactly once, including those emitted while detached."""
    GATES["g"] = asyncio.Event()
    async with Client.connect(dialer, token=TOKEN) as client:
        session_id = client.session_id
        handle = await client.submit("chatty", {"n": 300, "gate": "g", "pause_at": 100})
        events: list[Any] = []
        async for event in handle:
            events.append(event)
            if len(events) == 40:
                dialer.drop()
                GATES["g"].set()
        assert dialer.connections == 2
        assert client.session_id == session_id
        assert log_lines(events) == [f"line {i}" for i in range(300)]
        seqs = [e.event_seq for e in events]
        assert seqs == sorted(set(seqs))
        assert await handle.result() == {"count": 300}


async def test_repeated_drops_rotate_the_token(dialer: Dialer) -> None:
    """§6.3: every welcome rotates the resume token; several drops in a row still resume."""
    GATES["g"] = asyncio.Event()
    async with Client.connect(dialer, token=TOKEN) as client:
        handle = await client.submit("chatty", {"n": 120, "gate": "g", "pause_at": 60})
        events: list[Any] = []
        async for event in handle:
            events.append(event)
            if len(events) in (10, 20, 30):
                reconnects = dialer.connections
                dialer.drop()
                await resumed(client, dialer, reconnects)
            if len(events) == 35:
                GATES["g"].set()
        assert dialer.connections == 4
        assert log_lines(events) == [f"line {i}" for i in range(120)]
        # The resumed session keeps cancel authority and can submit again.
        assert await (await client.submit("echo", "after")).result() == "after"


class Lossy:
    """A client-side transport that silently loses one ``event_seq`` (a broken middlebox)."""

    def __init__(self, inner: MemoryTransport, lose_seq: int) -> None:
        self.inner = inner
        self.lose_seq = lose_seq

    @property
    def closed(self) -> bool:
        return self.inner.closed

    async def send(self, frame: bytes) -> None:
        await self.inner.send(frame)

    async def recv(self) -> bytes:
        while True:
            frame = await self.inner.recv()
            if orjson.loads(frame).get("event_seq") != self.lose_seq:
                return frame

    async def close(self) -> None:
        await self.inner.close()


async def test_seq_gap_triggers_resume(dialer: Dialer) -> None:
    """§8.3: an event_seq gap means the session is broken: the client resumes from the last
    good seq and the runtime replays what was missed."""
    dialer.wrap = lambda end, attempt: Lossy(end, 5) if attempt == 0 else end
    async with Client.connect(dialer, token=TOKEN) as client:
        handle = await client.submit("chatty", {"n": 30})
        events = [e async for e in handle]
        assert dialer.connections == 2
        assert log_lines(events) == [f"line {i}" for i in range(30)]
        assert await handle.result() == {"count": 30}


async def test_resume_window_expired_fails_handles() -> None:
    """§6.3: when the runtime no longer covers the resume, handles fail with
    RESUME_WINDOW_EXPIRED."""
    rt = make_runtime(resume_window_sec=0.05)
    dialer = Dialer(rt)
    gone = asyncio.Event()

    async def late(attempt: int) -> None:
        if attempt == 1:
            await asyncio.sleep(0.2)  # let the runtime forget the detached session
            gone.set()

    dialer.before_connect = late
    try:
        client = await Client.connect(dialer, token=TOKEN)
        handle = await client.submit("slow")
        dialer.drop()
        with pytest.raises(ResumeWindowExpiredError):
            await handle.result()
        assert gone.is_set()
        assert client.closed
    finally:
        await rt.aclose()


async def test_no_reconnect_fails_handles_on_drop(dialer: Dialer) -> None:
    """reconnect=False: a drop ends the client; pending handles raise ConnectionLostError."""
    client = await Client.connect(dialer, token=TOKEN, reconnect=False)
    handle = await client.submit("slow")
    dialer.drop()
    with pytest.raises(ConnectionLostError):
        await handle.result()
    with pytest.raises(ConnectionLostError):
        async for _ in handle:  # iteration does not pretend the job ended
            pass
    assert dialer.connections == 1


async def test_bare_transport_cannot_reconnect(runtime: Runtime) -> None:
    """§4: a connected transport target cannot be dialled again."""
    mine, theirs = memory_pair()
    served = asyncio.create_task(runtime.serve(theirs))
    client = await Client.connect(mine, token=TOKEN)
    handle = await client.submit("slow")
    theirs.drop()
    with pytest.raises(ConnectionLostError):
        await handle.result()
    await served


async def test_secrets_never_logged_or_in_repr(
    dialer: Dialer, caplog: pytest.LogCaptureFixture
) -> None:
    """§6.1, §6.3: neither the bearer token nor any resume token appears in logs or repr."""
    caplog.set_level(logging.DEBUG)
    GATES["g"] = asyncio.Event()
    tokens: list[str] = []
    async with Client.connect(dialer, token=TOKEN) as client:
        handle = await client.submit("chatty", {"n": 20, "gate": "g", "pause_at": 10})
        async for event in handle:
            if event.event_seq == 3:
                tokens.append(client._session.resume_token or "")  # pyright: ignore[reportPrivateUsage]
                dialer.drop()
                GATES["g"].set()
        tokens.append(client._session.resume_token or "")  # pyright: ignore[reportPrivateUsage]
        text = caplog.text + repr(client) + repr(client._session) + repr(handle)  # pyright: ignore[reportPrivateUsage]
    assert dialer.connections == 2
    assert tokens[0] and tokens[0] != tokens[1]
    assert "resumed" in caplog.text
    for secret in (TOKEN, *tokens):
        assert secret not in text
