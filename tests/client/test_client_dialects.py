"""Dialect suites (issue #14.3): the full client API against scripted runtimes that speak
exactly the strict spec, the official Python SDK's runtime and the TypeScript SDK's runtime
(docs/interop.md, wire-decisions: "read every dialect in the wild"). Every test runs under a
timeout, so a hang fails it instead of the suite.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from arcp.client import Client
from arcp.conformance.scripted import OFFICIAL_PYTHON, STRICT, TYPESCRIPT, Dialect, ScriptedRuntime
from arcp.errors import (
    AgentNotAvailableError,
    AgentVersionNotAvailableError,
    JobCancelledError,
    PermissionDeniedError,
    RequestTimeoutError,
    ResumeWindowExpiredError,
)
from arcp.transport import MemoryTransport, memory_pair

DIALECTS = [STRICT, OFFICIAL_PYTHON, TYPESCRIPT]
LIMIT = 10.0  # seconds; far above any answer, far below "forever"


class Harness:
    """A scripted runtime and the dialling end clients connect with."""

    def __init__(self, dialect: Dialect) -> None:
        self.runtime = ScriptedRuntime(dialect)
        self.links: list[MemoryTransport] = []  # the runtime's ends, one per connection
        self.hold: asyncio.Event | None = None  # while set to an unset event, dials wait
        self._tasks: list[asyncio.Task[None]] = []

    async def dial(self) -> MemoryTransport:
        if self.hold is not None:
            await self.hold.wait()
        mine, theirs = memory_pair()
        self.links.append(theirs)
        self._tasks.append(asyncio.create_task(self.runtime.serve(theirs)))
        return mine

    async def client(self, **kw: Any) -> Client:
        kw.setdefault("request_timeout", 2.0)
        kw.setdefault("resume_timeout", 0.3)
        return await Client.connect(self.dial, token="t", **kw)

    def types(self) -> list[str]:
        return [str(f.get("type")) for f in self.runtime.frames]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task


@pytest.fixture(params=DIALECTS, ids=[d.name for d in DIALECTS])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    h = Harness(request.param)
    async with asyncio.timeout(LIMIT * 2):
        yield h
    await h.stop()


async def test_handshake_submit_events_and_result(harness: Harness) -> None:
    """§6.2, §7.1, §8: welcome, a job's events in order, its result."""
    async with asyncio.timeout(LIMIT):
        client = await harness.client()
        assert client.session_id and {a.name for a in client.agents} >= {"echo", "chatty"}
        assert (await (await client.submit("echo", {"x": 1})).result()) == {"x": 1}
        handle = await client.submit("chatty", {"n": 3})
        kinds = [e.payload.kind async for e in handle]
        assert [k for k in kinds if k == "log"] == ["log"] * 3
        assert await handle.result() == {"lines": 3}
        assert handle.status == "success"
        await client.close()


async def test_chunked_result(harness: Harness) -> None:
    """§8.4: result_chunk events reassembled into the result."""
    async with asyncio.timeout(LIMIT):
        client = await harness.client()
        handle = await client.submit("chunked", {"parts": ["ab", "c", "d"]})
        assert await handle.result() == "abcd"
        await client.close()


async def test_unknown_agent_and_version_fail_only_the_submit(harness: Harness) -> None:
    """§7.5: AGENT_NOT_AVAILABLE / AGENT_VERSION_NOT_AVAILABLE fail that submit with the
    typed error, however the dialect reports it (a TypeScript runtime: a job.error under a
    job id it never accepted); a running job and the session are unaffected."""
    async with asyncio.timeout(LIMIT):
        client = await harness.client()
        running = await client.submit("sleep", {"sec": 0.3})
        with pytest.raises(AgentNotAvailableError):
            await client.submit("nosuch")
        with pytest.raises(AgentVersionNotAvailableError):
            await client.submit("echo@9.9.9")
        assert await running.result() == "slept"
        assert await (await client.submit("echo", 5)).result() == 5
        await client.close()


async def test_cancel_own_job(harness: Harness) -> None:
    """§7.4: cancel ends the job with JobCancelledError (job.cancelled + job.error, or the
    legacy job.result {final_status: cancelled})."""
    async with asyncio.timeout(LIMIT):
        client = await harness.client()
        handle = await client.submit("sleep", {"sec": 30})
        await handle.cancel()
        with pytest.raises(JobCancelledError):
            await handle.result()
        assert handle.status == "cancelled"
        await client.close()


