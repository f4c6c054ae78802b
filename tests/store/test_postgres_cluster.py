"""The shared-database side of the PostgreSQL store, one node's view (§6.3, §6.6, §7.2)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import psycopg
import pytest

from arcp.store import (
    Batch,
    StoredEvent,
    StoredJob,
    StoredJobEvent,
    StoredRevocation,
    StoredSession,
)
from arcp.store.postgres import PostgresStore
from tests.pg_cluster import silence_node


def _session(session_id: str) -> StoredSession:
    return StoredSession(session_id, "alice", ["ack"], b"d" * 32, 600, 1, 2, 0, None, [])


def _job(job_id: str, *, status: str = "running", agent: str = "echo@1.0.0") -> StoredJob:
    return StoredJob(
        job_id=job_id,
        principal="alice",
        agent=agent,
        lease={},
        lease_constraints=None,
        trace_id="t" * 32,
        created_at=f"2026-11-22T00:00:0{job_id[-1]}Z",
        input=None,
        max_runtime_sec=None,
        origin_session_id="sess_1",
        accepted={"job_id": job_id},
        fingerprint=b"f",
        idempotency_key=None,
        status=status,
        finished_at=None,
        parent_job_id=None,
        children=[],
        budget=None,
        outcome=None,
        first_origin_seq=1,
        last_origin_seq=2,
    )


@pytest.fixture
async def nodes(postgres_dsn: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    a, b = PostgresStore(postgres_dsn, node_id="a"), PostgresStore(postgres_dsn, node_id="b")
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


async def test_each_node_loads_only_what_it_owns(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    await a.commit(Batch(sessions={"sess_1": _session("sess_1")}, jobs={"job_1": _job("job_1")}))
    assert [s.session_id for s in (await a.load()).sessions] == ["sess_1"]
    assert (await b.load()).sessions == [] and (await b.load()).jobs == []
    assert await b.cluster().job("job_1") == (await a.load()).jobs[0]


async def test_a_handed_over_session_ignores_its_previous_owner(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    """§6.3: once B owns the session, A's late writes change neither it nor its events."""
    a, b = nodes
    event = StoredEvent(1, "job_1", 1, b"h", b"p", 0)
    await a.commit(Batch(sessions={"sess_1": _session("sess_1")}, events=[("sess_1", event)]))
    await a.cluster().hand_over("sess_1", "b", {"job_1": 1})
    late = StoredEvent(2, "job_1", 2, b"h", b"late", 0)
    stale = _session("sess_1")
    stale.first_seq = 3
    await a.commit(Batch(sessions={"sess_1": stale}, events=[("sess_1", late)]))
    found = await b.cluster().session("sess_1")
    assert found is not None and found[1] == "b" and found[0].first_seq == 1
    assert await b.cluster().session_events("sess_1") == [event]
    assert await b.cluster().cursors("sess_1") == {"job_1": 1}


