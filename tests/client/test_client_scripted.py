"""The asyncio client against a scripted peer speaking raw wire frames: the dialects real
runtimes use (wire-decisions: correlation, legacy forms), which our runtime never sends."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from arcp.client import Client, ConnectionLostError
from arcp.ids import new_ulid
from arcp.protocol.client_session import ClientState
from arcp.transport import MemoryTransport, memory_pair
from arcp_gen.errors import AgentNotAvailableError, DuplicateKeyError, InternalError
from tests.spec._fixtures import schema_validator

TS = "2026-05-13T19:42:13.000Z"
SENDER_SCHEMA = schema_validator()


class Peer:
    """The runtime end of a memory pair, driven by the test."""

    def __init__(self, end: MemoryTransport) -> None:
        self.end = end

    async def expect(self, type_: str) -> dict[str, Any]:
        while True:
            msg = orjson.loads(await self.end.recv())
            # Whatever the client sends is what a conformant sender produces (schema root),
            # except the legacy resume form (a hello carrying `resume`, receive-only in the
            # schema): it goes only to a runtime that refused or ignored session.resume
            # (docs/interop.md R4, T3).
            legacy_resume = msg["type"] == "session.hello" and "resume" in msg["payload"]
            if not legacy_resume:
                assert [e.message for e in SENDER_SCHEMA.iter_errors(msg)] == [], msg
            if msg["type"] == type_:
                return msg
            assert msg["type"] in ("session.ack", "session.ping", "session.pong"), msg

    async def send(self, type_: str, payload: dict[str, Any], **env: Any) -> None:
        frame = {"arcp": "1.1", "id": new_ulid(), "type": type_, **env, "payload": payload}
        await self.end.send(orjson.dumps(frame))

    async def welcome(self, token: str = "rt-1", *, in_payload_only: bool = False) -> None:
        await self.expect("session.resume" if token != "rt-1" else "session.hello")
        payload: dict[str, Any] = {
            "runtime": {"name": "scripted", "version": "0"},
            "resume_token": token,
            "heartbeat_interval_sec": 30,
            "capabilities": {"features": ["ack", "list_jobs", "subscribe"], "agents": []},
        }
        if in_payload_only:
            payload["session_id"] = "sess_S"
            await self.send("session.welcome", payload)
        else:
            await self.send("session.welcome", payload, session_id="sess_S")

    async def accept(self, request: dict[str, Any], job_id: str, *, correlate: bool) -> None:
        payload: dict[str, Any] = {"job_id": job_id, "lease": {}}
        if correlate:
            payload["request_id"] = request["id"]
        await self.send("job.accepted", payload, session_id="sess_S", job_id=job_id)

    async def result(self, job_id: str, seq: int, value: Any) -> None:
        await self.send(
            "job.result",
            {"final_status": "success", "result": value},
            session_id="sess_S",
            job_id=job_id,
            event_seq=seq,
        )


async def shut(client: Client, peer: Peer) -> None:
    """Close the client with the peer answering session.close (§6.7)."""

    async def answer() -> None:
        await peer.expect("session.close")
        await peer.send("session.closed", {}, session_id="sess_S")

    answering = asyncio.create_task(answer())
    await client.close()
    await answering


async def connected(**kw: Any) -> tuple[Client, Peer]:
    mine, theirs = memory_pair()
    peer = Peer(theirs)
    script = asyncio.create_task(peer.welcome(in_payload_only=kw.pop("in_payload_only", False)))
    client = await Client.connect(mine, token="t", **kw)
    await script
    return client, peer


async def test_welcome_with_session_id_in_payload_only() -> None:
    """wire-decisions: accept the welcome's session_id from the envelope or the payload."""
    client, peer = await connected(in_payload_only=True)
    assert client.session_id == "sess_S"
    await shut(client, peer)


