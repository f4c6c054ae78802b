"""A runtime restarted on its store carries on (§6.3, §6.6, §7.2, §7.3, §9.8.2).

A crash is simulated by copying the store while the first runtime still runs: the copy is
exactly what a disk would hold at that instant, and a second runtime opens it. Clients
reach whichever runtime is current through a connection factory, so they reconnect and
resume on their own.
"""

from __future__ import annotations

import asyncio
import copy
import pickle
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from arcp.client import Client
from arcp.runtime import JobContext, Runtime
from arcp.runtime.credentials import InProcessProvisioner
from arcp.store import MemoryStore, Store
from arcp.store.sqlite import SQLiteStore
from arcp.transport.base import Transport
from arcp.transport.memory import MemoryTransport, memory_pair
from arcp_gen.errors import DuplicateKeyError, InternalError
from arcp_gen.features import Feature
from arcp_gen.models import LogEvent
from tests.runtime.conftest import Gates, build_runtime


class Site:
    """Whichever runtime is current, reachable over fresh memory connections."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ends: list[MemoryTransport] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.old: list[Runtime] = []

    async def dial(self) -> Transport:
        ours, theirs = memory_pair()
        self.tasks.append(asyncio.ensure_future(self.runtime.serve(theirs)))
        self.ends.append(ours)
        return ours

    def connect(self, **options: Any) -> Any:
        options.setdefault("token", "t")
        return Client.connect(self.dial, **options)

    def restart(self, runtime: Runtime) -> None:
        """Point new connections at ``runtime`` and cut the current ones."""
        self.old.append(self.runtime)
        self.runtime = runtime
        for end in self.ends:
            end.drop()


@asynccontextmanager
async def site(runtime: Runtime) -> AsyncIterator[Site]:
    s = Site(runtime)
    try:
        yield s
    finally:
        for rt in [*s.old, s.runtime]:
            await rt.aclose()
        for task in s.tasks:
            task.cancel()
        await asyncio.gather(*s.tasks, return_exceptions=True)


def crash_image(store: MemoryStore) -> MemoryStore:
    """What the store holds right now, as a crashed process would leave it."""
    return copy.deepcopy(store)


async def test_a_job_running_at_a_crash_ends_with_retryable_internal_error(gates: Gates) -> None:
    """§7.3, §12: the client resumes on the restarted runtime, receives every event the first
    one sent, gap-free, then job.error INTERNAL_ERROR (retryable) for the interrupted job."""
    store = MemoryStore()
    async with site(build_runtime(gates, store=store)) as s, s.connect() as client:
        job = await client.submit("chatty", {"n": 10, "gate": "half"})
        seen: list[int] = []
        async for event in job:
            assert isinstance(event.payload, LogEvent)
            seen.append(event.event_seq)
            if len(seen) == 5:
                s.restart(build_runtime(gates, store=crash_image(store)))
        with pytest.raises(InternalError) as caught:
            await job.result()
        assert caught.value.retryable
        assert seen == list(range(seen[0], seen[0] + 5))
        assert client.last_event_seq == seen[-1] + 1  # the job.error, right after


async def test_buffered_events_survive_a_restart_and_are_replayed(gates: Gates) -> None:
    """§6.3: with ack negotiated but nothing acknowledged, a session resumed on the restarted
    runtime replays exactly the events after last_event_seq."""
    store = MemoryStore()
    async with site(build_runtime(gates, store=store)) as s, s.connect(auto_ack=False) as client:
        job = await client.submit("chatty", {"n": 20})
        assert await job.result() == {"count": 20}
        last = client.last_event_seq
        s.restart(build_runtime(gates, store=crash_image(store)))
        await asyncio.sleep(0.3)  # the client notices the cut and resumes by itself
        # The next request rides on the resumed session, with nothing lost.
        again = await client.submit("echo", "after")
        assert await again.result() == "after"
        assert client.last_event_seq == last + 1


async def test_idempotency_keys_outlive_a_restart(gates: Gates) -> None:
    """§7.2: the same key and parameters give the same job after a restart; other parameters
    give DUPLICATE_KEY."""
    store = MemoryStore()
    async with site(build_runtime(gates, store=store)) as s:
        async with s.connect() as client:
            first = await client.submit("echo", 1, idempotency_key="k-1")
            await first.result()
        await s.runtime.aclose()
        s.restart(build_runtime(gates, store=store))
        async with s.connect() as client:
            again = await client.submit("echo", 1, idempotency_key="k-1")
            assert again.job_id == first.job_id
            with pytest.raises(DuplicateKeyError):
                await client.submit("echo", 2, idempotency_key="k-1")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_jobs_are_listed_and_replayed_after_a_restart(
    gates: Gates, kind: str, tmp_path: Path
) -> None:
    """§6.6, §7.6: finished jobs stay listed for the window and their history replays (a
    SQLite store hands the log back undecoded until this subscriber reads it)."""

    def make() -> Store:
        return MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "state.sqlite3")

    store = make()
    async with site(build_runtime(gates, store=store)) as s:
        async with s.connect() as client:
            job = await client.submit("chatty", {"n": 3})
            await job.result()
        await s.runtime.aclose()
        s.restart(build_runtime(gates, store=store if kind == "memory" else make()))
        async with s.connect() as client:
            listed = [entry async for entry in client.list_jobs()]
            assert [entry.job_id for entry in listed] == [job.job_id]
            assert listed[0].status == "success"
            sub = await client.subscribe(job.job_id, history=True, from_event_seq=0)
            kinds = [event.payload.kind async for event in sub]
            assert kinds == ["log", "log", "log"]
            assert await sub.result() == {"count": 3}


async def test_history_after_a_restart_keeps_events_next_to_ones_the_submitter_cannot_see(
    gates: Gates, tmp_path: Path
) -> None:
    """§7.6, §8.2: the submitter did not negotiate ``progress``, so a progress event shares the
    previous log event's place in its numbering; the stored log keeps the log event, and a
    subscriber's history after a restart has every event the submitter saw."""
    first = build_runtime(gates, store=SQLiteStore(tmp_path / "state.sqlite3"))

    @first.agent("mixed")
    async def mixed(input: Any, ctx: JobContext) -> Any:
        await ctx.log("one")
        await ctx.progress(1, 2)
        await ctx.log("two")
        return "done"

    without_progress = [f for f in Feature if f is not Feature.PROGRESS]
    async with site(first) as s:
        async with s.connect(features=without_progress) as client:
            job = await client.submit("mixed")
            assert await job.result() == "done"
        await first.aclose()
        s.restart(build_runtime(gates, store=SQLiteStore(tmp_path / "state.sqlite3")))
        async with s.connect() as client:
            sub = await client.subscribe(job.job_id, history=True, from_event_seq=0)
            bodies = [event.payload async for event in sub]
            logs = [p.body.message for p in bodies if isinstance(p, LogEvent)]
            assert logs == ["one", "two"]
            assert await sub.result() == "done"