async def test_a_key_is_claimed_once_across_nodes(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    """§7.2: concurrent claims of one key: one wins, every other names the winner."""
    a, b = nodes
    claims = await asyncio.gather(
        *(
            (a if i % 2 else b).cluster().claim_key("alice", "k\x00", b"fp", f"job_{i}")
            for i in range(10)
        )
    )
    winners = [i for i, held in enumerate(claims) if held is None]
    assert len(winners) == 1
    assert {held for held in claims if held is not None} == {(f"job_{winners[0]}", b"fp")}
    await a.cluster().release_key("alice", "k\x00", f"job_{winners[0]}")
    assert await b.cluster().claim_key("alice", "k\x00", b"fp2", "job_x") is None


async def test_pages_filter_and_continue_after_a_job(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    """§6.6: status and agent (name or name@version) filters, keyset order by job id."""
    a, b = nodes
    await a.commit(Batch(jobs={"job_1": _job("job_1"), "job_2": _job("job_2", status="success")}))
    await b.commit(Batch(jobs={"job_3": _job("job_3", agent="other@2.0.0")}))
    page = b.cluster().page

    async def ids(**options: object) -> list[str]:
        base: dict[str, object] = {
            "statuses": None,
            "agent": None,
            "created_after": None,
            "after_job_id": None,
            "limit": 10,
        }
        base.update(options)
        return [job.job_id for job in await page("alice", **base)]  # type: ignore[arg-type]

    assert await ids() == ["job_1", "job_2", "job_3"]
    assert await ids(statuses=frozenset({"success"})) == ["job_2"]
    assert await ids(agent="echo") == ["job_1", "job_2"]
    assert await ids(agent="other@2.0.0") == ["job_3"]
    assert await ids(after_job_id="job_1", limit=1) == ["job_2"]
    assert await ids(created_after="2026-11-22T00:00:02Z") == ["job_3"]
    assert [job.job_id for job in await page("bob", statuses=None, agent=None,
                                             created_after=None, after_job_id=None,
                                             limit=10)] == []  # fmt: skip


async def test_commits_notify_and_listening_survives_a_lost_connection(
    nodes: tuple[PostgresStore, PostgresStore], postgres_dsn: str
) -> None:
    """A commit that grows a job's log notifies every node (§7.6); a node whose listening
    connection is killed listens again and is told it may have missed notifications."""
    a, b = nodes
    heard: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    resumed = asyncio.Event()
    await b.cluster().listen(lambda channel, payload: heard.put_nowait((channel, payload)),
                             resumed.set)  # fmt: skip
    entry = StoredJobEvent(1, 0, b"p", 0)
    await a.commit(Batch(jobs={"job_1": _job("job_1")}, job_events=[("job_1", entry)]))
    assert await asyncio.wait_for(heard.get(), 10) == ("arcp_job", "job_1")
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE query LIKE 'LISTEN%%' AND pid <> pg_backend_pid()"
        )
    await asyncio.wait_for(resumed.wait(), 20)
    await a.cluster().notify("arcp_cancel", "job_1 stop")
    assert await asyncio.wait_for(heard.get(), 10) == ("arcp_cancel", "job_1 stop")


async def test_the_unfinished_jobs_of_a_silent_node_are_taken_over_once(
    nodes: tuple[PostgresStore, PostgresStore], postgres_dsn: str
) -> None:
    """§7.3, §9.8.2: of two live nodes asking at once, each unfinished job and pending
    revocation of a silent node goes to exactly one; finished jobs stay where they are."""
    a, b = nodes
    c = PostgresStore(postgres_dsn, node_id="c")
    await c.open()
    try:
        done = replace(_job("job_2", status="success"), finished_at=1.0)
        await a.commit(
            Batch(
                jobs={"job_1": _job("job_1"), "job_2": done, "job_3": _job("job_3")},
                revocations_added=[StoredRevocation("cred_1", "job_1")],
            )
        )
        await a.cluster().alive()
        assert await b.cluster().take_over_orphans(15, revocations=True) == ([], [])
        await silence_node(postgres_dsn, "a")
        (jobs_b, revs_b), (jobs_c, revs_c) = await asyncio.gather(
            b.cluster().take_over_orphans(15, revocations=True),
            c.cluster().take_over_orphans(15, revocations=True),
        )
        taken = sorted(j.job_id for j in jobs_b + jobs_c)
        assert taken == ["job_1", "job_3"]
        assert [r.credential_id for r in revs_b + revs_c] == ["cred_1"]
        homes = {j.job_id for j in (await b.load()).jobs} | {
            j.job_id for j in (await c.load()).jobs
        }
        assert homes == {"job_1", "job_3"}
        assert [j.job_id for j in (await a.load()).jobs] == ["job_2"]
        assert (await a.load()).revocations == []
    finally:
        await c.close()


async def test_a_node_taken_for_gone_cannot_rewrite_its_former_jobs(
    nodes: tuple[PostgresStore, PostgresStore], postgres_dsn: str
) -> None:
    """§7.3: once another node ended a silent node's job, the silent node's late writes
    (status, log entries, trims) change nothing, and it can learn the job moved."""
    a, b = nodes
    entry = StoredJobEvent(1, 0, b'{"n":1}', 0)
    await a.commit(Batch(jobs={"job_1": _job("job_1")}, job_events=[("job_1", entry)]))
    await a.cluster().alive()
    await silence_node(postgres_dsn, "a")
    (taken,), _ = await b.cluster().take_over_orphans(15, revocations=False)
    late = replace(_job("job_1", status="success"), finished_at=2.0, first_origin_seq=3)
    await a.commit(
        Batch(jobs={"job_1": late}, job_events=[("job_1", StoredJobEvent(2, 1, b"{}", 0))])
    )
    assert await b.cluster().job("job_1") == taken
    assert await b.cluster().job_events("job_1", 0) == [entry]
    assert await a.cluster().moved(["job_1", "job_9"]) == ["job_1"]
    assert await b.cluster().moved(["job_1"]) == []
