"""The asyncio client against the real runtime over memory transports (§6-§8)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from arcp.client import Client, ConnectionLostError, JobHandle, UnsubscribedError
from arcp.runtime import Runtime
from arcp.transport import memory_pair
from arcp_gen.errors import (
    AgentNotAvailableError,
    AgentVersionNotAvailableError,
    InternalError,
    InvalidRequestError,
    JobCancelledError,
    JobNotFoundError,
    JobTimeoutError,
    UnauthenticatedError,
)
from arcp_gen.features import Feature
from arcp_gen.models import LogEvent, ProgressBody

from .conftest import GATES, OTHER_TOKEN, TOKEN, Dialer, make_runtime


async def test_handshake_features_agents_and_runtime_info() -> None:
    """§6.2: effective features are hello ∩ welcome; the welcome carries the agent inventory."""
    offered = {Feature.ACK, Feature.LIST_JOBS, Feature.HEARTBEAT}
    rt = make_runtime(features=offered)
    try:
        async with Client.connect(Dialer(rt), token=TOKEN) as client:
            assert client.session_id
            assert client.features == offered  # we asked for all 11
            assert {a.name for a in client.agents} >= {"echo", "chatty"}
            assert client.runtime_info is not None and client.runtime_info.name
    finally:
        await rt.aclose()


async def test_requested_features_limit_what_is_used(dialer: Dialer) -> None:
    """§6.2: a feature we did not ask for is never used: list_jobs raises locally."""
    client = await Client.connect(dialer, token=TOKEN, features=[Feature.ACK], heartbeat=False)
    try:
        assert client.features == frozenset({Feature.ACK})
        with pytest.raises(InvalidRequestError):
            client.list_jobs()
        with pytest.raises(InvalidRequestError):
            await client.subscribe("job_x")
    finally:
        await client.close()


async def test_bad_token_is_unauthenticated(dialer: Dialer) -> None:
    """§6.1: a refused bearer token fails connect with UnauthenticatedError."""
    with pytest.raises(UnauthenticatedError):
        await Client.connect(dialer, token="wrong")


async def test_submit_events_result(dialer: Dialer) -> None:
    """§7.1, §8: submit, iterate typed events in seq order, then the result."""
    async with Client.connect(dialer, token=TOKEN) as client:
        handle = await client.submit("chatty", {"n": 20})
        assert isinstance(handle, JobHandle)
        assert handle.job_id and handle.agent == "chatty@1.0.0"
        assert handle.accepted.job_id == handle.job_id
        assert handle.trace_id and len(handle.trace_id) == 32
        seqs: list[int] = []
        logs: list[str] = []
        async for event in handle:
            seqs.append(event.event_seq)
            if isinstance(event.payload, LogEvent):
                logs.append(event.payload.body.message)
        assert logs == [f"line {i}" for i in range(20)]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert await handle.result() == {"count": 20}
        assert handle.status == "success"
        assert isinstance(handle.progress, ProgressBody) and handle.progress.total == 20


async def test_result_without_iterating(dialer: Dialer) -> None:
    """§7.3: result() alone waits for the terminal message; pinned versions resolve (§7.5)."""
    async with Client.connect(dialer, token=TOKEN) as client:
        assert await (await client.submit("echo", [1, 2])).result() == [1, 2]
        handle = await client.submit("echo@2.0.0", "x")
        assert handle.agent == "echo@2.0.0"
        assert await handle.result() == {"v2": "x"}


async def test_request_errors_are_typed(dialer: Dialer) -> None:
    """§12: runtime failures raise the typed ARCPError subclass from the request."""
    async with Client.connect(dialer, token=TOKEN) as client:
        with pytest.raises(AgentNotAvailableError):
            await client.submit("nope")
        with pytest.raises(AgentVersionNotAvailableError):
            await client.submit("echo@9.9.9")
        with pytest.raises(JobNotFoundError):
            await client.cancel("job_does_not_exist")
        # The session is still usable afterwards.
        assert await (await client.submit("echo", 1)).result() == 1


async def test_job_failures_raise_from_result(dialer: Dialer) -> None:
    """§7.3, §12: a failing agent and a timeout end with typed errors."""
    async with Client.connect(dialer, token=TOKEN) as client:
        boom = await client.submit("boom")
        with pytest.raises(InternalError):
            await boom.result()
        assert boom.status == "error"
        slow = await client.submit("slow", max_runtime_sec=0.05)
        with pytest.raises(JobTimeoutError):
            await slow.result()
        assert slow.status == "timed_out"


async def test_cancel(dialer: Dialer) -> None:
    """§7.4: job.cancel → job.cancelled, then the job ends with CANCELLED."""
    async with Client.connect(dialer, token=TOKEN) as client:
        handle = await client.submit("slow")
        async for event in handle:
            assert event.payload.kind == "status"
            break
        await handle.cancel("enough")
        with pytest.raises(JobCancelledError):
            await handle.result()
        assert handle.status == "cancelled"
        await handle.cancel()  # already ended: nothing to do


@pytest.mark.parametrize(
    ("encoding", "parts", "expected"),
    [
        ("utf8", ["héllo ", "wörld", "!" * 5000], "héllo wörld" + "!" * 5000),
        ("base64", ["\x00\x01", "binary"], b"\x00\x01binary"),
    ],
)
async def test_streamed_result_is_reassembled(
    dialer: Dialer, encoding: str, parts: list[str], expected: str | bytes
) -> None:
    """§8.4: result_chunk events are yielded and result() reassembles them."""
    async with Client.connect(dialer, token=TOKEN) as client:
        handle = await client.submit("stream", {"encoding": encoding, "parts": parts})
        kinds = [event.payload.kind async for event in handle]
        assert kinds and set(kinds) == {"result_chunk"}
        assert await handle.result() == expected


async def test_list_jobs_walks_pages(dialer: Dialer) -> None:
    """§6.6: list_jobs follows next_cursor until the last page."""
    async with Client.connect(dialer, token=TOKEN) as client:
        ids = set()
        for i in range(5):
            handle = await client.submit("echo", i)
            await handle.result()
            ids.add(handle.job_id)
        listed = [job async for job in client.list_jobs(page_size=2)]
        assert {job.job_id for job in listed} >= ids
        assert len({job.job_id for job in listed}) == len(listed)
        done = [job async for job in client.list_jobs(status="success", agent="echo")]
        assert {job.job_id for job in done} >= ids


async def test_subscribe_from_a_second_client_with_history(runtime: Runtime) -> None:
    """§7.6: another session of the same principal replays history then follows live."""
    GATES["g"] = asyncio.Event()
    first = Dialer(runtime)
    second = Dialer(runtime)
    async with (
        Client.connect(first, token=TOKEN) as submitter,
        Client.connect(second, token="tok-alice-2") as watcher,
    ):
        handle = await submitter.submit("chatty", {"n": 10, "gate": "g", "pause_at": 4})
        seen = 0
        async for _ in handle:
            seen += 1
            if seen == 5:
                break
        sub = await watcher.subscribe(handle.job_id, history=True, from_event_seq=0)
        assert sub.subscribed.job_id == handle.job_id
        assert sub.status == "running"
        GATES["g"].set()
        messages = [e.payload.body.message async for e in sub if isinstance(e.payload, LogEvent)]
        assert messages == [f"line {i}" for i in range(10)]
        assert await sub.result() == {"count": 10}
        assert await handle.result() == {"count": 10}


async def test_other_principal_cannot_subscribe(runtime: Runtime) -> None:
    """§7.6: observing another principal's job is refused without revealing it."""
    async with (
        Client.connect(Dialer(runtime), token=TOKEN) as alice,
        Client.connect(Dialer(runtime), token=OTHER_TOKEN) as bob,
    ):
        handle = await alice.submit("slow")
        with pytest.raises((JobNotFoundError, Exception)) as info:
            await bob.subscribe(handle.job_id)
        assert getattr(info.value, "code", None) in {"JOB_NOT_FOUND", "PERMISSION_DENIED"}
        await handle.cancel()


