"""What only the PostgreSQL store has: a shared server, migrations, passwords (§6.3, §14).

The contract every store keeps is in ``test_contract.py``; these tests run on the throwaway
cluster of ``tests.pg_cluster``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any, cast

import psycopg
import pytest

from arcp.store import (
    Batch,
    MemoryStore,
    StoredEvent,
    StoredJob,
    StoredJobEvent,
    StoredRevocation,
    StoredSession,
    StoreError,
    store_from_address,
)
from arcp.store.postgres import PostgresStore, redact_dsn
from tests.pg_cluster import PASSWORD_ROLE, PostgresCluster


def _query(dsn: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(sql.encode())
        return cur.fetchall() if cur.description is not None else []


def _batch() -> Batch:
    session = StoredSession("sess_1", "alice", ["ack"], b"\x01" * 32, 60.0, 2, 3, 1, 1.5, ["j"])
    job = StoredJob(
        job_id="job_1",
        principal="alice",
        agent="echo",
        lease={"tools": ["*"]},
        lease_constraints=None,
        trace_id="0" * 32,
        created_at="2026-01-01T00:00:00.000Z",
        input={"text": "nul \u0000 and é"},
        max_runtime_sec=None,
        origin_session_id="sess_1",
        accepted={"job_id": "job_1"},
        fingerprint=b"\xff\x00",
        idempotency_key="key \u0000",
        status="error",
        finished_at=2.25,
        parent_job_id=None,
        children=["job_2"],
        budget={"usd": 0.5},
        outcome=(True, {"code": "INTERNAL_ERROR"}),
        first_origin_seq=1,
        last_origin_seq=2,
    )
    return Batch(
        sessions={"sess_1": session},
        events=[("sess_1", StoredEvent(seq, "job_1", seq, b"head", b"", 0)) for seq in (1, 2, 3)],
        jobs={"job_1": job},
        job_events=[("job_1", StoredJobEvent(seq, 0, b"p", 1)) for seq in (0, 1, 2)],
        revocations_added=[StoredRevocation("cred_1", "job_1")],
    )


def test_the_cluster_listens_on_loopback_only(postgres_dsn: str) -> None:
    [(addresses,)] = _query(postgres_dsn, "SHOW listen_addresses")
    [(server,)] = _query(postgres_dsn, "SELECT host(inet_server_addr())")
    assert (addresses, server) == ("127.0.0.1", "127.0.0.1")


async def test_store_from_address_gives_a_postgres_store(postgres_dsn: str) -> None:
    store = store_from_address(postgres_dsn)
    assert isinstance(store, PostgresStore)
    await store.open()
    await store.close()
    await store.close()  # idempotent


async def test_migrations_are_recorded_once(postgres_dsn: str) -> None:
    for _ in range(2):
        store = PostgresStore(postgres_dsn)
        await store.open()
        await store.close()
    assert _query(postgres_dsn, "SELECT version FROM schema_version ORDER BY version") == [
        (1,),
        (2,),
        (3,),
        (4,),
    ]
    tables = _query(postgres_dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert {t for (t,) in tables} >= {"sessions", "session_chunks", "jobs", "job_chunks"}
    views = _query(postgres_dsn, "SELECT viewname FROM pg_views WHERE schemaname = 'public'")
    assert {v for (v,) in views} >= {"session_events", "job_events"}


async def test_a_version_3_database_keeps_its_events_in_chunks(postgres_dsn: str) -> None:
    """Migration 0004 moves the rows of ``session_events`` and ``job_events`` (one per
    event) into chunks: a database written before reads back the same after a restart."""
    from arcp.store.postgres import _migrations  # pyright: ignore[reportPrivateUsage]

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(
            b"CREATE TABLE schema_version (version integer PRIMARY KEY,"
            b" applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version, sql in _migrations()[:3]:
            conn.execute(sql.encode())
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
    before = PostgresStore(postgres_dsn)
    old = _batch()
    rows = [
        ("sess_1", e.seq, e.job_id, e.origin_seq, e.head, e.payload, e.gate)
        for _, e in old.events
        if e.seq >= 2  # what the version-3 store kept (first_seq 2)
    ]
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sessions (session_id, principal, features, token_digest,"
            " resume_window_sec, first_seq, last_seq, acked_seq, detached_at, subscriptions)"
            " VALUES ('sess_1', 'alice', '[\"ack\"]', %s, 60, 2, 3, 1, 1.5, '[\"j\"]')",
            (b"\x01" * 32,),
        )
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO session_events VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)
    await before.open()  # migrates to version 4
    try:
        loaded = await before.load()
        assert loaded.events == {"sess_1": [e for _, e in old.events if e.seq >= 2]}
        await before.commit(Batch(events=[("sess_1", StoredEvent(4, "job_1", 4, b"h", b"x", 0))]))
        held = await before.cluster().session_events("sess_1")
        assert [e.seq for e in held] == [2, 3, 4]
    finally:
        await before.close()


async def test_nodes_starting_together_migrate_once(postgres_dsn: str) -> None:
    stores = [PostgresStore(postgres_dsn) for _ in range(4)]
    await asyncio.gather(*(store.open() for store in stores))
    await stores[0].commit(_batch())
    snapshots = await asyncio.gather(*(store.load() for store in stores))
    await asyncio.gather(*(store.close() for store in stores))
    assert _query(postgres_dsn, "SELECT version FROM schema_version ORDER BY version") == [
        (1,),
        (2,),
        (3,),
        (4,),
    ]
    assert all(snapshot == snapshots[0] for snapshot in snapshots)


async def test_a_newer_schema_is_refused(postgres_dsn: str) -> None:
    store = PostgresStore(postgres_dsn)
    await store.open()
    await store.close()
    _query(postgres_dsn, "INSERT INTO schema_version (version) VALUES (999)")
    with pytest.raises(StoreError, match="schema version 999 is newer"):
        await store.open()
    with pytest.raises(StoreError, match="not open"):
        await store.load()


async def test_committed_state_survives_a_reopen(postgres_dsn: str) -> None:
    memory = MemoryStore()
    store = PostgresStore(postgres_dsn)
    await store.open()
    for batch in (_batch(), Batch(revocations_done=["cred_1"], forget_jobs={"job_0"})):
        await memory.commit(batch)
        await store.commit(batch)
    await store.close()
    reopened = PostgresStore(postgres_dsn)
    await reopened.open()
    try:
        snapshot = await reopened.load()
    finally:
        await reopened.close()
    assert snapshot == await memory.load()
    assert [e.seq for e in snapshot.events["sess_1"]] == [2, 3]  # trimmed below first_seq
    assert isinstance(snapshot.events["sess_1"][0].head, bytes)


async def test_a_lost_connection_is_replaced(postgres_dsn: str) -> None:
    """A server restart or an idle timeout must not cost a batch: it is applied again."""
    store = PostgresStore(postgres_dsn)
    await store.open()
    try:
        _query(
            postgres_dsn,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        await store.commit(_batch())
        assert [s.session_id for s in (await store.load()).sessions] == ["sess_1"]
    finally:
        await store.close()


@pytest.fixture
def password_dsn(postgres_cluster: PostgresCluster, postgres_dsn: str) -> Iterator[str]:
    """``postgres_dsn`` for the role the cluster authenticates by password (``s3cret-pw``)."""
    superuser = postgres_cluster.dsn()
    if not _query(superuser, f"SELECT 1 FROM pg_roles WHERE rolname = '{PASSWORD_ROLE}'"):
        _query(superuser, f"CREATE ROLE {PASSWORD_ROLE} LOGIN")
    _query(superuser, f"ALTER ROLE {PASSWORD_ROLE} PASSWORD 's3cret-pw'")
    _query(postgres_dsn, f"GRANT ALL ON SCHEMA public TO {PASSWORD_ROLE}")
    yield postgres_dsn.replace("postgres@", f"{PASSWORD_ROLE}:s3cret-pw@", 1)
    _query(postgres_dsn, f"DROP OWNED BY {PASSWORD_ROLE}")


async def test_the_right_password_opens_the_store(password_dsn: str) -> None:
    store = PostgresStore(password_dsn)
    await store.open()
    await store.commit(_batch())
    await store.close()


# The marker "qzq" cannot occur in the hex database names the fixture makes.
@pytest.mark.parametrize("password", ["wr0ng-pw-qzq", "p%40ss%2Fword-qzq", "pw%zz-qzq"])
async def test_a_password_never_shows_in_an_error(password_dsn: str, password: str) -> None:
    """§14: an address with a wrong (or malformed) password fails without echoing it."""
    dsn = password_dsn.replace("s3cret-pw", password)
    store = PostgresStore(dsn)
    with pytest.raises(StoreError) as raised:
        await store.open()
    shown = [repr(store), str(raised.value), repr(raised.value)]
    error: BaseException | None = raised.value
    while error is not None:
        shown.append(str(error))
        error = error.__cause__ or error.__context__
    host_port_db = dsn.rsplit("@", 1)[1]
    assert host_port_db in str(raised.value)
    assert not [text for text in shown if "qzq" in text]


def test_redact_dsn_keeps_host_port_and_database_only() -> None:
    secret = uuid.uuid4().hex
    assert redact_dsn(f"postgresql://u:{secret}@db.example:6543/arcp?sslmode=require") == (
        "postgresql://db.example:6543/arcp"
    )
    assert redact_dsn(f"host=h port=1 dbname=d user=u password={secret}") == ("postgresql://h:1/d")
    assert secret not in redact_dsn(f"postgresql://u:{secret}@h/d?bogus=1 '")


async def test_following_a_long_job_reads_only_the_chunks_past_the_cursor(
    postgres_dsn: str,
) -> None:
    """A node following a job on another node (§7.6) reads its log after a cursor on every
    notification: that read must cut up only the chunks that reach past the cursor, not
    the whole log (which made cross-node delivery 3x slower on a long job)."""
    from dataclasses import replace

    from arcp.store.postgres_cluster import JOB_LOG_AFTER

    store = PostgresStore(postgres_dsn)
    await store.open()
    base = _batch()
    job = base.jobs["job_1"]
    try:
        for seq in range(1, 41):  # one commit, so one chunk, per log entry
            await store.commit(
                Batch(
                    jobs={"job_1": replace(job, last_origin_seq=seq)},
                    job_events=[("job_1", StoredJobEvent(seq, 0, b"p%d" % seq, 1))],
                )
            )
        entries = await store.cluster().job_events("job_1", 38)
    finally:
        await store.close()
    assert [(e.origin_seq, e.payload) for e in entries] == [(39, b"p39"), (40, b"p40")]
    plan = _query(
        postgres_dsn,
        "EXPLAIN (ANALYZE, FORMAT JSON) "
        + JOB_LOG_AFTER.replace("%s", "'job_1'", 1).replace("%s", "38"),
    )[0][0]
    scans: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = [cast(Any, plan)[0]["Plan"]]
    while nodes:  # the unnest runs once per chunk that passed the chunk-level filter
        node = nodes.pop()
        if node.get("Node Type") == "Function Scan":
            scans.append(node)
        nodes.extend(node.get("Plans", []))
    assert scans, plan
    assert sum(int(scan["Actual Loops"]) for scan in scans) <= 2
