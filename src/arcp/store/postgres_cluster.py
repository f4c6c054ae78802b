"""The shared-database side of :class:`~arcp.store.postgres.PostgresStore` (§6.3, §7.2, §7.6).

Implements :class:`arcp.cluster.ClusterDatabase` over PostgreSQL: LISTEN/NOTIFY for the
notifications between nodes, and the reads and claims a node makes about other nodes'
sessions and jobs. It keeps two connections of its own, apart from the store's commits: one
that only listens, one for queries (autocommit; short transactions where a step must be
atomic).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import psycopg

from arcp.store.base import (
    StoredEvent,
    StoredJob,
    StoredJobEvent,
    StoredRevocation,
    StoredSession,
    StoreError,
)
from arcp.store.cluster import CHANNELS
from arcp.store.postgres import JOB_COLUMNS, SESSION_COLUMNS, job_of

__all__ = ["JOB_LOG_AFTER", "PostgresCluster"]

log = logging.getLogger("arcp.cluster")

_Conn = psycopg.AsyncConnection[tuple[Any, ...]]
_T = TypeVar("_T")


def _key(key: str) -> bytes:
    return key.encode(errors="surrogatepass")


JOB_LOG_AFTER: Final = (
    "SELECT DISTINCT ON (u.origin_seq) u.origin_seq, u.kind,"
    " substring(c.data FROM u.pos FOR u.len), u.gate"
    " FROM job_chunks c CROSS JOIN LATERAL"
    " unnest(c.origins, c.kinds, c.gates, c.pos, c.lens) AS u(origin_seq, kind, gate, pos, len)"
    " WHERE c.job_id = %s AND c.last_seq > %s AND u.origin_seq > %s"
    " ORDER BY u.origin_seq, c.chunk_id"
)
"""A job's log entries after a cursor (job id, cursor, cursor), read from the chunks rather
than the ``job_events`` view: only the chunks that reach past the cursor are cut up, so a
node following a long job reads in proportion to what is new (the view unnests all)."""


class PostgresCluster:
    """One node's view of the shared database (see :class:`arcp.cluster.ClusterDatabase`)."""

    def __init__(self, dsn: str, node_id: str, where: str) -> None:
        self._dsn = dsn
        self.node_id = node_id
        self._where = where
        self._conn: _Conn | None = None
        self._lock = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None
        self._listening: _Conn | None = None

    def __repr__(self) -> str:
        return f"PostgresCluster({self._where!r}, node_id={self.node_id!r})"

    async def _connect(self) -> _Conn:
        try:
            return await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
        except psycopg.Error:
            pass
        raise StoreError(f"cannot connect to {self._where}")  # never the DSN's password

    async def _run(self, work: Callable[[_Conn], Awaitable[_T]]) -> _T:
        async with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = await self._connect()
            try:
                return await work(self._conn)
            except psycopg.Error as exc:
                raise StoreError(f"{self._where}: {type(exc).__name__}") from None

    async def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async def work(conn: _Conn) -> list[tuple[Any, ...]]:
            cur = await conn.execute(sql.encode(), params, binary=True)
            return await cur.fetchall()

        return await self._run(work)

    async def close(self) -> None:
        """Stop listening and close both connections."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        for conn in (self._listening, self._conn):
            if conn is not None:
                await conn.close()
        self._listening = self._conn = None

    # -- notifications ------------------------------------------------------------------------

    async def listen(
        self, deliver: Callable[[str, str], None], resumed: Callable[[], None]
    ) -> None:
        """LISTEN on every channel; ``deliver`` runs for each notification. A lost
        connection is replaced (with backoff) and ``resumed`` called."""
        await self._subscribe()
        self._listener = asyncio.create_task(self._receive(deliver, resumed), name="arcp-listen")

    async def _subscribe(self) -> _Conn:
        conn = self._listening = await self._connect()
        for channel in CHANNELS:
            await conn.execute(f"LISTEN {channel}".encode())
        return conn

    async def _receive(
        self, deliver: Callable[[str, str], None], resumed: Callable[[], None]
    ) -> None:
        delay = 0.1
        while True:
            conn = self._listening
            try:
                assert conn is not None
                async for note in conn.notifies():
                    delay = 0.1
                    try:
                        deliver(note.channel, note.payload)
                    except Exception:
                        log.exception("handling a notification on %s failed", note.channel)
            except (psycopg.Error, StoreError, AssertionError) as exc:
                log.warning("%s: listening failed (%s); again", self._where, type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)
            try:
                await self._subscribe()
            except StoreError:
                self._listening = None
                continue
            resumed()

    async def notify(self, channel: str, payload: str) -> None:
        """NOTIFY every node (this one too)."""
        await self._rows("SELECT pg_notify(%s, %s)", (channel, payload))

    async def alive(self) -> None:
        """Record that this node is alive now."""
        await self._rows(
            "INSERT INTO nodes (node_id, seen_at) VALUES (%s, now()) ON CONFLICT (node_id)"
            " DO UPDATE SET seen_at = now() RETURNING 1",
            (self.node_id,),
        )

    async def is_alive(self, node_id: str, within_sec: float) -> bool:
        """Whether ``node_id`` said it was alive in the last ``within_sec`` seconds."""
        rows = await self._rows(
            "SELECT 1 FROM nodes WHERE node_id = %s"
            " AND seen_at > now() - make_interval(secs => %s)",
            (node_id, within_sec),
        )
        return bool(rows)

    async def take_over_orphans(
        self, silent_sec: float, *, revocations: bool
    ) -> tuple[list[StoredJob], list[StoredRevocation]]:
        """Re-home the unfinished jobs (and pending revocations) of nodes silent for
        ``silent_sec``; a concurrent taker skips the rows this one updated first."""
        dead = (
            "(SELECT node_id FROM nodes WHERE node_id <> %s"
            " AND seen_at < now() - make_interval(secs => %s))"
        )
        jobs = await self._rows(
            f"UPDATE jobs SET home = %s WHERE finished_at IS NULL AND home IN {dead}"
            f" RETURNING {JOB_COLUMNS}",
            (self.node_id, self.node_id, silent_sec),
        )
        taken: list[tuple[Any, ...]] = []
        if revocations:
            taken = await self._rows(
                f"UPDATE revocations SET owner = %s WHERE owner IN {dead}"
                " RETURNING credential_id, job_id",
                (self.node_id, self.node_id, silent_sec),
            )
        return [job_of(row) for row in jobs], [StoredRevocation(*row) for row in taken]

    async def moved(self, job_ids: list[str]) -> list[str]:
        """Those of ``job_ids`` another node has taken."""
        if not job_ids:
            return []
        rows = await self._rows(
            "SELECT job_id FROM jobs WHERE job_id = ANY(%s) AND home <> %s",
            (job_ids, self.node_id),
        )
        return [str(row[0]) for row in rows]

    # -- sessions -----------------------------------------------------------------------------

    async def session(self, session_id: str) -> tuple[StoredSession, str] | None:
        """The stored session and its owner node."""
        rows = await self._rows(
            f"SELECT {SESSION_COLUMNS}, owner FROM sessions WHERE session_id = %s", (session_id,)
        )
        if not rows:
            return None
        return StoredSession(*rows[0][:-1]), str(rows[0][-1])

    async def session_events(self, session_id: str) -> list[StoredEvent]:
        """Its buffered events, oldest first."""
        rows = await self._rows(
            "SELECT seq, job_id, origin_seq, head, payload, gate FROM session_events"
            " WHERE session_id = %s ORDER BY seq",
            (session_id,),
        )
        return [StoredEvent(*row) for row in rows]

    async def hand_over(self, session_id: str, to_node: str, cursors: dict[str, int]) -> None:
        """Owner, cursors and the ``released`` notification in one transaction."""

        async def work(conn: _Conn) -> None:
            async with conn.transaction():
                await conn.execute(
                    "UPDATE sessions SET owner = %s WHERE session_id = %s", (to_node, session_id)
                )
                await conn.execute(
                    "DELETE FROM session_cursors WHERE session_id = %s", (session_id,)
                )
                if cursors:
                    async with conn.cursor() as cur:
                        await cur.executemany(
                            "INSERT INTO session_cursors (session_id, job_id, cursor)"
                            " VALUES (%s, %s, %s)",
                            [(session_id, job, cursor) for job, cursor in cursors.items()],
                        )
                await conn.execute(
                    "SELECT pg_notify('arcp_session', %s)", (f"released {session_id}",)
                )

        await self._run(work)

    async def take_over(self, session_id: str) -> None:
        """Make this node the owner, unasked."""
        await self._rows(
            "UPDATE sessions SET owner = %s WHERE session_id = %s RETURNING 1",
            (self.node_id, session_id),
        )

    async def cursors(self, session_id: str) -> dict[str, int]:
        """Job id → cursor, as the last hand-over recorded them."""
        rows = await self._rows(
            "SELECT job_id, cursor FROM session_cursors WHERE session_id = %s", (session_id,)
        )
        return {str(job): int(cursor) for job, cursor in rows}

    # -- jobs ------------------------------------------------------------------------------

    async def job(self, job_id: str) -> StoredJob | None:
        """A job of any node."""
        rows = await self._rows(f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = %s", (job_id,))
        return job_of(rows[0]) if rows else None

    async def job_events(self, job_id: str, after: int) -> list[StoredJobEvent]:
        """Log entries after ``after``, oldest first."""
        rows = await self._rows(JOB_LOG_AFTER, (job_id, after, after))
        return [StoredJobEvent(*row) for row in rows]

    async def jobs_of_session(self, session_id: str) -> list[StoredJob]:
        """Jobs submitted through ``session_id``."""
        rows = await self._rows(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE origin_session_id = %s ORDER BY job_id",
            (session_id,),
        )
        return [job_of(row) for row in rows]

    async def page(
        self,
        principal: str,
        *,
        statuses: frozenset[str] | None,
        agent: str | None,
        created_after: str | None,
        after_job_id: str | None,
        limit: int,
    ) -> list[StoredJob]:
        """One keyset page of ``principal``'s jobs across every node (§6.6)."""
        rows = await self._rows(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE principal = %s"
            " AND (%s::text IS NULL OR job_id > %s)"
            " AND (%s::text[] IS NULL OR status = ANY(%s))"
            " AND (%s::text IS NULL OR agent = %s OR split_part(agent, '@', 1) = %s)"
            " AND (%s::text IS NULL OR created_at > %s)"
            " ORDER BY job_id LIMIT %s",
            (
                principal,
                after_job_id,
                after_job_id,
                None if statuses is None else sorted(statuses),
                None if statuses is None else sorted(statuses),
                agent,
                agent,
                agent,
                created_after,
                created_after,
                limit,
            ),
        )
        return [job_of(row) for row in rows]

    async def claim_key(
        self, principal: str, key: str, fingerprint: bytes, job_id: str
    ) -> tuple[str, bytes] | None:
        """Claim an idempotency key, or name the job already holding it (§7.2)."""
        claimed = await self._rows(
            "INSERT INTO idempotency_keys (principal, key, job_id, fingerprint, owner)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING job_id",
            (principal, _key(key), job_id, fingerprint, self.node_id),
        )
        if claimed:
            return None
        rows = await self._rows(
            "SELECT job_id, fingerprint FROM idempotency_keys WHERE principal = %s AND key = %s",
            (principal, _key(key)),
        )
        if not rows:  # released between the two statements: try once more
            return await self.claim_key(principal, key, fingerprint, job_id)
        return str(rows[0][0]), bytes(rows[0][1])

    async def release_stale_keys(self, silent_sec: float, *, own: bool) -> int:
        """Drop claims whose job was never written (§7.2): those of nodes silent for
        ``silent_sec`` and, with ``own``, this node's own (only safe while it has no claim
        in flight: when it starts). Returns how many were dropped."""
        owners = "owner IN (SELECT node_id FROM nodes WHERE node_id <> %s"
        owners += " AND seen_at < now() - make_interval(secs => %s))"
        if own:
            owners = f"(owner = %s OR {owners})"
        params: tuple[Any, ...] = (self.node_id, silent_sec)
        rows = await self._rows(
            f"DELETE FROM idempotency_keys k WHERE {owners}"
            " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.job_id = k.job_id) RETURNING 1",
            (self.node_id, *params) if own else params,
        )
        return len(rows)

    async def release_key(self, principal: str, key: str, job_id: str) -> None:
        """Drop a claim whose job was never created."""
        await self._rows(
            "DELETE FROM idempotency_keys WHERE principal = %s AND key = %s AND job_id = %s"
            " RETURNING 1",
            (principal, _key(key), job_id),
        )
