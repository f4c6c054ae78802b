"""A store in a PostgreSQL database, which several runtime processes may share (§6.3, §7.2).

One :class:`psycopg.AsyncConnection` per store. :meth:`PostgresStore.open` applies the
versioned migrations under ``migrations/postgres`` while holding a transaction-scoped
advisory lock, so runtime nodes starting together migrate once. :meth:`PostgresStore.commit`
is one transaction sent as one pipeline; events go in as chunks, one row per session (and
job, head, gate) and one per job however many events a batch holds, read back through the
views ``session_events`` and ``job_events`` (§6.5 ack trims, §7.6 job logs).

The address may hold a password: it never appears in a message (see :func:`redact_dsn`).
Needs the ``postgres`` extra (``psycopg``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any, Final, LiteralString, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.types.json import Json

from arcp.store.base import (
    Batch,
    Snapshot,
    StoredEvent,
    StoredJob,
    StoredJobEvent,
    StoredRevocation,
    StoredSession,
    StoreError,
)
from arcp.store.postgres_events import (
    INSERT_EVENTS,
    INSERT_JOB_EVENTS,
    event_groups,
    job_event_groups,
)

__all__ = ["JOB_COLUMNS", "SESSION_COLUMNS", "PostgresStore", "job_of", "redact_dsn"]

if TYPE_CHECKING:
    from arcp.store.postgres_cluster import PostgresCluster

_Row = tuple[Any, ...]
_Conn = psycopg.AsyncConnection[_Row]
_T = TypeVar("_T")

_LOCK_KEY: Final = 0x6172_6370_7374_6F72  # "arcpstor": serialises migrations across nodes


def _upsert(table: str, fields: tuple[str, ...], updated: tuple[str, ...] = ()) -> bytes:
    """An INSERT of one row keyed by its first field; if the row exists, ``updated`` (by
    default every field) is replaced."""
    names = ", ".join(fields)
    changed = ", ".join(updated or fields)
    return (
        f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(fields))})"
        f" ON CONFLICT ({fields[0]}) DO UPDATE SET ({changed})"
        f" = ({', '.join(f'excluded.{name}' for name in updated or fields)})"
    ).encode()


_SESSION_FIELDS: Final = (
    "session_id", "principal", "features", "token_digest", "resume_window_sec", "first_seq",
    "last_seq", "acked_seq", "detached_at", "subscriptions",
)  # fmt: skip
_JOB_FIELDS: Final = (
    "job_id", "principal", "agent", "lease", "lease_constraints", "trace_id", "created_at",
    "input", "max_runtime_sec", "origin_session_id", "accepted", "fingerprint",
    "idempotency_key", "status", "finished_at", "parent_job_id", "children", "budget",
    "outcome_is_error", "outcome", "first_origin_seq", "last_origin_seq",
)  # fmt: skip
# A node only updates the sessions it owns: once another node took one over (§6.3), a late
# write from the previous owner changes nothing.
_UPSERT_SESSION: Final = _upsert("sessions", (*_SESSION_FIELDS, "owner")) + (
    b" WHERE sessions.owner = excluded.owner"
)
# Likewise a node only updates the jobs whose home it is: once another node took over the
# jobs of a node it took for dead, that node's late writes change nothing.
# A job's row is written whole once; later writes set only its state (JOB_STATE_FIELDS, the
# outcome as two columns), so a large input is sent once. A job this store object wrote or
# loaded gets the UPDATE, which does not even encode the input.
_JOB_STATE: Final = (
    "accepted", "status", "finished_at", "children", "budget", "outcome_is_error", "outcome",
    "first_origin_seq", "last_origin_seq",
)  # fmt: skip
_UPSERT_JOB: Final = (
    _upsert("jobs", (*_JOB_FIELDS, "home"), _JOB_STATE) + b" WHERE jobs.home = excluded.home"
)
_UPDATE_JOB: Final = (
    f"UPDATE jobs SET ({', '.join(_JOB_STATE)}) = ({', '.join(['%s'] * len(_JOB_STATE))})"
    " WHERE job_id = %s AND home = %s"
).encode()
SESSION_COLUMNS: Final = ", ".join(_SESSION_FIELDS)
JOB_COLUMNS: Final = ", ".join(_JOB_FIELDS)
_SELECT_SESSIONS: Final = (
    f"SELECT {SESSION_COLUMNS} FROM sessions WHERE owner = %s ORDER BY position".encode()
)
_SELECT_JOBS: Final = f"SELECT {JOB_COLUMNS} FROM jobs WHERE home = %s ORDER BY job_id".encode()

# A trim deletes the chunks wholly below the new start and cuts the entries below it out of
# the arrays of those it cuts through (their payloads stay in ``data`` until the chunk goes).
_TRIM_EVENTS: Final = (
    "DELETE FROM session_chunks WHERE session_id = %s AND last_seq < %s"
    " AND EXISTS (SELECT 1 FROM sessions WHERE session_id = %s AND owner = %s)"
)
_TRIM_JOB_EVENTS: Final = (
    "DELETE FROM job_chunks WHERE job_id = %s AND last_seq < %s"
    " AND EXISTS (SELECT 1 FROM jobs WHERE job_id = %s AND home = %s)"
)
_CUT_EVENTS: Final = b"""
UPDATE session_chunks c SET (first_seq, seqs, origins, pos, lens) = (
    SELECT min(u.seq), array_agg(u.seq ORDER BY u.i), array_agg(u.origin_seq ORDER BY u.i),
        array_agg(u.pos ORDER BY u.i), array_agg(u.len ORDER BY u.i)
    FROM unnest(c.seqs, c.origins, c.pos, c.lens) WITH ORDINALITY
        AS u(seq, origin_seq, pos, len, i)
    WHERE u.seq >= %(first)s)