@pytest.mark.parametrize("correlate", [True, False])
async def test_concurrent_submits_are_correlated(correlate: bool) -> None:
    """wire-decisions: responses match on payload.request_id, else FIFO per request type."""
    client, peer = await connected()
    first = asyncio.create_task(client.submit("a"))
    second = asyncio.create_task(client.submit("b"))
    req_a = await peer.expect("job.submit")
    req_b = await peer.expect("job.submit")
    assert req_a["payload"]["agent"] == "a" and req_b["payload"]["agent"] == "b"
    if correlate:  # answer out of order; request_id says which is which
        await peer.accept(req_b, "job_b", correlate=True)
        await peer.accept(req_a, "job_a", correlate=True)
    else:  # a peer without request_id answers in order
        await peer.accept(req_a, "job_a", correlate=False)
        await peer.accept(req_b, "job_b", correlate=False)
    handle_a, handle_b = await first, await second
    assert (handle_a.job_id, handle_b.job_id) == ("job_a", "job_b")
    await peer.result("job_b", 1, "B")
    await peer.result("job_a", 2, "A")
    assert await handle_a.result() == "A" and await handle_b.result() == "B"
    await shut(client, peer)


async def test_uncorrelated_error_fails_only_the_matching_request() -> None:
    """wire-decisions: a session.error without request_id fails the oldest pending request
    of the matching kind, never a running job or an unrelated request."""
    client, peer = await connected()
    running = asyncio.create_task(client.submit("a"))
    await peer.accept(await peer.expect("job.submit"), "job_a", correlate=True)
    handle = await running
    bad = asyncio.create_task(client.submit("nope"))
    await peer.expect("job.submit")
    await peer.send("session.error", {"code": "AGENT_NOT_AVAILABLE", "message": "no"})
    with pytest.raises(AgentNotAvailableError):
        await bad
    dup = asyncio.create_task(client.submit("a", idempotency_key="k"))
    request = await peer.expect("job.submit")
    await peer.send(
        "session.error",
        {"code": "DUPLICATE_KEY", "message": "no", "request_id": request["id"]},
    )
    with pytest.raises(DuplicateKeyError):
        await dup
    await peer.result("job_a", 1, "still fine")
    assert await handle.result() == "still fine"
    await shut(client, peer)


async def test_legacy_forms_and_unknown_types() -> None:
    """wire-decisions: legacy job.result(final_status=cancelled) ends the job; unknown
    message types are ignored and the session stays up."""
    client, peer = await connected()
    task = asyncio.create_task(client.submit("a"))
    await peer.accept(await peer.expect("job.submit"), "job_a", correlate=True)
    handle = await task
    await peer.end.send(b'{"arcp":"1.1","id":"x","type":"session.mystery","payload":{}}')
    await peer.send(
        "job.event",
        {"kind": "x-vendor.acme.tick", "ts": TS, "body": {"n": 1}},
        session_id="sess_S",
        job_id="job_a",
        event_seq=1,
    )
    await peer.send(
        "job.result",
        {"final_status": "cancelled", "summary": "stopped"},
        session_id="sess_S",
        job_id="job_a",
        event_seq=2,
    )
    events = [e async for e in handle]
    assert [e.payload.kind for e in events] == ["x-vendor.acme.tick"]
    with pytest.raises(Exception, match="stopped") as info:
        await handle.result()
    assert getattr(info.value, "code", None) == "CANCELLED"
    assert handle.status == "cancelled"
    await shut(client, peer)


