"""Sessions end to end (§6, §7.6, §14): resume, isolation, subscription, listing, bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from arcp.codec import decode
from arcp.transport import Transport
from arcp_gen.errors import (
    ErrorCode,
    JobNotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from arcp_gen.messages import JobAcceptedMessage, SessionErrorMessage, SessionWelcomeMessage
from arcp_gen.models import LogEvent
from tests.e2e.conftest import ALICE, BOB, Stack


async def test_cut_mid_stream_resumes_with_no_lost_and_no_duplicated_event(
    shared_stack: Stack,
) -> None:
    """§6.3, §8.3: the job keeps running while the transport is down; resume replays exactly
    the events after last_event_seq, so the handle sees every event once, in order."""
    assert shared_stack.drop_last is not None
    async with await shared_stack.connect() as client:
        first_session = client.session_id
        job = await client.submit("progress", {"n": 60, "delay_ms": 5})
        seen: list[int] = []
        async for event in job:
            seen.append(int(event.payload.body.current))  # type: ignore[union-attr]
            if len(seen) == 10:
                shared_stack.drop_last()
        assert await job.result() == {"steps": 60}
        assert client.session_id == first_session
    assert seen == list(range(1, 61))


async def test_other_principals_cannot_see_subscribe_to_or_cancel_a_job(
    shared_stack: Stack,
) -> None:
    """§6.6, §7.4, §7.6, §14: jobs are visible to their principal only; another principal is
    told the job does not exist (no existence leak); a second session of the same principal may
    observe but not cancel."""
    alice = await shared_stack.connect(ALICE)
    bob = await shared_stack.connect(BOB)
    alice_again = await shared_stack.connect(ALICE)
    try:
        job = await alice.submit("slow", {"sec": 30})
        assert job.job_id not in [j.job_id async for j in bob.list_jobs()]
        assert job.job_id in [j.job_id async for j in alice_again.list_jobs()]
        with pytest.raises(JobNotFoundError):
            await bob.subscribe(job.job_id)
        with pytest.raises(JobNotFoundError):
            await bob.cancel(job.job_id)
        with pytest.raises(PermissionDeniedError):
            await alice_again.cancel(job.job_id)
        await job.cancel()
    finally:
        for client in (alice, bob, alice_again):
            await client.close()


async def test_subscriber_replays_history_in_its_own_seq_space(shared_stack: Stack) -> None:
    """§7.6: job.subscribed first, then history re-stamped into the subscriber's gap-free
    event_seq, then live events and the terminal message."""
    async with await shared_stack.connect() as owner, await shared_stack.connect() as watcher:
        job = await owner.submit("progress", {"n": 30, "delay_ms": 10})
        first = [await anext(job) for _ in range(5)]  # the job is live before we subscribe
        sub = await watcher.subscribe(job.job_id, history=True, from_event_seq=0)
        assert sub.subscribed.job_id == job.job_id
        watched = [e async for e in sub]
        assert await sub.result() == {"steps": 30}
        await job.result()
    seqs = [e.event_seq for e in watched]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    currents = [int(e.payload.body.current) for e in watched]  # type: ignore[union-attr]
    assert currents == list(range(1, 31))
    assert len(first) == 5


async def test_list_jobs_walks_every_page(shared_stack: Stack) -> None:
    """§6.6: limit + opaque cursor page through all jobs exactly once."""
    async with await shared_stack.connect(BOB) as client:
        submitted = [(await client.submit("echo", {"i": i})).job_id for i in range(7)]
        listed = [j.job_id async for j in client.list_jobs(page_size=3)]
        echo_only = [j.job_id async for j in client.list_jobs(agent="echo", page_size=2)]
    assert sorted(listed) == sorted(submitted)
    assert sorted(echo_only) == sorted(submitted)


async def test_bad_token_is_unauthenticated(stack: Stack) -> None:
    """§6.1: a token the runtime does not know -> UNAUTHENTICATED (and the token is not echoed)."""
    with pytest.raises(UnauthenticatedError) as info:
        await stack.connect("not-a-token", reconnect=False)
    assert "not-a-token" not in str(info.value)


async def _raw_hello(transport: Transport) -> str:
    hello = {
        "arcp": "1.1",
        "id": "01JRHD2GP0W2Y61AAAS87Z4900",
        "type": "session.hello",
        "payload": {
            "client": {"name": "raw", "version": "1"},
            "auth": {"scheme": "bearer", "token": ALICE},
            "capabilities": {"encodings": ["json"], "features": ["list_jobs"]},
        },
    }
    await transport.send(orjson.dumps(hello))
    welcome = decode(await transport.recv())
    assert isinstance(welcome, SessionWelcomeMessage)
    assert welcome.session_id
    return welcome.session_id


async def _next(transport: Transport) -> object:
    return decode(await asyncio.wait_for(transport.recv(), 10))


async def test_bad_frames_get_invalid_request_and_the_session_goes_on(stack: Stack) -> None:
    """§5, §12: not JSON, not an object, a wrong payload and an unknown type each get
    session.error INVALID_REQUEST; none mints a job; the session keeps working."""
    transport = await stack.dial()
    try:
        session_id = await _raw_hello(transport)
        env = {"arcp": "1.1", "session_id": session_id}
        bad = [
            b"{not json",
            b"[1,2,3]",
            orjson.dumps(
                {
                    **env,
                    "id": "01JRHD2GP0W2Y61AAAS87Z4901",
                    "type": "job.submit",
                    "payload": {"agent": 7},
                }
            ),
            orjson.dumps(
                {**env, "id": "01JRHD2GP0W2Y61AAAS87Z4902", "type": "job.teleport", "payload": {}}
            ),
        ]
        for frame in bad:
            await transport.send(frame)
            reply = await _next(transport)
            assert isinstance(reply, SessionErrorMessage)
            assert reply.payload.code == ErrorCode.INVALID_REQUEST
            assert "Traceback" not in reply.payload.message
        submit = {
            **env,
            "id": "01JRHD2GP0W2Y61AAAS87Z4903",
            "type": "job.submit",
            "payload": {"agent": "echo", "input": 1},
        }
        await transport.send(orjson.dumps(submit))
        accepted = await _next(transport)
        assert isinstance(accepted, JobAcceptedMessage)
        assert accepted.payload.request_id == submit["id"]
    finally:
        await transport.close()


async def test_unknown_type_error_names_the_type(shared_stack: Stack) -> None:
    """wire-decisions: an unknown type is answered with details.type."""
    transport = await shared_stack.dial()
    try:
        session_id = await _raw_hello(transport)
        frame = {
            "arcp": "1.1",
            "id": "01JRHD2GP0W2Y61AAAS87Z4910",
            "session_id": session_id,
            "type": "job.pause",
            "payload": {},
        }
        await transport.send(orjson.dumps(frame))
        reply = await _next(transport)
        assert isinstance(reply, SessionErrorMessage)
        assert (reply.payload.details or {}).get("type") == "job.pause"
        assert reply.payload.request_id == frame["id"]
    finally:
        await transport.close()


async def test_chatty_events_are_typed_models(stack: Stack) -> None:
    """§8.2: events arrive as the generated models, not raw dicts."""
    async with await stack.connect() as client:
        job = await client.submit("chatty", {"n": 2})
        events = [e async for e in job]
    assert all(isinstance(e.payload, LogEvent) for e in events)


async def test_subscribing_to_your_own_finished_job_replays_it(shared_stack: Stack) -> None:
    """§7.6: a new subscription to a job that already ended replays its history and its
    terminal message, also in the session that submitted it."""
    async with await shared_stack.connect() as client:
        job = await client.submit("chatty", {"n": 4})
        assert await job.result() == {"count": 4}
        sub = await asyncio.wait_for(client.subscribe(job.job_id, history=True), 10)
        events = await asyncio.wait_for(_collect(sub), 10)
        assert await sub.result() == {"count": 4}
    assert [e.payload.body.message for e in events] == [  # type: ignore[union-attr]
        f"event {i} of 4" for i in range(1, 5)
    ]


async def _collect(stream: Any) -> list[Any]:
    return [event async for event in stream]