WHERE c.session_id = %(owner)s AND c.first_seq < %(first)s AND c.last_seq >= %(first)s
    AND EXISTS (SELECT 1 FROM sessions WHERE session_id = %(owner)s AND owner = %(node)s)"""
_CUT_JOB_EVENTS: Final = b"""
UPDATE job_chunks c SET (first_seq, origins, kinds, gates, pos, lens) = (
    SELECT min(u.origin_seq), array_agg(u.origin_seq ORDER BY u.i),
        array_agg(u.kind ORDER BY u.i), array_agg(u.gate ORDER BY u.i),
        array_agg(u.pos ORDER BY u.i), array_agg(u.len ORDER BY u.i)
    FROM unnest(c.origins, c.kinds, c.gates, c.pos, c.lens) WITH ORDINALITY
        AS u(origin_seq, kind, gate, pos, len, i)
    WHERE u.origin_seq >= %(first)s)
WHERE c.job_id = %(owner)s AND c.first_seq < %(first)s AND c.last_seq >= %(first)s
    AND EXISTS (SELECT 1 FROM jobs WHERE job_id = %(owner)s AND home = %(node)s)"""


def _moved(
    owners: list[tuple[str, int]], starts: dict[str, int], low: dict[str, int]
) -> list[tuple[str, int]]:
    """The ``(owner, start)`` pairs to trim: the start moved since this node's last commit,
    or the batch writes below it."""
    return [
        (owner, start)
        for owner, start in owners
        if starts.get(owner) != start or low.get(owner, start) < start
    ]


async def _trim(
    cur: psycopg.AsyncCursor[_Row],
    sql: tuple[LiteralString, bytes],
    owners: list[tuple[str, int]],
    node: str,
) -> None:
    """Delete the chunks of each owner wholly below its start, then cut the one it cuts
    through; only for owners this node holds (the statements check)."""
    if not owners:
        return
    trim, cut = sql
    await cur.executemany(trim, [(owner, start, owner, node) for owner, start in owners])
    await cur.executemany(
        cut, [{"owner": owner, "first": start, "node": node} for owner, start in owners]
    )


def redact_dsn(dsn: str) -> str:
    """``postgresql://host:port/dbname`` of a DSN: never its user, password or options."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        try:  # a URL libpq refuses (a bad option, bad escapes) still names its server
            url = urlsplit(dsn)
            parts = {"host": url.hostname, "port": url.port, "dbname": url.path[1:]}
        except ValueError:
            return "postgresql://<unparsable address>"
    host = parts.get("host") or parts.get("hostaddr") or "localhost"
    return f"postgresql://{host}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}"