async def test_runtime_heartbeat_lost_triggers_resume() -> None:
    """§6.4: HEARTBEAT_LOST from the runtime → drop the transport, dial again, resume with
    the latest token and last_event_seq, continue without loss or duplicates."""
    peers: list[Peer] = []

    async def factory() -> MemoryTransport:
        mine, theirs = memory_pair()
        peers.append(Peer(theirs))
        return mine

    script = asyncio.create_task(_first_connection(peers))
    client = await Client.connect(factory, token="t")
    handle = await client.submit("a")
    await script
    first = peers[0]
    for seq in (1, 2):
        await first.send(
            "job.event",
            {"kind": "log", "ts": TS, "body": {"level": "info", "message": f"m{seq}"}},
            session_id="sess_S",
            job_id="job_a",
            event_seq=seq,
        )
    await first.send("session.error", {"code": "HEARTBEAT_LOST", "message": "silent"})
    while len(peers) < 2:  # noqa: ASYNC110
        await asyncio.sleep(0)
    second = peers[1]
    resume = await second.expect("session.resume")
    assert resume["payload"] == {
        "session_id": "sess_S",
        "resume_token": "rt-1",
        "last_event_seq": 2,
    }
    await second.send(
        "session.welcome",
        {
            "runtime": {"name": "scripted"},
            "resume_token": "rt-2",
            "heartbeat_interval_sec": 30,
            "capabilities": {"features": ["ack"]},
        },
        session_id="sess_S",
    )
    for seq in (2, 3):  # a replayed duplicate, then new
        await second.send(
            "job.event",
            {"kind": "log", "ts": TS, "body": {"level": "info", "message": f"m{seq}"}},
            session_id="sess_S",
            job_id="job_a",
            event_seq=seq,
        )
    await second.result("job_a", 4, "done")
    messages = [e.payload.body.message async for e in handle]  # type: ignore[union-attr]
    assert messages == ["m1", "m2", "m3"]
    assert await handle.result() == "done"
    await shut(client, second)


async def _first_connection(peers: list[Peer]) -> None:
    while not peers:  # noqa: ASYNC110
        await asyncio.sleep(0)
    await peers[0].welcome()
    await peers[0].accept(await peers[0].expect("job.submit"), "job_a", correlate=True)


async def test_failed_dials_and_a_stalled_resume_are_retried() -> None:
    """§6.3: reconnect retries with backoff when dialling fails; a runtime that never answers
    session.resume gets the legacy hello+resume once, on a new connection (wire-decisions)."""
    peers: list[Peer] = []
    dials = 0

    async def factory() -> MemoryTransport:
        nonlocal dials
        dials += 1
        if dials == 2:
            raise OSError("connection refused")
        mine, theirs = memory_pair()
        peers.append(Peer(theirs))
        return mine

    script = asyncio.create_task(_first_connection(peers))
    client = await Client.connect(factory, token="t", resume_timeout=0.5)
    handle = await client.submit("a")
    await script
    peers[0].end.drop()
    async with asyncio.timeout(10):
        while len(peers) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0)
        await peers[1].expect("session.resume")  # ...and never answer it
        while len(peers) < 3:  # noqa: ASYNC110
            await asyncio.sleep(0)
        third = peers[2]
        legacy = await third.expect("session.hello")
        assert legacy["payload"]["resume"]["resume_token"] == "rt-1"
        await third.send(
            "session.welcome",
            {"runtime": {"name": "scripted"}, "resume_token": "rt-2", "capabilities": {}},
            session_id="sess_S",
        )
        await third.result("job_a", 1, "ok")
        assert await handle.result() == "ok"
    assert dials == 4
    await shut(client, third)


async def test_cancel_returns_when_the_job_ends_without_job_cancelled() -> None:
    """§7.4: cancel() returns on job.cancelled or on the job's end, whichever comes first
    (some runtimes never send job.cancelled); a reason is always sent."""
    client, peer = await connected()
    task = asyncio.create_task(client.submit("a"))
    await peer.accept(await peer.expect("job.submit"), "job_a", correlate=True)
    handle = await task
    cancelling = asyncio.create_task(handle.cancel())
    request = await peer.expect("job.cancel")
    assert request["job_id"] == "job_a"
    assert request["payload"]["job_id"] == "job_a" and request["payload"]["reason"]
    await peer.send(
        "job.error",
        {"code": "CANCELLED", "message": "stopped", "final_status": "cancelled"},
        session_id="sess_S",
        job_id="job_a",
        event_seq=1,
    )
    await cancelling
    assert handle.status == "cancelled"
    await shut(client, peer)


async def test_close_ends_when_the_runtime_refuses_session_close() -> None:
    """§6.7: a runtime that answers session.close with session.error still ends the session
    without waiting out the grace period."""
    client, peer = await connected()

    async def refuse() -> None:
        await peer.expect("session.close")
        await peer.send("session.error", {"code": "INVALID_REQUEST", "message": "unknown type"})

    refusing = asyncio.create_task(refuse())
    async with asyncio.timeout(2):  # far below the 5 s grace
        await client.close()
    await refusing
    assert client.closed