async def test_unsubscribe_ends_the_subscription(runtime: Runtime) -> None:
    """§7.6: after job.unsubscribe iteration stops and result() says so."""
    async with (
        Client.connect(Dialer(runtime), token=TOKEN) as submitter,
        Client.connect(Dialer(runtime), token="tok-alice-2") as watcher,
    ):
        handle = await submitter.submit("slow")
        sub = await watcher.subscribe(handle.job_id)
        await sub.unsubscribe()
        leftovers = [e async for e in sub]  # what arrived before; then iteration ends
        assert all(e.job_id == handle.job_id for e in leftovers)
        with pytest.raises(UnsubscribedError):
            await sub.result()
        await handle.cancel()


async def test_close_is_graceful_and_final(dialer: Dialer) -> None:
    """§6.7: close sends session.close, then nothing more can be sent."""
    client = await Client.connect(dialer, token=TOKEN)
    handle = await client.submit("slow")
    await client.close()
    assert client.closed
    with pytest.raises(ConnectionLostError):
        await handle.result()
    with pytest.raises(ConnectionLostError):
        await client.submit("echo")
    await client.close()  # idempotent


async def test_connected_transport_target(runtime: Runtime) -> None:
    """§4: a connected transport works as a target (without reconnect)."""
    mine, theirs = memory_pair()
    task = asyncio.create_task(runtime.serve(theirs))
    client = await Client.connect(mine, token=TOKEN)
    assert await (await client.submit("echo", "t")).result() == "t"
    await client.close()
    await task


