"""Batched commits to the store (§6.3): nothing recorded is lost when a commit fails."""

from __future__ import annotations

import asyncio
from typing import Any

from arcp.client import Client
from arcp.store import Batch, MemoryStore
from arcp.transport.memory import memory_pair
from tests.runtime.conftest import Gates, build_runtime


class FlakyStore(MemoryStore):
    """A memory store whose next ``failures`` commits raise (a full disk, a lost server)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.commits = 0

    async def commit(self, batch: Batch) -> None:
        self.commits += 1
        if self.failures > 0:
            self.failures -= 1
            raise OSError("disk full")
        await super().commit(batch)


async def test_a_failed_commit_is_retried_with_the_next_batch(gates: Gates, caplog: Any) -> None:
    """The runtime keeps serving through a failed commit and the events of the failed batch
    reach the store with a later one: a restart then replays every one of them."""
    store = FlakyStore(failures=3)
    runtime = build_runtime(gates, store=store)
    ours, theirs = memory_pair()
    task = asyncio.ensure_future(runtime.serve(theirs))
    async with Client.connect(ours, token="t", auto_ack=False) as client:
        job = await client.submit("chatty", {"n": 50})
        assert await job.result() == {"count": 50}
        last = client.last_event_seq
    await runtime.aclose()
    await task
    assert store.commits > 3
    assert "store commit failed" in caplog.text
    snapshot = await store.load()
    (session,) = snapshot.sessions
    seqs = [event.seq for event in snapshot.events[session.session_id]]
    assert seqs == list(range(1, last + 1))


class SlowStore(MemoryStore):
    """A memory store whose commits take a while (a remote database)."""

    async def commit(self, batch: Batch) -> None:
        await asyncio.sleep(0.05)
        await super().commit(batch)


async def test_a_caller_cancelled_mid_commit_does_not_lose_the_batch() -> None:
    """A connection's writer may be cancelled while it waits for a commit (its peer went
    away); the batch it started must still reach the store (§6.3: nothing sent is lost)."""
    from arcp.protocol.journal import Journal
    from arcp.runtime.persistence import Persister
    from arcp.store import StoredRevocation

    store = SlowStore()
    journal = Journal()
    persister = Persister(store, journal)
    journal.revocation_added("cred_1", "job_1")
    writer = asyncio.ensure_future(persister.flush())
    await asyncio.sleep(0.01)
    writer.cancel()
    await persister.flush()  # waits for the commit under way
    assert (await store.load()).revocations == [StoredRevocation("cred_1", "job_1")]