async def test_events_replayed_before_job_subscribed_are_kept() -> None:
    """§7.6: job.subscribed should come first, but events a runtime replays before it are
    delivered to the subscription rather than dropped."""
    client, peer = await connected()
    task = asyncio.create_task(client.subscribe("job_z", history=True))
    request = await peer.expect("job.subscribe")
    for seq in (1, 2):
        await peer.send(
            "job.event",
            {"kind": "log", "ts": TS, "body": {"level": "info", "message": f"h{seq}"}},
            session_id="sess_S",
            job_id="job_z",
            event_seq=seq,
        )
    await peer.send(
        "job.subscribed",
        {
            "request_id": request["id"],
            "job_id": "job_z",
            "current_status": "running",
            "agent": "a@1",
            "lease": {},
            "subscribed_from": 2,
            "replayed": True,
        },
        session_id="sess_S",
        job_id="job_z",
    )
    sub = await task
    await peer.result("job_z", 3, "z")
    assert [e.payload.body.message async for e in sub] == ["h1", "h2"]  # type: ignore[union-attr]
    assert await sub.result() == "z"
    await shut(client, peer)


async def test_heartbeat_timers_ping_then_declare_loss_and_resume() -> None:
    """§6.4 with real timers (interval 1 s, the smallest the wire allows): an idle client
    pings; a runtime silent for two intervals is declared lost, the client says
    HEARTBEAT_LOST, drops the link and resumes on a new one."""
    peers: list[Peer] = []

    async def factory() -> MemoryTransport:
        mine, theirs = memory_pair()
        peers.append(Peer(theirs))
        return mine

    async def first() -> None:
        while not peers:  # noqa: ASYNC110
            await asyncio.sleep(0)
        await peers[0].expect("session.hello")
        await peers[0].send(
            "session.welcome",
            {
                "runtime": {"name": "scripted"},
                "resume_token": "rt-1",
                "heartbeat_interval_sec": 1,
                "capabilities": {"features": ["heartbeat"]},
            },
            session_id="sess_S",
        )

    script = asyncio.create_task(first())
    client = await Client.connect(factory, token="t")
    await script
    async with asyncio.timeout(10):
        ping = orjson.loads(await peers[0].end.recv())
        assert ping["type"] == "session.ping" and ping["payload"]["nonce"]
        lost = orjson.loads(await peers[0].end.recv())  # we stay silent: no pong
        assert lost["type"] == "session.error"
        assert lost["payload"]["code"] == "HEARTBEAT_LOST"
        while len(peers) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await peers[1].welcome(token="rt-2")
        while client._session.state is not ClientState.OPEN:  # pyright: ignore[reportPrivateUsage]  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert client.session_id == "sess_S"
    await shut(client, peers[1])


async def test_runtime_initiated_close_ends_the_client() -> None:
    """§6.7: a legacy session.bye (or session.closed) from the runtime ends the session;
    pending handles fail with ConnectionLostError, no reconnect is attempted."""
    client, peer = await connected()
    task = asyncio.create_task(client.submit("a"))
    await peer.accept(await peer.expect("job.submit"), "job_a", correlate=True)
    handle = await task
    await peer.send("session.bye", {"reason": "maintenance"}, session_id="sess_S")
    await peer.end.close()
    with pytest.raises(ConnectionLostError, match="runtime closed"):
        await handle.result()
    assert client.closed


async def test_a_cancelled_request_is_forgotten() -> None:
    """wire-decisions (FIFO fallback): a request whose caller gave up no longer takes the
    next uncorrelated answer of its type."""
    client, peer = await connected()
    abandoned = asyncio.create_task(client.submit("a"))
    await peer.expect("job.submit")
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    wanted = asyncio.create_task(client.submit("b"))
    await peer.accept(await peer.expect("job.submit"), "job_b", correlate=False)
    assert (await wanted).job_id == "job_b"
    await shut(client, peer)