def _scrub(text: str, dsn: str) -> str:
    """``text`` with the DSN and its password (raw and decoded) replaced."""
    secrets: list[str] = [dsn]
    with contextlib.suppress(psycopg.Error):
        secrets.append(str(conninfo_to_dict(dsn).get("password") or ""))
    with contextlib.suppress(ValueError):
        secrets.append(urlsplit(dsn).password or "")
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _migrations() -> list[tuple[int, str]]:
    """``(version, sql)`` of every ``NNNN_name.sql`` migration, oldest first."""
    folder = resources.files("arcp.store") / "migrations" / "postgres"
    found = [
        (int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(found)


def _json(value: Any) -> Json | None:
    return None if value is None else Json(value)


class PostgresStore:
    """The :class:`~arcp.store.Store` protocol over PostgreSQL (psycopg 3, async)."""

    def __init__(self, dsn: str, node_id: str = "") -> None:
        self._dsn = dsn
        self._where = redact_dsn(dsn)
        self._conn: _Conn | None = None
        self._lock = asyncio.Lock()
        self.node_id = node_id
        """This runtime's name among the nodes sharing the database (see :mod:`arcp.cluster`)."""
        self._cluster: PostgresCluster | None = None
        self._jobs_written: set[str] = set()
        self._starts: dict[str, int] = {}
        """Session or job id → the start its chunks were last trimmed to by this node."""
        """Jobs whose row this object committed or loaded: later writes update their
        state only (``_UPDATE_JOB``), so a job's input is encoded and sent once."""

    def cluster(self) -> PostgresCluster:
        """The shared-database side of this store, for :mod:`arcp.cluster`."""
        if self._cluster is None:
            from arcp.store.postgres_cluster import PostgresCluster

            self._cluster = PostgresCluster(self._dsn, self.node_id, self._where)
        return self._cluster

    def __repr__(self) -> str:
        return f"PostgresStore({self._where!r})"

    async def _connect(self) -> _Conn:
        try:
            return await psycopg.AsyncConnection.connect(self._dsn, autocommit=False)
        except psycopg.Error as exc:
            message = _scrub(str(exc), self._dsn)
        # raised outside the handler, so not even __context__ holds libpq's words (§14)
        raise StoreError(f"cannot connect to {self._where}: {message}")

    async def _run(self, action: str, work: Callable[[_Conn], Awaitable[_T]]) -> _T:
        """``work`` on the connection, one caller at a time. A connection lost (server
        restart, failover, idle timeout) is replaced and ``work`` runs once more: a batch
        is idempotent, so applying it again is safe even if the first commit went through."""
        async with self._lock:
            for attempt in range(2):
                conn = self._conn
                if conn is None:
                    raise StoreError(f"{self._where}: the store is not open")
                if conn.pgconn.transaction_status != TransactionStatus.IDLE:
                    with contextlib.suppress(psycopg.Error):
                        await conn.close()
                    self._conn = conn = await self._connect()
                try:
                    return await work(conn)
                except psycopg.Error as exc:
                    if attempt == 0 and conn.closed:
                        continue
                    message = _scrub(str(exc), self._dsn)
                    raise StoreError(f"{self._where}: {action} failed: {message}") from exc
            raise AssertionError("unreachable")

    async def open(self) -> None:
        """Connect and bring the schema up to date; a newer schema is refused (§14)."""
        if self._conn is not None:
            return
        conn = await self._connect()
        try:
            await self._migrate(conn)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn

    async def _migrate(self, conn: _Conn) -> None:
        migrations = _migrations()
        known = migrations[-1][0]
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
                cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
                row = await cur.fetchone()
                current: int = row[0] if row is not None else 0
                if current > known:
                    raise StoreError(
                        f"{self._where}: schema version {current} is newer than this arcp"
                        f" knows ({known}); upgrade arcp"
                    )
                for version, sql in migrations:
                    if version > current:
                        await conn.execute(sql.encode())
                        await conn.execute(
                            "INSERT INTO schema_version (version) VALUES (%s)", (version,)
                        )
        except psycopg.Error as exc:
            message = _scrub(str(exc), self._dsn)
            raise StoreError(f"{self._where}: migration failed: {message}") from exc

    async def close(self) -> None:
        """Close the connection; closing twice is harmless."""
        conn, self._conn = self._conn, None
        self._jobs_written = set()
        self._starts = {}
        if conn is not None:
            await conn.close()
        if self._cluster is not None:
            await self._cluster.close()

    async def commit(self, batch: Batch) -> None:
        """Apply ``batch`` in one transaction (order as documented on :class:`Batch`)."""
        if not batch:
            return

        async def work(conn: _Conn) -> None:
            async with conn.pipeline(), conn.transaction(), conn.cursor() as cur:
                await self._apply(cur, batch, self.node_id, self._jobs_written, self._starts)

        await self._run("commit", work)
        self._jobs_written.update(batch.jobs)
        self._jobs_written.difference_update(batch.forget_jobs)
        starts = self._starts
        starts.update({s.session_id: s.first_seq for s in batch.sessions.values()})
        starts.update({j.job_id: j.first_origin_seq for j in batch.jobs.values()})
        for owner in (*batch.forget_sessions, *batch.forget_jobs):
            starts.pop(owner, None)

    @staticmethod
    async def _apply(
        cur: psycopg.AsyncCursor[_Row],
        batch: Batch,
        node: str,
        written: set[str],
        starts: dict[str, int],
    ) -> None:
        # A row both written and forgotten in this batch ends up deleted: skip the writes.
        gone_sessions, gone_jobs = batch.forget_sessions, batch.forget_jobs
        sessions = [s for s in batch.sessions.values() if s.session_id not in gone_sessions]
        jobs = [j for j in batch.jobs.values() if j.job_id not in gone_jobs]
        if sessions:
            await cur.executemany(_UPSERT_SESSION, [(*_session_row(s), node) for s in sessions])
        new_jobs = [(*_job_row(j), node) for j in jobs if j.job_id not in written]
        if new_jobs:
            await cur.executemany(_UPSERT_JOB, new_jobs)
        if len(new_jobs) < len(jobs):
            await cur.executemany(
                _UPDATE_JOB, [_job_state(j, node) for j in jobs if j.job_id in written]
            )
        low: dict[str, int] = {}  # owner → the least seq this batch writes for it
        for params in event_groups(batch.events, gone_sessions, node):
            await cur.execute(INSERT_EVENTS, params)
            low[params["owner"]] = min(params["first"], low.get(params["owner"], params["first"]))
        logs = job_event_groups(batch.job_events, gone_jobs, node)
        for params in logs:
            await cur.execute(INSERT_JOB_EVENTS, params)
        if logs:  # nodes following these jobs read the new entries once this commits (§7.6)
            await cur.execute(
                "SELECT pg_notify('arcp_job', j) FROM unnest(%s::text[]) AS j",
                (sorted(params["owner"] for params in logs),),
            )
        # One indexed range delete per owner: a join over arrays here gets a hash join
        # over the whole event table from the planner (measured: 30 ms at 100k rows).
        # A trim where the start moved since this node's last commit (§6.5), or where the batch
        # writes below it: a long job's log, never trimmed, costs nothing per commit.
        await _trim(
            cur,
            (_TRIM_EVENTS, _CUT_EVENTS),
            _moved([(s.session_id, s.first_seq) for s in sessions], starts, low),
            node,
        )
        await _trim(
            cur,
            (_TRIM_JOB_EVENTS, _CUT_JOB_EVENTS),
            _moved(
                [(j.job_id, j.first_origin_seq) for j in jobs],
                starts,
                {params["owner"]: params["first"] for params in logs},
            ),
            node,
        )
        if gone_sessions:
            ids = list(gone_sessions)
            for table in ("sessions", "session_chunks", "session_cursors"):
                await cur.execute(f"DELETE FROM {table} WHERE session_id = ANY(%s)", (ids,))
        if gone_jobs:
            ids = list(gone_jobs)
            for table in ("jobs", "job_chunks", "idempotency_keys"):
                await cur.execute(f"DELETE FROM {table} WHERE job_id = ANY(%s)", (ids,))
        if batch.revocations_added:
            await cur.executemany(
                "INSERT INTO revocations (credential_id, job_id, owner) VALUES (%s, %s, %s)"
                " ON CONFLICT (credential_id) DO NOTHING",
                [(r.credential_id, r.job_id, node) for r in batch.revocations_added],
            )
        if batch.revocations_done:
            await cur.execute(
                "DELETE FROM revocations WHERE credential_id = ANY(%s)",
                (list(batch.revocations_done),),
            )

    async def load(self) -> Snapshot:
        """Everything held, as :class:`~arcp.store.MemoryStore` reports it (§6.3 resume)."""

        async def work(conn: _Conn) -> Snapshot:
            async with conn.transaction(), conn.cursor(binary=True) as cur:
                await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                return await self._read(cur, self.node_id)

        snapshot = await self._run("load", work)
        self._jobs_written = {job.job_id for job in snapshot.jobs}
        self._starts = {}  # trimmed once more on the next commit of each
        return snapshot

    @staticmethod
    async def _read(cur: psycopg.AsyncCursor[_Row], node: str) -> Snapshot:
        """What this node owns: its sessions, its jobs, its pending revocations."""
        snapshot = Snapshot()
        await cur.execute(_SELECT_SESSIONS, (node,))
        snapshot.sessions = [StoredSession(*row) for row in await cur.fetchall()]
        await cur.execute(
            "SELECT e.session_id, seq, job_id, origin_seq, head, payload, gate"
            " FROM session_events e JOIN sessions s USING (session_id) WHERE s.owner = %s"
            " ORDER BY e.session_id, seq",
            (node,),
        )
        live = {s.session_id for s in snapshot.sessions}
        for row in await cur.fetchall():
            if row[0] in live:
                snapshot.events.setdefault(row[0], []).append(StoredEvent(*row[1:]))
        await cur.execute(_SELECT_JOBS, (node,))
        snapshot.jobs = [job_of(row) for row in await cur.fetchall()]
        await cur.execute(
            "SELECT e.job_id, origin_seq, kind, payload, gate FROM job_events e"
            " JOIN jobs j USING (job_id) WHERE j.home = %s ORDER BY e.job_id, origin_seq",
            (node,),
        )
        live = {j.job_id for j in snapshot.jobs}
        logs: dict[str, list[StoredJobEvent]] = {}
        for row in await cur.fetchall():
            if row[0] in live:
                logs.setdefault(row[0], []).append(StoredJobEvent(*row[1:]))
        snapshot.job_events.update(logs)
        await cur.execute(
            "SELECT credential_id, job_id FROM revocations WHERE owner = %s ORDER BY position",
            (node,),
        )
        snapshot.revocations = [StoredRevocation(*row) for row in await cur.fetchall()]
        return snapshot


def _session_row(s: StoredSession) -> tuple[Any, ...]:
    return (s.session_id, s.principal, Json(s.features), s.token_digest, s.resume_window_sec,
            s.first_seq, s.last_seq, s.acked_seq, s.detached_at, Json(s.subscriptions))  # fmt: skip


def _job_row(j: StoredJob) -> tuple[Any, ...]:
    key = None if j.idempotency_key is None else j.idempotency_key.encode(errors="surrogatepass")
    is_error, outcome = (None, None) if j.outcome is None else j.outcome
    return (j.job_id, j.principal, j.agent, Json(j.lease), _json(j.lease_constraints),
            j.trace_id, j.created_at, Json(j.input), j.max_runtime_sec, j.origin_session_id,
            Json(j.accepted), j.fingerprint, key, j.status, j.finished_at, j.parent_job_id,
            Json(j.children), _json(j.budget), is_error, _json(outcome), j.first_origin_seq,
            j.last_origin_seq)  # fmt: skip


def _job_state(j: StoredJob, node: str) -> tuple[Any, ...]:
    """The parameters of ``_UPDATE_JOB``: the job's state, its id, this node."""
    is_error, outcome = (None, None) if j.outcome is None else j.outcome
    return (Json(j.accepted), j.status, j.finished_at, Json(j.children), _json(j.budget),
            is_error, _json(outcome), j.first_origin_seq, j.last_origin_seq, j.job_id, node)  # fmt: skip


def job_of(row: tuple[Any, ...]) -> StoredJob:
    """A :class:`StoredJob` from a row of :data:`JOB_COLUMNS`."""
    values = list(row)
    if values[12] is not None:
        values[12] = bytes(values[12]).decode(errors="surrogatepass")
    is_error, outcome = values[18], values[19]
    values[18:20] = [None if is_error is None else (bool(is_error), outcome)]
    return StoredJob(*values)
