"""Per-principal limits on the wire (§14, issue #13 item 1c): sessions, unfinished jobs, input
bytes, retained input, and zero-throughput sessions."""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
from typing import Any

import orjson

from arcp.protocol.job_table import stored_fingerprint, submit_fingerprint
from arcp.protocol.limits import Limits
from arcp.runtime import Runtime
from arcp.transport import TransportClosed
from tests.runtime.conftest import Gates, build_runtime
from tests.runtime.wire import connect

MiB = 1024 * 1024


async def test_sessions_per_principal_are_capped() -> None:
    """§14: per-principal session caps. The third attached session of alice is refused with
    a retryable PERMISSION_DENIED naming the limit; bob is not affected; a closed session
    frees its place, and a resumed one takes it again."""
    rt = build_runtime(Gates(), limits=Limits(max_sessions_per_principal=2))
    first, second = connect(rt), connect(rt)
    await first.hello("t")
    await second.hello("t2")
    third = connect(rt)
    await third.send(
        "session.hello", {"client": {"name": "x"}, "auth": {"scheme": "bearer", "token": "t"}}
    )
    err = await third.expect("session.error")
    assert err["payload"]["code"] == "PERMISSION_DENIED"
    assert err["payload"]["retryable"] is True
    assert err["payload"]["details"] == {"limit": "max_sessions_per_principal", "max": 2}
    await asyncio.wait_for(third.task, 5)  # the runtime closed that connection
    await connect(rt).hello("tb")  # bob has his own count
    await first.drop()
    await connect(rt).hello("t")
    await second.drop()  # a detached session frees its place; resuming it takes it back
    back = connect(rt)
    await back.send(
        "session.resume",
        {"session_id": first.session_id, "resume_token": first.resume_token, "last_event_seq": 0},
    )
    await back.expect("session.welcome")
    again = connect(rt)
    await again.send(
        "session.hello", {"client": {"name": "x"}, "auth": {"scheme": "bearer", "token": "t"}}
    )
    assert (await again.expect("session.error"))["payload"]["code"] == "PERMISSION_DENIED"
    await back.drop()
    await connect(rt).hello("t")
    await rt.aclose()


async def test_unfinished_jobs_per_principal_are_capped(gates: Gates) -> None:
    """§14: a cap on concurrent jobs per principal; a finished job frees its place."""
    rt = build_runtime(gates, limits=Limits(max_jobs_per_principal=2))
    peer = connect(rt)
    await peer.hello()
    await peer.submit("waiter", "a")
    await peer.submit("waiter", "b")
    refused = await peer.submit("echo", 1)
    assert refused["type"] == "session.error"
    assert refused["payload"]["code"] == "PERMISSION_DENIED"
    assert refused["payload"]["details"] == {"limit": "max_jobs_per_principal", "max": 2}
    other = connect(rt)
    await other.hello("tb")
    assert (await other.submit("echo", 1))["type"] == "job.accepted"  # bob is not alice
    gates["a"].set()
    await peer.until(lambda f: f["type"] == "job.result")
    assert (await peer.submit("echo", 1))["type"] == "job.accepted"
    gates["b"].set()
    await rt.aclose()


async def test_input_larger_than_max_input_bytes_is_invalid_request() -> None:
    """§14: input size is bounded; INVALID_REQUEST names the limit, and the session stays
    usable (no job id minted, no event_seq consumed)."""
    rt = build_runtime(Gates(), limits=Limits(max_input_bytes=1000))
    peer = connect(rt)
    await peer.hello()
    refused = await peer.submit("echo", "x" * 1000)
    assert refused["type"] == "session.error"
    assert refused["payload"]["code"] == "INVALID_REQUEST"
    assert refused["payload"]["details"] == {"limit": "max_input_bytes", "max": 1000}
    accepted = await peer.submit("echo", "x" * 990)
    assert accepted["type"] == "job.accepted"
    result = (await peer.until_terminal(accepted["job_id"]))[-1]
    assert result["event_seq"] == 1
    await rt.aclose()


async def test_retained_input_bytes_per_principal_are_capped(gates: Gates) -> None:
    """Issue #13 1c: 20 x 4 MiB jobs added 434 MiB. Input bytes a principal's kept jobs hold
    are capped; a job forgotten after the resume window gives its bytes back."""
    limits = Limits(max_input_bytes=10_000, max_retained_bytes_per_principal=40_000)
    rt = build_runtime(gates, limits=limits, resume_window_sec=0.2)
    peer = connect(rt)
    await peer.hello()
    for _ in range(2):
        job = await peer.submit("echo", "x" * 9_000)
        await peer.until_terminal(job["job_id"])
    refused = await peer.submit("echo", "x" * 9_000)
    assert refused["payload"]["details"]["limit"] == "max_retained_bytes_per_principal"
    async with asyncio.timeout(10):
        while rt.core.jobs.retained("alice"):  # noqa: ASYNC110  (the sweeper forgets them)
            await asyncio.sleep(0.05)
    assert (await peer.submit("echo", "x" * 9_000))["type"] == "job.accepted"
    await rt.aclose()


