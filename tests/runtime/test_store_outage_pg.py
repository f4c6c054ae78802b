"""PostgreSQL stopped mid-stream and restarted: nothing lost, nothing rewritten (#13 item 3).

The cluster is this test's own (``tests.pg_cluster.start_cluster``), so stopping it disturbs
no other test. The same assertions as for SQLite (``test_store_outage``): while the database
is down no uncommitted event is sent, the agent waits and new jobs are refused; after the
restart the stream continues gap-free and the store holds exactly what the client saw.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from arcp.store.base import StoreError
from arcp.store.postgres import PostgresStore
from tests.pg_cluster import PostgresCluster, _run, find_pg_bindir, start_cluster  # pyright: ignore[reportPrivateUsage]
from tests.runtime.test_store_outage import NO_ACK, build, seen_events
from tests.runtime.wire import connect


@pytest.fixture
def own_cluster() -> Iterator[PostgresCluster]:
    bindir = find_pg_bindir()
    if bindir is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail("CI must run the PostgreSQL tests", pytrace=False)
        pytest.skip("PostgreSQL binaries not found")
    with start_cluster(bindir) as cluster:
        yield cluster


def _pg_ctl(cluster: PostgresCluster, *args: str) -> None:
    pg_ctl = str(cluster.bindir / "pg_ctl")
    log = str(cluster.datadir.parent / "log")
    _run(cluster.datadir.parent, pg_ctl, "-D", str(cluster.datadir), "-l", log, *args)


async def test_postgres_stopped_mid_stream_then_restarted(own_cluster: PostgresCluster) -> None:
    """#13 item 3 on PostgreSQL: stop the server mid-stream, restart it, lose nothing."""
    dsn = own_cluster.create_database()
    name = dsn.rsplit("/", 1)[1]
    with psycopg.connect(own_cluster.dsn(), autocommit=True) as conn:
        # the test cluster runs with synchronous_commit=off, which lets a stopped server
        # lose commits it acknowledged: durability needs it on (docs/stores.md)
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on'.encode())
    rt = build(own_cluster.datadir, store=PostgresStore(dsn), high_water=200)
    peer = connect(rt)
    await peer.hello(features=NO_ACK)
    n = 3000
    job_id = (await peer.submit("flood", {"n": n}))["job_id"]
    frames = await peer.until(lambda f: f.get("event_seq") == 100)
    await asyncio.to_thread(_pg_ctl, own_cluster, "-m", "immediate", "-w", "stop")
    persister = rt._persister  # pyright: ignore[reportPrivateUsage]
    assert persister is not None
    for _ in range(600):
        if persister.failing:
            break
        await asyncio.sleep(0.05)
    assert persister.failing and rt.core.store_flow.shut
    job = rt.core.jobs.jobs[job_id]
    await asyncio.sleep(0.3)
    stalled = job.log.last_origin_seq
    await asyncio.sleep(0.3)
    assert job.log.last_origin_seq == stalled < n  # the agent waits for the database
    refused = await peer.request("job.submit", {"agent": "flood", "input": {"n": 1}})
    assert refused["payload"]["code"] == "INTERNAL_ERROR"
    await asyncio.to_thread(_pg_ctl, own_cluster, "-w", "restart")
    frames += await peer.until_terminal(job_id)
    seqs = [f["event_seq"] for f in frames if "event_seq" in f]
    assert seqs == list(range(1, n + 2)) and frames[-1]["type"] == "job.result"
    await rt.aclose()
    store = PostgresStore(dsn)
    await store.open()
    snapshot = await store.load()
    await store.close()
    stored: dict[int, Any] = {
        e.seq: orjson.loads(e.payload) for e in snapshot.events[peer.session_id or ""]
    }
    seen = {seq: orjson.loads(payload) for seq, payload in seen_events(frames).items()}
    assert stored == seen  # the database holds exactly what the client saw


async def test_read_only_postgres_database_is_refused_at_start(postgres_dsn: str) -> None:
    """#13 item 3: a database the runtime cannot write is refused at open (StoreError),
    never served with every commit failing."""
    store = PostgresStore(postgres_dsn)
    await store.open()
    await store.close()
    name = postgres_dsn.rsplit("/", 1)[1]
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as conn:
        await conn.execute(
            f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'.encode()
        )
    rt = build(Path("unused"), store=PostgresStore(postgres_dsn))
    with pytest.raises(StoreError):
        await rt.open()
