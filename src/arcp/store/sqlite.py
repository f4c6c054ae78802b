"""A store in one SQLite file: the runtime's state survives a crash of its process (§6.3, §7).

The database runs in WAL mode with ``synchronous=NORMAL``: a committed batch survives the
process being killed (even with SIGKILL), but a power loss or OS crash may lose the last few
commits. One runtime process owns the file at a time, enforced by an exclusive ``flock`` on
``<path>.lock`` that the OS drops when the process dies. The schema is versioned: the SQL
files in ``arcp/store/migrations/sqlite`` are applied in order, each in its own transaction,
and recorded in ``schema_version``; a database written by a newer package is refused.

Buffered events share their head (the pre-encoded envelope middle), job and gate with every
other event of their job and kind: such a triple is stored once in ``heads`` and events name it
by ``head_id``. The store keeps ``heads`` in memory, so a commit maps events to ids without a
query (a new triple is inserted in the commit's transaction) and ``load`` builds events
without reading or decoding the shared parts once per event.

Events and job-log entries are stored in chunks: a commit appends one row per session (to
``session_chunks``) and one per job (to ``job_chunks``) holding all of that batch's entries of
the owner (see :mod:`arcp.store.sqlite_chunks`). Loading a long buffer thus reads a few rows
instead of one per event (the per-row cost of :mod:`sqlite3` dominated). An event committed again with a seq
already held replaces the older one: the later chunk (higher ``chunk_id``) wins on load; of
job-log entries with one origin seq the first stays (see :class:`~arcp.store.base.Batch`). A
trim deletes the chunks wholly below the new start and rewrites the one it cuts through.
"""

from __future__ import annotations

import asyncio
import fcntl
import gc
import os
import sqlite3
import struct
import time
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from importlib import resources
from itertools import starmap
from pathlib import Path
from typing import cast

from orjson import loads

from arcp.store.base import (
    Batch,
    Snapshot,
    StoredEvent,
    StoredRevocation,
    StoredSession,
    StoreError,
)
from arcp.store.sqlite_chunks import (
    COUNT,
    ENTRY,
    EVENT_SQL,
    JOB_EVENT_SQL,
    Chunk,
    LazyJobLog,
    column_rows,
    grouped_chunks,
    trim_chunks,
)
from arcp.store.sqlite_rows import (
    INSERT_JOB,
    SELECT_JOBS,
    SELECT_SESSIONS,
    UPDATE_JOB,
    UPSERT_SESSION,
    event_columns,
    job_of_row,
    job_row,
    job_state,
    log_rows,
    session_row,
)

__all__ = ["SQLiteStore"]

_INSERT_HEAD = "INSERT INTO heads (job_id, head, gate) VALUES (?, ?, ?)"
_SELECT_HEADS = "SELECT head_id, job_id, head, gate FROM heads"
_SELECT_REVOCATIONS = "SELECT credential_id, job_id FROM revocations ORDER BY rowid"


_Head = tuple[str, bytes, int]
"""What events share, stored once in ``heads``: ``(job_id, head, gate)``."""

SWEEP_HEADS = 4096
"""A commit deletes the heads no event refers to once there are this many, and again each
time their number has doubled since: ``heads`` stays within twice the heads in use (plus
this), at the cost of one scan of ``session_chunks`` per sweep."""


