"""Jobs end to end over memory, WebSocket and stdio (§7, §8)."""

from __future__ import annotations

import math

import pytest

from arcp.demo.agents import _demo_text  # pyright: ignore[reportPrivateUsage]
from arcp_gen.errors import (
    AgentNotAvailableError,
    AgentVersionNotAvailableError,
    DuplicateKeyError,
    JobCancelledError,
    JobTimeoutError,
)
from arcp_gen.features import Feature
from arcp_gen.models import LogEvent, ProgressEvent, ResultChunkEvent
from tests.e2e.conftest import Stack


async def test_echo_returns_its_input(stack: Stack) -> None:
    """§7.1: submit -> accepted -> result; the resolved agent names its version (§7.5)."""
    payload = {"text": "héllo", "n": [1, 2.5, None, True]}
    async with await stack.connect() as client:
        job = await client.submit("echo", payload)
        assert job.agent == "echo@1.0.0"
        assert await job.result() == payload


async def test_events_arrive_in_order_with_gap_free_seq(stack: Stack) -> None:
    """§8.3: event_seq is session-scoped, strictly monotonic and gap-free."""
    async with await stack.connect() as client:
        job = await client.submit("chatty", {"n": 40})
        events = [event async for event in job]
        result = await job.result()
    seqs = [e.event_seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    logs = [e.payload for e in events if isinstance(e.payload, LogEvent)]
    assert [log.body.message for log in logs] == [f"event {i} of 40" for i in range(1, 41)]
    assert result == {"count": 40}


async def test_progress_events_count_up_to_total(stack: Stack) -> None:
    """§8.2.1: progress bodies carry current/total; delivered because `progress` is negotiated."""
    async with await stack.connect() as client:
        assert Feature.PROGRESS in client.features
        job = await client.submit("progress", {"n": 5})
        steps = [e.payload.body async for e in job if isinstance(e.payload, ProgressEvent)]
        await job.result()
    assert [(s.current, s.total) for s in steps] == [(i, 5) for i in range(1, 6)]


async def test_chunked_result_is_reassembled(stack: Stack) -> None:
    """§8.4: result_chunk events in order, then job.result with result_id; the client joins them."""
    async with await stack.connect() as client:
        job = await client.submit("chunked", {"bytes": 5000, "chunk_size": 700})
        chunks = [e.payload.body async for e in job if isinstance(e.payload, ResultChunkEvent)]
        result = await job.result()
    assert result == _demo_text(5000).decode()
    # input.bytes counts UTF-8 bytes, chunks included (#12.8), not characters.
    assert len(result.encode()) == 5000
    assert all(len(c.data.encode()) <= 700 for c in chunks)
    assert [c.chunk_seq for c in chunks] == list(range(len(chunks)))
    assert len(chunks) >= math.ceil(5000 / 700)
    assert [c.more for c in chunks][-1] is False


async def test_result_is_inline_when_result_chunk_is_not_negotiated(stack: Stack) -> None:
    """§6.2, §8.4: a feature outside the intersection is never used."""
    features = [f for f in Feature if f is not Feature.RESULT_CHUNK]
    async with await stack.connect(features=features) as client:
        assert Feature.RESULT_CHUNK not in client.features
        job = await client.submit("chunked", {"bytes": 3000, "chunk_size": 500})
        kinds = {e.payload.kind async for e in job}
        assert await job.result() == _demo_text(3000).decode()
    assert "result_chunk" not in kinds


async def test_versions_resolve_and_unknown_ones_are_refused(stack: Stack) -> None:
    """§7.5: bare name -> default version; name@version exact; unknown version/agent refused."""
    async with await stack.connect() as client:
        inventory = {a.name: a for a in client.agents}
        assert inventory["versioned"].default == "2.0.0"
        assert set(inventory["versioned"].versions or []) == {"1.0.0", "2.0.0"}
        latest = await client.submit("versioned")
        pinned = await client.submit("versioned@1.0.0")
        assert (await latest.result())["version"] == "2.0.0"
        assert (await pinned.result())["version"] == "1.0.0"
        with pytest.raises(AgentVersionNotAvailableError):
            await client.submit("versioned@3.0.0")
        with pytest.raises(AgentNotAvailableError):
            await client.submit("no-such-agent")


async def test_cancel_ends_the_job_with_cancelled(stack: Stack) -> None:
    """§7.4: job.cancel -> job.cancelled + job.error CANCELLED, final_status cancelled."""
    async with await stack.connect() as client:
        job = await client.submit("slow", {"sec": 30})
        await job.cancel("test")
        with pytest.raises(JobCancelledError) as info:
            await job.result()
    assert info.value.retryable is False
    assert str(job.status) == "cancelled"


async def test_max_runtime_ends_the_job_with_timeout(stack: Stack) -> None:
    """§7.3: exceeding max_runtime_sec -> job.error TIMEOUT, final_status timed_out."""
    async with await stack.connect() as client:
        job = await client.submit("slow", {"sec": 30}, max_runtime_sec=0.2)
        with pytest.raises(JobTimeoutError):
            await job.result()
    assert str(job.status) == "timed_out"


async def test_idempotent_resubmit_returns_the_same_job(stack: Stack) -> None:
    """§7.2: same key + same parameters -> same job; other parameters -> DUPLICATE_KEY."""
    async with await stack.connect() as client:
        first = await client.submit("echo", {"a": 1}, idempotency_key="k-1")
        again = await client.submit("echo", {"a": 1}, idempotency_key="k-1")
        assert again.job_id == first.job_id
        with pytest.raises(DuplicateKeyError):
            await client.submit("echo", {"a": 2}, idempotency_key="k-1")
        assert await first.result() == {"a": 1}