async def test_retained_event_bytes_count_against_the_principal_cap(gates: Gates) -> None:
    """§14, #13 item 1: the retained-bytes cap counts what the runtime keeps for a
    principal's jobs, not their inputs only: a job with a tiny input that logged 1,000
    events holds their bytes for the resume window. Before, only inputs counted and the
    next submit was accepted. Another principal is not affected; forgetting the job gives
    the bytes back."""
    limits = Limits(max_retained_bytes_per_principal=50_000)
    rt = build_runtime(gates, limits=limits)
    peer = connect(rt)
    await peer.hello()
    job = await peer.submit("chatty", {"n": 1000})
    await peer.until_terminal(job["job_id"])
    kept = rt.core.jobs.jobs[job["job_id"]].log.size
    assert rt.core.jobs.retained("alice") == kept + len(b'{"n":1000}') and kept > 50_000
    refused = await peer.submit("echo", {"a": 1})
    assert refused["type"] == "session.error"
    assert refused["payload"]["code"] == "PERMISSION_DENIED"
    assert refused["payload"]["details"]["limit"] == "max_retained_bytes_per_principal"
    other = connect(rt)
    await other.hello("tb")
    assert (await other.submit("echo", {"a": 1}))["type"] == "job.accepted"
    rt.core.jobs.remove(rt.core.jobs.jobs[job["job_id"]])  # what the sweeper does later
    assert rt.core.jobs.retained("alice") == 0
    assert (await peer.submit("echo", {"a": 1}))["type"] == "job.accepted"
    await rt.aclose()


async def test_a_zero_throughput_session_is_disconnected_and_stays_resumable(
    gates: Gates,
) -> None:
    """§14: sustained zero-throughput sessions are disconnect-eligible. Pings do not count as
    throughput; a session with an unfinished job is never idle; a disconnected session can
    resume (§6.3)."""
    rt = build_runtime(gates, limits=Limits(idle_session_sec=0.3), resume_window_sec=2)
    busy = connect(rt)
    await busy.hello()
    await busy.submit("waiter", "hold")
    idle = connect(rt)
    await idle.hello("t2")
    async with asyncio.timeout(10):
        while not idle.task.done():  # pings only: no throughput
            with contextlib.suppress(TransportClosed):
                await idle.send("session.ping", {"nonce": "n", "sent_at": "2026-01-01T00:00:00Z"})
            await asyncio.sleep(0.1)
    await asyncio.sleep(1)
    assert not busy.task.done()  # its job is unfinished: never idle
    resumed = connect(rt)
    await resumed.send(
        "session.resume",
        {"session_id": idle.session_id, "resume_token": idle.resume_token, "last_event_seq": 0},
    )
    assert (await resumed.expect("session.welcome"))["session_id"] == idle.session_id
    gates["hold"].set()
    await rt.aclose()


def test_a_fingerprint_is_a_digest_and_old_stored_ones_still_match() -> None:
    """Issue #13 1c: a job kept its whole encoded input twice (input and fingerprint); the
    fingerprint is a 39-byte digest now, and a fingerprint stored by an earlier version
    (the encoded parameters themselves) is converted on restore, so idempotent retries
    across an upgrade still match (§7.2)."""
    big = {"text": "x" * MiB, "n": [1, 2.5, None]}
    new, size = submit_fingerprint("echo", big, {"tool.call": ["a"]}, None, 5)
    assert len(new) == 39 and size == len(orjson.dumps(big, option=orjson.OPT_SORT_KEYS))
    old = orjson.dumps(["echo", big, {"tool.call": ["a"]}, None, 5], option=orjson.OPT_SORT_KEYS)
    assert stored_fingerprint(old) == new
    assert stored_fingerprint(new) == new


async def test_memory_a_2_mib_input_costs() -> None:
    """Issue #13 1c: a 2 MiB input cost 6.6 MiB of memory. Measured here with tracemalloc
    (Python allocations while the job is kept), bounded generously."""
    rt = Runtime(tokens={"t": "alice"})

    @rt.agent("echo")
    async def echo(input: Any, ctx: Any) -> Any:
        return len(input)

    peer = connect(rt)
    await peer.hello()
    submit = orjson.dumps(
        {
            "arcp": "1.1",
            "id": "01J00000000000000000000000",
            "type": "job.submit",
            "session_id": peer.session_id,
            "payload": {"agent": "echo", "input": "x" * (2 * MiB - 16)},
        }
    )
    tracemalloc.start()  # the runtime's allocations from here: the frame is already built
    try:
        await peer.send_raw(submit)
        del submit
        await peer.until(lambda f: f["type"] == "job.result")
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"2 MiB input: kept {kept / MiB:.1f} MiB, peak {peak / MiB:.1f} MiB")
    assert kept < 3 * MiB  # the input once, not the input and its fingerprint
    await rt.aclose()