@contextmanager
def _gc_paused() -> Generator[None, None, None]:
    """No cyclic garbage collection inside: ``load`` creates many objects, all of them kept;
    collections triggered by their number would only walk them (and every other live
    object) again and again, for nothing."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _retrieved(work: asyncio.Future[None]) -> None:
    """Mark the outcome of a commit as seen (its caller may have been cancelled)."""
    if not work.cancelled():
        work.exception()


def _migrations() -> list[tuple[int, str]]:
    """``(version, sql)`` of every bundled migration, oldest first."""
    folder = resources.files("arcp.store.migrations") / "sqlite"
    found: list[tuple[int, str]] = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text("utf-8")))
    return sorted(found)


class SQLiteStore:
    """The :class:`~arcp.store.Store` protocol over one SQLite file (``sqlite:PATH``).

    A commit runs in a worker thread, one at a time: SQLite writes while the event loop
    goes on producing the next batch (the runtime still sends no frame of a batch before
    its commit returned). ``open``, ``load`` and ``close`` run inline. Errors from SQLite
    are raised as :class:`StoreError`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._head_ids: dict[_Head, int] | None = None  # every row of heads; None: not read
        self._sweep_at = SWEEP_HEADS
        self._pending: asyncio.Future[None] | None = None  # the commit under way, if any
        self._jobs_written: set[str] = set()
        """Jobs whose row this object committed (or loaded): later writes update their
        state only, so an input is encoded and written once (``INSERT_JOB`` never
        overwrites one either; this set only spares the encoding)."""

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self._path)!r})"

    async def open(self) -> None:
        """Lock the file for this process, then create or migrate the schema."""
        if self._conn is not None:
            return
        try:  # the descriptor is not inherited by child processes (close-on-exec)
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(f"{self._path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot open {self._path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(f"{self._path} is in use by another runtime process") from None
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            os.close(fd)
            raise StoreError(f"cannot open {self._path}: {exc}") from exc
        self._conn, self._lock_fd = conn, fd
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"{self._path}: cannot enable WAL (journal_mode={mode})")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate(conn)
            self._probe_write(conn)
        except BaseException as exc:
            await self.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot open {self._path}: {exc}") from exc
            raise

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        current = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
        known = _migrations()
        newest = known[-1][0] if known else 0
        if current > newest:
            raise StoreError(
                f"{self._path} has schema version {current}, this package knows up to {newest}"
            )
        for version, sql in known:
            if version <= current:
                continue
            try:  # executescript cannot run inside a transaction it did not open itself
                conn.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\n;INSERT INTO schema_version VALUES"
                    f" ({version}, {time.time()!r});\nCOMMIT;"
                )
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise

    @staticmethod
    def _probe_write(conn: sqlite3.Connection) -> None:
        """Refuse a database this process cannot write (a read-only file): a write in a
        transaction that is rolled back, so nothing changes."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"PRAGMA user_version = {int(version)}")
        finally:
            conn.execute("ROLLBACK")

    async def close(self) -> None:
        """Close the database and release the lock; a second call does nothing."""
        await self._idle()
        conn, fd = self._conn, self._lock_fd
        self._conn = self._lock_fd = None
        self._head_ids, self._sweep_at = None, SWEEP_HEADS
        self._jobs_written = set()
        if conn is not None:
            conn.close()
        if fd is not None:
            os.close(fd)  # drops the flock

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self!r} is not open")
        return self._conn

    def _read_heads(self, conn: sqlite3.Connection) -> dict[int, _Head]:
        """Every row of ``heads`` by id; the in-memory map the other way round is set too."""
        heads = {row[0]: row[1:] for row in conn.execute(_SELECT_HEADS)}
        self._head_ids = {head: head_id for head_id, head in heads.items()}
        return heads

    def _sweep(self, conn: sqlite3.Connection, ids: dict[_Head, int]) -> dict[_Head, int]:
        """Delete the heads no event refers to (in the caller's transaction); ``ids`` without
        them. A head deleted here is inserted again by the next event that needs it."""
        used: set[int] = set()
        for (data,) in conn.execute("SELECT data FROM session_chunks"):
            (count,) = COUNT.unpack_from(data)
            header = data[COUNT.size : COUNT.size + count * ENTRY.size]
            used.update(entry[2] for entry in ENTRY.iter_unpack(header))
        unused = {head_id for (head_id,) in conn.execute("SELECT head_id FROM heads")} - used
        if unused:
            conn.executemany("DELETE FROM heads WHERE head_id = ?", [(i,) for i in unused])
            ids = {head: head_id for head, head_id in ids.items() if head_id not in unused}
        self._sweep_at = max(SWEEP_HEADS, 2 * len(ids))
        return ids

    def _event_rows(
        self, conn: sqlite3.Connection, events: Sequence[tuple[str, StoredEvent]]
    ) -> list[Chunk]:
        """``session_chunks`` rows of ``events``, inserting the heads not stored yet."""
        ids = self._head_ids
        if ids is None:
            self._read_heads(conn)
            ids = self._head_ids
            assert ids is not None
        if len(ids) >= self._sweep_at:
            ids = self._head_ids = self._sweep(conn, ids)
        get = ids.get

        def head_id(key: _Head) -> int:
            found = get(key)
            if found is None:
                found = ids[key] = cast(int, conn.execute(_INSERT_HEAD, key).lastrowid)
            return found

        return column_rows(event_columns(events, head_id))

    async def commit(self, batch: Batch) -> None:
        """Apply ``batch`` in one transaction, in the order :class:`Batch` documents.

        Trims follow ``first_seq`` (§6.5 ack, buffer cap) and ``first_origin_seq``;
        revocations stay until done (§9.8.2). On any error nothing is applied.
        """
        conn = self._connection()
        if not batch:
            return
        await self._idle()
        # Shielded: a caller cancelled meanwhile leaves the thread to finish the commit,
        # and the next use of the connection waits for it (``_idle``).
        work = self._pending = asyncio.ensure_future(asyncio.to_thread(self._commit, conn, batch))
        work.add_done_callback(_retrieved)
        await asyncio.shield(work)

    async def _idle(self) -> None:
        """Wait for a commit a cancelled caller left running (its outcome is its caller's)."""
        pending = self._pending
        if pending is not None and not pending.done():
            await asyncio.wait([pending])

    def _commit(self, conn: sqlite3.Connection, batch: Batch) -> None:
        sessions = [session_row(s) for s in batch.sessions.values()]
        written = self._jobs_written
        new_jobs = [job_row(j) for j in batch.jobs.values() if j.job_id not in written]
        job_states = [job_state(j) for j in batch.jobs.values() if j.job_id in written]
        job_trims = [(j.job_id, j.first_origin_seq) for j in batch.jobs.values()]
        sweep_at = self._sweep_at
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(UPSERT_SESSION, sessions)
                conn.executemany(INSERT_JOB, new_jobs)
                conn.executemany(UPDATE_JOB, job_states)
                if batch.events:
                    conn.executemany(EVENT_SQL[0], self._event_rows(conn, batch.events))
                if batch.job_events:
                    conn.executemany(JOB_EVENT_SQL[0], log_rows(batch.job_events))
                trim_chunks(conn, EVENT_SQL, [(s[0], s[5]) for s in sessions])
                trim_chunks(conn, JOB_EVENT_SQL, job_trims)
                forget_sessions = [(sid,) for sid in batch.forget_sessions]
                conn.executemany("DELETE FROM sessions WHERE session_id = ?", forget_sessions)
                conn.executemany(EVENT_SQL[4], forget_sessions)
                forget_jobs = [(jid,) for jid in batch.forget_jobs]
                conn.executemany("DELETE FROM jobs WHERE job_id = ?", forget_jobs)
                conn.executemany(JOB_EVENT_SQL[4], forget_jobs)
                conn.executemany(
                    "INSERT OR IGNORE INTO revocations (credential_id, job_id) VALUES (?, ?)",
                    [(r.credential_id, r.job_id) for r in batch.revocations_added],
                )
                conn.executemany(
                    "DELETE FROM revocations WHERE credential_id = ?",
                    [(cid,) for cid in batch.revocations_done],
                )
                conn.execute("COMMIT")
                written.update(row[0] for row in new_jobs)
                written.difference_update(batch.forget_jobs)
            except BaseException:
                # heads inserted or swept in memory only: read the table again when needed
                self._head_ids, self._sweep_at = None, sweep_at
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except (sqlite3.Error, struct.error) as exc:  # struct: a value that cannot be packed
            raise StoreError(f"{self._path}: commit failed: {exc}") from exc

    async def load(self) -> Snapshot:
        """Everything held: sessions in creation order, jobs by id, logs oldest first."""
        conn = self._connection()
        await self._idle()
        try:
            with _gc_paused():
                return self._load(conn)
        except (sqlite3.Error, struct.error) as exc:
            raise StoreError(f"{self._path}: load failed: {exc}") from exc
        except KeyError as exc:  # only heads[head_id] raises it
            raise StoreError(f"{self._path}: load failed: an event has no head {exc}") from None

    def _load(self, conn: sqlite3.Connection) -> Snapshot:
        snapshot = Snapshot()
        heads = self._read_heads(conn)
        chunks = grouped_chunks(conn.execute(EVENT_SQL[5]).fetchall())
        start, entry_size = COUNT.size, ENTRY.size
        count_of, entries_of = COUNT.unpack_from, ENTRY.iter_unpack
        for row in conn.execute(SELECT_SESSIONS).fetchall():
            session = StoredSession(
                row[0], row[1], loads(row[2]), row[3], row[4], row[5], row[6], row[7], row[8],
                loads(row[9]),
            )  # fmt: skip
            snapshot.sessions.append(session)
            held = chunks.get(row[0])
            if held is None:
                continue
            events: list[StoredEvent] = []
            append = events.append
            for data in held[0]:
                pos = end = start + count_of(data)[0] * entry_size
                for seq, origin_seq, head_id, size in entries_of(data[start:end]):
                    end = pos + size
                    job_id, head, gate = heads[head_id]
                    append(StoredEvent(seq, job_id, origin_seq, head, data[pos:end], gate))
                    pos = end
            if held[1]:  # seqs out of order across chunks: sort, the later chunk wins
                by_seq = {event.seq: event for event in events}
                events = [by_seq[seq] for seq in sorted(by_seq)]
            snapshot.events[row[0]] = events
        logs = grouped_chunks(conn.execute(JOB_EVENT_SQL[5]).fetchall())
        for row in conn.execute(SELECT_JOBS).fetchall():
            snapshot.jobs.append(job_of_row(row))
            held = logs.get(row[0])
            if held is not None:
                snapshot.job_events[row[0]] = LazyJobLog(*held)
        snapshot.revocations = list(starmap(StoredRevocation, conn.execute(_SELECT_REVOCATIONS)))
        self._jobs_written = {job.job_id for job in snapshot.jobs}
        return snapshot