def test_runtime_factory_is_importable() -> None:
    """The test runtime builds without a running loop."""
    assert make_runtime() is not None


async def test_idempotent_resubmit_returns_the_same_job(dialer: Dialer) -> None:
    """§7.2: the same idempotency key and parameters give the same job (and handle)."""
    async with await Client.connect(dialer, token=TOKEN) as client:
        first = await client.submit("echo", {"k": 1}, idempotency_key="same-key")
        assert await first.result() == {"k": 1}
        again = await client.submit("echo", {"k": 1}, idempotency_key="same-key")
        assert again is first  # already finished: the same, ended handle
        assert await again.result() == {"k": 1}
        assert repr(first) == f"JobHandle(job_id={first.job_id!r}, status='success')"


async def test_subscribe_to_own_job_in_the_same_session(dialer: Dialer) -> None:
    """§7.6: subscribing to a job this session submitted gives a second view; the handle
    keeps its events, both end with the result, unsubscribing the view is local."""
    GATES["g"] = asyncio.Event()
    async with Client.connect(dialer, token=TOKEN) as client:
        handle = await client.submit("chatty", {"n": 6, "gate": "g", "pause_at": 2})
        view = await client.subscribe(handle.job_id)
        other = await client.subscribe(handle.job_id)
        await other.unsubscribe()
        GATES["g"].set()
        mine = [e.payload.body.message async for e in handle if isinstance(e.payload, LogEvent)]
        assert mine == [f"line {i}" for i in range(6)]
        assert await handle.result() == {"count": 6}
        assert await view.result() == {"count": 6}
        with pytest.raises(UnsubscribedError):
            await other.result()


async def test_lease_budget_and_expiry_are_sent_and_echoed(dialer: Dialer) -> None:
    """§7.1, §9.5, §9.6: the lease request, its constraints and the budget come back in
    job.accepted when the runtime offers those features."""
    async with Client.connect(dialer, token=TOKEN) as client:
        if not {Feature.COST_BUDGET, Feature.LEASE_EXPIRES_AT} <= client.features:
            pytest.skip("this runtime does not offer cost.budget and lease_expires_at")
        expires = datetime.now(UTC) + timedelta(hours=1)
        handle = await client.submit(
            "echo",
            "x",
            lease={"cost.budget": ["USD:5.00"], "tool.call": ["search"]},
            lease_constraints={"expires_at": expires},
        )
        assert handle.lease["cost.budget"] == ["USD:5.00"]
        assert handle.accepted.budget == {"USD": 5.0}
        constraints = handle.accepted.lease_constraints
        assert constraints is not None and constraints.expires_at is not None
        assert constraints.expires_at.endswith("Z")
        assert await handle.result() == "x"