async def test_an_undecodable_event_keeps_its_seq_and_never_forces_a_resume() -> None:
    """§8.3: an event the client cannot decode (a spec kind with a body that breaks its
    schema) is dropped but still counted, so the next event is no gap: no resume loop. (A kind
    this build does not know is delivered as UnknownEvent: tests/client/test_forward_compat.)"""
    client, peer = await connected()
    task = asyncio.create_task(client.submit("a"))
    await peer.accept(await peer.expect("job.submit"), "job_a", correlate=True)
    handle = await task
    env = {"session_id": "sess_S", "job_id": "job_a"}
    log = {"level": "info", "message": "ok"}
    await peer.send("job.event", {"kind": "log", "ts": TS, "body": log}, event_seq=1, **env)
    bad = {"kind": "log", "ts": TS, "body": {"level": "loud"}}
    await peer.send("job.event", bad, event_seq=2, **env)
    await peer.send("job.event", {"kind": "log", "ts": TS, "body": log}, event_seq=3, **env)
    await peer.result("job_a", 4, "done")
    events = [e async for e in handle]
    assert [e.event_seq for e in events] == [1, 3]
    assert await handle.result() == "done"
    assert client.last_event_seq == 4
    await shut(client, peer)  # the peer saw no session.resume: expect() would have failed


async def test_a_resent_submit_is_not_refused_by_its_own_jobs_replayed_end() -> None:
    """§6.3, §7.2: a runtime killed after accepting a job, before the client got
    ``job.accepted``, ends the job on restart (``INTERNAL_ERROR``); the resume replays that
    ``job.error`` before the ``job.accepted`` answering the resent submit. It is the job's
    end, not the submit's refusal: ``submit`` returns the handle, which ends with the error.
    Before, the error failed the submit and the accepted went uncorrelated (the handle of a
    retry then waited for ever; found by the PostgreSQL kill -9 run)."""
    peers: list[Peer] = []

    async def factory() -> MemoryTransport:
        mine, theirs = memory_pair()
        peers.append(Peer(theirs))
        return mine

    async def first() -> None:
        while not peers:  # noqa: ASYNC110
            await asyncio.sleep(0)
        await peers[0].welcome()
        await peers[0].expect("job.submit")  # ...and the runtime dies before answering
        peers[0].end.drop()

    script = asyncio.create_task(first())
    client = await Client.connect(factory, token="t")
    submitting = asyncio.create_task(client.submit("a", idempotency_key="k"))
    async with asyncio.timeout(10):
        await script
        while len(peers) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0)
        peer = peers[1]
        await peer.welcome("rt-2")
        resent = await peer.expect("job.submit")
        assert resent["payload"]["idempotency_key"] == "k"
        await peer.send(
            "job.error",
            {"code": "INTERNAL_ERROR", "message": "stopped", "final_status": "error"},
            session_id="sess_S",
            job_id="job_a",
            event_seq=1,
        )
        await peer.accept(resent, "job_a", correlate=True)
        handle = await submitting
        assert handle.job_id == "job_a"
        with pytest.raises(InternalError):
            await handle.result()
    await shut(client, peer)


async def test_a_correlating_runtime_s_job_error_never_refuses_another_submit() -> None:
    """wire-decisions (correlation), §6.3: once the runtime names the requests its answers
    are for, a ``job.error`` without ``request_id`` is a job's end, never the refusal of
    whatever submit is pending. Before, the replayed end of a job whose ``job.accepted``
    was lost in a crash failed an unrelated submit, and that job's handle waited for ever
    (the stalls of the PostgreSQL kill -9 runs)."""
    client, peer = await connected()
    first = asyncio.create_task(client.submit("a"))
    await peer.accept(await peer.expect("job.submit"), "job_a", correlate=True)
    await first
    second = asyncio.create_task(client.submit("b"))
    request = await peer.expect("job.submit")
    await peer.send(
        "job.error",
        {"code": "INTERNAL_ERROR", "message": "stopped", "final_status": "error"},
        session_id="sess_S",
        job_id="job_b",
        event_seq=1,
    )
    await peer.accept(request, "job_b", correlate=True)
    async with asyncio.timeout(10):
        handle = await second
        assert handle.job_id == "job_b"
        with pytest.raises(InternalError):
            await handle.result()
    await shut(client, peer)