async def test_cancel_foreign_job(harness: Harness) -> None:
    """§7.4: only the submitting session may cancel. The refusal fails the cancel, never the
    job (a TypeScript runtime sends it as a job.error under the running job's id); a runtime
    that ignores the cancel leaves the caller with RequestTimeoutError, not a hang."""
    async with asyncio.timeout(LIMIT):
        owner = await harness.client()
        other = await harness.client()
        handle = await owner.submit("sleep", {"sec": 0.5})
        watched = await other.subscribe(handle.job_id, history=False)
        if harness.runtime.dialect.foreign_cancel == "ignore":
            with pytest.raises(RequestTimeoutError):
                await other.cancel(handle.job_id, timeout=0.3)
        else:
            with pytest.raises(PermissionDeniedError):
                await other.cancel(handle.job_id)
        assert await handle.result() == "slept"
        assert await watched.result() == "slept"  # the watcher's job did not end early
        await owner.close()
        await other.close()


async def test_list_jobs(harness: Harness) -> None:
    """§6.6: the listing shows a running job (and finished ones where the dialect keeps them)."""
    async with asyncio.timeout(LIMIT):
        client = await harness.client()
        done = await client.submit("echo", 1)
        await done.result()
        running = await client.submit("sleep", {"sec": 0.3})
        listed = {j.job_id: j.status async for j in client.list_jobs()}
        assert listed[running.job_id] == "running"
        assert (done.job_id in listed) is harness.runtime.dialect.list_finished
        await running.result()
        await client.close()


async def test_subscribe_with_history(harness: Harness) -> None:
    """§7.6: a second session observes a job with its history (replayed before or after
    job.subscribed, per dialect), then live to the end."""
    async with asyncio.timeout(LIMIT):
        owner = await harness.client()
        other = await harness.client()
        handle = await owner.submit("chatty", {"n": 4, "every": 0.05})
        await asyncio.sleep(0.08)
        sub = await other.subscribe(handle.job_id, history=True)
        messages = [e.payload.body.message async for e in sub if e.payload.kind == "log"]  # type: ignore[union-attr]
        assert messages == [f"line {i}" for i in range(4)]
        assert await sub.result() == {"lines": 4}
        await owner.close()
        await other.close()


async def test_resume_after_a_drop_with_nothing_emitted_meanwhile(harness: Harness) -> None:
    """§6.3: after a dropped link the client resumes. A runtime that only knows the resume
    inside session.hello gets it once; the TypeScript runtime then refuses a resume with
    nothing to replay (RESUME_WINDOW_EXPIRED): the job fails with that typed error, and the
    client does not loop."""
    async with asyncio.timeout(LIMIT):
        client = await harness.client()
        handle = await client.submit("sleep", {"sec": 0.8})
        harness.links[0].drop()
        if harness.runtime.dialect.expire_empty_resume:
            with pytest.raises(ResumeWindowExpiredError):
                await handle.result()
            await asyncio.sleep(0.5)
            assert harness.types().count("session.hello") == 2  # hello, then one legacy resume
            assert client.closed
            return
        assert await handle.result() == "slept"
        await client.close()


async def test_resume_after_a_drop_with_events_emitted_meanwhile(harness: Harness) -> None:
    """§6.3: events emitted while detached are replayed on resume (strict); a runtime that
    does not buffer them loses them (docs/interop.md), and the client carries on to the
    job's result without looping on the gap."""
    async with asyncio.timeout(LIMIT):
        client = await harness.client()
        # The job outlives the detach: a runtime that does not buffer would lose its result
        # too (docs/interop.md; result(timeout=) bounds that wait).
        handle = await client.submit("chatty", {"n": 8, "every": 0.15})
        events = handle.__aiter__()
        first = await events.__anext__()
        harness.hold = asyncio.Event()
        harness.links[0].drop()
        await asyncio.sleep(0.35)  # the job emits while we are detached
        harness.hold.set()
        rest = [e async for e in events]
        logs = [e.payload.body.message for e in [first, *rest] if e.payload.kind == "log"]  # type: ignore[union-attr]
        if harness.runtime.dialect.buffer_detached:
            assert logs == [f"line {i}" for i in range(8)]
        else:
            assert logs[0] == "line 0" and logs[-1] == "line 7" and len(logs) < 8
            assert logs == sorted(logs)
        assert await handle.result() == {"lines": 8}
        assert harness.types().count("session.resume") <= 2
        await client.close()


async def test_close(harness: Harness) -> None:
    """§6.7: close ends promptly whether the runtime confirms (session.closed) or refuses
    session.close (the official and TypeScript runtimes know only session.bye)."""
    async with asyncio.timeout(LIMIT):
        client = await harness.client(close_timeout=5)
        async with asyncio.timeout(2):
            await client.close()
        assert client.closed