async def test_pending_revocations_are_retried_after_a_restart(gates: Gates) -> None:
    """§9.8.2: a revocation that kept failing before a crash is retried by the next process,
    and no credential value is ever written to the store (§14)."""
    failing = InProcessProvisioner()
    failing.fail_revocations = 10**6
    store = MemoryStore()
    first = build_runtime(gates, store=store, provisioner=failing)

    @first.agent("quick")
    async def quick(input: Any, ctx: JobContext) -> Any:
        return "ok"

    async with site(first) as s, s.connect() as client:
        job = await client.submit("quick")
        (credential,) = job.credentials
        await job.result()
        await asyncio.sleep(0.1)  # a few failed attempts
        assert failing.is_live(credential.id)
        assert credential.value.encode() not in pickle.dumps(await store.load())
        image = crash_image(store)
        await first.aclose()  # its last attempt fails too
        assert failing.is_live(credential.id)
        failing.fail_revocations = 0  # the gateway is back
        second = build_runtime(gates, store=image, provisioner=failing)
        s.restart(second)
        await second.open()
        await second.revocations_settled()
        assert failing.revoked == [credential.id]
        await second.aclose()
        assert (await image.load()).revocations == []


async def test_the_credential_of_a_job_running_at_a_crash_is_revoked(gates: Gates) -> None:
    """§9.8.2, §14: a credential is stored (by id) when it is issued, so the process after a
    crash revokes the credential of the job it ends; its value is never stored."""
    provisioner = InProcessProvisioner()
    store = MemoryStore()
    first = build_runtime(gates, store=store, provisioner=provisioner)

    @first.agent("slow")
    async def slow(input: Any, ctx: JobContext) -> Any:
        await asyncio.sleep(60)

    async with site(first) as s, s.connect() as client:
        job = await client.submit("slow")
        (credential,) = job.credentials
        image = crash_image(store)  # the process dies with the job running
        assert [r.credential_id for r in (await image.load()).revocations] == [credential.id]
        assert credential.value.encode() not in pickle.dumps(await image.load())
        second = build_runtime(gates, store=image, provisioner=provisioner)
        s.restart(second)
        await second.open()
        await second.revocations_settled()
        assert provisioner.revoked == [credential.id]
        assert not provisioner.is_live(credential.id)
        with pytest.raises(InternalError):
            await job.result()
        assert (await image.load()).revocations == []


async def test_expired_sessions_and_jobs_leave_the_store(gates: Gates) -> None:
    """§6.3, §6.6: past the resume window a session and its finished jobs are forgotten."""
    store = MemoryStore()
    async with site(build_runtime(gates, store=store, resume_window_sec=0.2)) as s:
        async with s.connect() as client:
            await (await client.submit("echo", 1)).result()
        await asyncio.sleep(0.8)
        snapshot = await store.load()
        assert snapshot.sessions == [] and snapshot.jobs == []
