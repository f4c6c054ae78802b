"""What only the SQLite store promises: WAL, one owning process, versioned schema, crash safety."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from arcp.store import (
    Batch,
    StoredEvent,
    StoredJobEvent,
    StoredSession,
    StoreError,
    store_from_address,
)
from arcp.store import sqlite as sqlite_store
from arcp.store.sqlite import SQLiteStore
from tests.store.test_contract import job

_CHILD = """
import asyncio, sys, time
from arcp.store import Batch, StoredEvent, StoredSession
from arcp.store.sqlite import SQLiteStore

async def main() -> None:
    store = SQLiteStore(sys.argv[1])
    await store.open()
    for n in range(int(sys.argv[2])):
        events = [("sess_1", StoredEvent(n * 100 + i, "job_1", i, b"h", b"p%d" % i, 0))
                  for i in range(1, 101)]
        session = StoredSession("sess_1", "alice", [], b"d", 60.0, 1, n * 100 + 100, 0, None)
        await store.commit(Batch(sessions={"sess_1": session}, events=events))
    print("ready", flush=True)
    time.sleep(600)

asyncio.run(main())
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "arcp.sqlite3"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(path)
    await store.open()
    yield store
    await store.close()


async def start_child(path: Path, batches: int) -> asyncio.subprocess.Process:
    """A process that opens the store, commits ``batches`` of 100 events, then sleeps."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, str(path), str(batches), stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    assert await asyncio.wait_for(child.stdout.readline(), 60) == b"ready\n"
    return child


async def kill(child: asyncio.subprocess.Process) -> None:
    child.send_signal(signal.SIGKILL)
    assert await child.wait() == -signal.SIGKILL


def session(last_seq: int) -> StoredSession:
    return StoredSession("sess_1", "alice", [], b"d", 60.0, 1, last_seq, 0, None)


def test_the_address_names_a_sqlite_store(path: Path) -> None:
    assert isinstance(store_from_address(f"sqlite:{path}"), SQLiteStore)


async def test_the_database_runs_in_wal_mode(store: SQLiteStore, path: Path) -> None:
    assert sql(path, "PRAGMA journal_mode") == [("wal",)]


async def test_a_second_store_on_the_same_file_is_refused_until_the_first_closes(
    store: SQLiteStore, path: Path
) -> None:
    second = SQLiteStore(path)
    with pytest.raises(StoreError, match="in use by another runtime process"):
        await second.open()
    await store.close()
    await second.open()
    await second.close()


async def test_a_killed_owner_leaves_the_file_usable(path: Path) -> None:
    child = await start_child(path, batches=1)
    try:
        with pytest.raises(StoreError, match="in use"):
            await SQLiteStore(path).open()
    finally:
        await kill(child)
    store = SQLiteStore(path)
    await store.open()
    await store.close()


async def test_every_commit_survives_a_sigkill(path: Path) -> None:
    """§6.3: what a runtime committed before it was killed is there when it starts again."""
    child = await start_child(path, batches=30)
    await kill(child)
    store = SQLiteStore(path)
    await store.open()
    try:
        loaded = await store.load()
    finally:
        await store.close()
    assert loaded.sessions == [session(3000)]
    events = loaded.events["sess_1"]
    assert [e.seq for e in events] == list(range(1, 3001))
    assert events[-1] == StoredEvent(3000, "job_1", 100, b"h", b"p100", 0)


async def test_migrations_are_recorded_once(path: Path) -> None:
    store = SQLiteStore(path)
    for _ in range(2):  # the same object reopened, then a new one
        await store.open()
        await store.open()  # opening an open store does nothing
        await store.close()
        store = SQLiteStore(path)
    tables = {name for (name,) in sql(path, "SELECT name FROM sqlite_master")}
    assert sql(path, "SELECT version FROM schema_version") == [(1,)]
    assert {"sessions", "heads", "session_chunks", "jobs", "job_chunks", "revocations"} <= tables


async def test_a_newer_schema_is_refused(path: Path) -> None:
    store = SQLiteStore(path)
    await store.open()
    await store.close()
    sql(path, "INSERT INTO schema_version VALUES (9999, 0)")
    with pytest.raises(StoreError, match="schema version 9999"):
        await store.open()
    assert_unlocked(path)


@pytest.fixture
def not_a_directory(tmp_path: Path) -> Path:
    (tmp_path / "file").write_bytes(b"")
    return tmp_path / "file" / "below" / "a.sqlite3"


@pytest.fixture
def garbage(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database, " * 512)
    return path


async def test_a_file_that_is_no_database_is_refused(garbage: Path) -> None:
    path = garbage
    with pytest.raises(StoreError, match="cannot open"):
        await SQLiteStore(path).open()
    assert_unlocked(path)


async def test_using_a_closed_store_is_an_error(path: Path) -> None:
    store = SQLiteStore(path)
    with pytest.raises(StoreError, match="not open"):
        await store.load()
    with pytest.raises(StoreError, match="not open"):
        await store.commit(Batch())


async def test_a_hundred_thousand_events_come_back(store: SQLiteStore, path: Path) -> None:
    payload = b'{"kind":"log","body":{"message":"' + b"x" * 100 + b'"}}'
    for n in range(100):
        events = [
            ("sess_1", StoredEvent(seq, "job_1", seq, b'"type":"job.event"', payload, 0))
            for seq in range(n * 1000 + 1, n * 1000 + 1001)
        ]
        await store.commit(Batch(sessions={"sess_1": session(n * 1000 + 1000)}, events=events))
    await store.close()
    again = SQLiteStore(path)
    await again.open()
    try:
        loaded = await again.load()
    finally:
        await again.close()
    assert sql(path, "SELECT COUNT(*) FROM session_chunks") == [(100,)]  # one per commit
    events = loaded.events["sess_1"]
    assert len(events) == 100_000
    assert [e.seq for e in events] == list(range(1, 100_001))
    assert all(e.payload == payload for e in events)


def head(job_id: str, kind: str = "job.event") -> bytes:
    return b'"type":"%s","job_id":"%s"' % (kind.encode(), job_id.encode())


def ev(seq: int, job_id: str = "job_1", gate: int = 0, kind: str = "job.event") -> StoredEvent:
    return StoredEvent(seq, job_id, seq, head(job_id, kind), b'{"n":%d}' % seq, gate)


async def commit_events(store: SQLiteStore, *events: StoredEvent, first_seq: int = 1) -> None:
    """Append ``events`` to ``sess_1`` (whose buffer then starts at ``first_seq``)."""
    last_seq = events[-1].seq if events else first_seq - 1
    stored = StoredSession("sess_1", "alice", [], b"d", 60.0, first_seq, last_seq, 0, None)
    await store.commit(Batch(sessions={"sess_1": stored}, events=[("sess_1", e) for e in events]))


async def reloaded(path: Path) -> list[StoredEvent]:
    """``sess_1``'s events as a new store object on the same file reads them."""
    store = SQLiteStore(path)
    await store.open()
    try:
        return (await store.load()).events.get("sess_1", [])
    finally:
        await store.close()


def head_count(path: Path) -> int:
    return sql(path, "SELECT COUNT(*) FROM heads")[0][0]


async def test_the_head_job_and_gate_of_a_job_s_events_are_stored_once(
    store: SQLiteStore, path: Path
) -> None:
    events = [ev(seq, gate=1 if seq % 10 == 0 else 0) for seq in range(1, 101)]
    await commit_events(store, *events[:50])
    await commit_events(store, *events[50:])
    assert sql(path, "SELECT job_id, head, gate FROM heads ORDER BY gate") == [
        ("job_1", head("job_1"), 0),
        ("job_1", head("job_1"), 1),
    ]
    columns = {row[1] for row in sql(path, "PRAGMA table_info(session_chunks)")}
    assert columns == {"chunk_id", "session_id", "first_seq", "last_seq", "data"}
    await store.close()
    assert await reloaded(path) == events


async def test_events_that_differ_only_in_job_or_gate_come_back_as_committed(
    store: SQLiteStore, path: Path
) -> None:
    same = b'"type":"job.event"'
    events = [
        StoredEvent(1, "job_1", 1, same, b"a", 0),
        StoredEvent(2, "job_2", 1, same, b"b", 0),
        StoredEvent(3, "job_1", 2, same, b"c", 2),
        StoredEvent(4, "job_1", 3, same + b",", b"d", 0),
    ]
    await commit_events(store, *events)
    assert head_count(path) == 4
    assert (await store.load()).events["sess_1"] == events


async def test_a_reopened_store_reuses_the_stored_heads(store: SQLiteStore, path: Path) -> None:
    await commit_events(store, ev(1), ev(2, "job_2"))
    await store.close()
    for seq, load_first in ((3, False), (5, True)):  # heads read by the first commit or load()
        again = SQLiteStore(path)
        await again.open()
        if load_first:
            await again.load()
        await commit_events(again, ev(seq), ev(seq + 1, "job_2"))
        await again.close()
    assert head_count(path) == 2
    assert await reloaded(path) == [ev(n, "job_2" if n % 2 == 0 else "job_1") for n in range(1, 7)]


async def test_heads_no_event_refers_to_are_swept(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "SWEEP_HEADS", 2)
    store = SQLiteStore(path)
    await store.open()
    try:
        await commit_events(store, ev(1, "job_1"), ev(2, "job_2"), ev(3, "job_3"))
        await commit_events(store, ev(4, "job_4"))  # 3 heads: a sweep, all of them in use
        assert head_count(path) == 4
        await commit_events(store, ev(5, "job_5"), first_seq=5)  # events 1 to 4 trimmed
        await commit_events(store, ev(6, "job_6"), first_seq=5)
        assert head_count(path) == 6  # the next sweep waits for twice the 3 heads in use
        await commit_events(store, ev(7, "job_7"), first_seq=5)
        assert sql(path, "SELECT job_id FROM heads ORDER BY job_id") == [
            ("job_5",),
            ("job_6",),
            ("job_7",),
        ]
        await commit_events(store, ev(8, "job_1"), first_seq=5)  # a swept head comes back
        assert head_count(path) == 4
    finally:
        await store.close()
    assert await reloaded(path) == [ev(5, "job_5"), ev(6, "job_6"), ev(7, "job_7"), ev(8)]


async def test_a_failed_commit_leaves_no_head_behind(store: SQLiteStore, path: Path) -> None:
    broken = StoredJobEvent(1, cast(Any, None), b"", 0)  # kind NOT NULL: fails after events
    session = StoredSession("sess_1", "alice", [], b"d", 60.0, 1, 1, 0, None)
    batch = Batch({"sess_1": session}, [("sess_1", ev(1))], job_events=[("job_1", broken)])
    with pytest.raises(StoreError, match="commit failed"):
        await store.commit(batch)
    assert head_count(path) == 0
    await commit_events(store, ev(1), ev(2))
    assert head_count(path) == 1
    assert (await store.load()).events["sess_1"] == [ev(1), ev(2)]


async def test_an_event_without_its_head_is_a_load_error(store: SQLiteStore, path: Path) -> None:
    await commit_events(store, ev(1))
    sql(path, "DELETE FROM heads")
    with pytest.raises(StoreError, match="load failed: an event has no head"):
        await store.load()


@pytest.mark.parametrize("enabled", [True, False])
async def test_load_leaves_garbage_collection_as_it_found_it(
    store: SQLiteStore, enabled: bool
) -> None:
    await commit_events(store, ev(1))
    if not enabled:
        gc.disable()
    try:
        await store.load()
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def sql(path: Path, statement: str) -> list[Any]:
    """Run one statement on the database file behind the store's back."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        return conn.execute(statement).fetchall()


def assert_unlocked(path: Path) -> None:
    """Nobody holds the store's lock (a refused open must not keep it)."""
    fd = os.open(f"{path}.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


async def test_an_unusable_path_is_refused(not_a_directory: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        await SQLiteStore(not_a_directory).open()


def chunks(path: Path, table: str = "session_chunks") -> list[tuple[int, int]]:
    """``(first_seq, last_seq)`` of every chunk of ``table``, in commit order."""
    return sql(path, f"SELECT first_seq, last_seq FROM {table} ORDER BY chunk_id")


async def test_a_commit_stores_each_session_s_events_in_one_chunk(
    store: SQLiteStore, path: Path
) -> None:
    await commit_events(store, *[ev(seq) for seq in range(1, 11)])
    await commit_events(store, ev(11, "job_2"), ev(12))
    assert chunks(path) == [(1, 10), (11, 12)]
    assert (await store.load()).events["sess_1"] == [ev(seq) for seq in range(1, 11)] + [
        ev(11, "job_2"),
        ev(12),
    ]


async def test_an_event_committed_again_replaces_the_older_one(
    store: SQLiteStore, path: Path
) -> None:
    await commit_events(store, ev(1), ev(2), ev(3), ev(4))
    await commit_events(store, ev(3, "job_2"), ev(5), ev(2, gate=1))  # out of order
    await commit_events(store, ev(6), ev(6, "job_3"))  # twice in one batch: the last wins
    assert chunks(path) == [(1, 4), (2, 5), (6, 6)]
    expected = [ev(1), ev(2, gate=1), ev(3, "job_2"), ev(4), ev(5), ev(6, "job_3")]
    assert (await store.load()).events["sess_1"] == expected
    await store.close()
    assert await reloaded(path) == expected


async def test_a_trim_rewrites_the_chunk_it_cuts_through(store: SQLiteStore, path: Path) -> None:
    await commit_events(store, ev(1), ev(2), ev(3))
    await commit_events(store, ev(4), ev(5), ev(6))
    await commit_events(store, first_seq=5)
    assert chunks(path) == [(5, 6)]
    await commit_events(store, first_seq=1)  # an older start does not bring events back
    assert (await store.load()).events["sess_1"] == [ev(5), ev(6)]


async def test_a_job_s_log_is_stored_in_chunks(store: SQLiteStore, path: Path) -> None:
    def entry(seq: int, kind: int = 0) -> StoredJobEvent:
        return StoredJobEvent(seq, kind, b'{"n":%d}' % seq, seq % 2)

    await store.commit(Batch(job_events=[("job_1", entry(n)) for n in (1, 2, 3)]))
    await store.commit(Batch(job_events=[("job_1", entry(3, 1)), ("job_1", entry(4))]))
    assert chunks(path, "job_chunks") == [(1, 3), (3, 4)]
    await store.commit(Batch(forget_jobs={"job_1"}))
    assert chunks(path, "job_chunks") == []


async def test_a_job_s_log_is_decoded_on_first_use(store: SQLiteStore, path: Path) -> None:
    """§7.6: ``load`` hands a job's log back undecoded; read, it holds what was committed,
    of two entries with one origin seq the first."""

    def entry(seq: int, kind: int = 0) -> StoredJobEvent:
        return StoredJobEvent(seq, kind, b'{"n":%d}' % seq, seq % 2)

    await store.commit(
        Batch(jobs={"job_1": job()}, job_events=[("job_1", entry(n)) for n in (1, 2, 3)])
    )
    await store.commit(Batch(job_events=[("job_1", entry(3, 1)), ("job_1", entry(4))]))
    log = (await store.load()).job_events["job_1"]
    assert not isinstance(log, list)
    expected = [entry(1), entry(2), entry(3), entry(4)]
    assert list(log) == expected
    assert log == expected
    assert (len(log), log[-1], log[1:3]) == (4, entry(4), expected[1:3])


async def test_a_job_s_input_is_written_once(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1 MiB input reaches the file with the job's first record only: the status changes
    after it write the job's state (every statement SQLite runs is traced, with its values)."""
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    store = SQLiteStore(path)
    await store.open()
    try:
        big = {"blob": "x" * (1 << 20)}
        for status in ("pending", "running", "running", "cancelled", "error"):
            await store.commit(Batch(jobs={"job_1": job(input=big, status=status)}))
        assert (await store.load()).jobs[0].input == big
    finally:
        await store.close()
    written = sum(len(s) for s in statements if " jobs " in s)
    assert 2 * (1 << 20) < written < 3 * (1 << 20)  # the input once, hex-encoded (2 chars a byte)


async def test_a_cancelled_commit_finishes_before_the_next_use(store: SQLiteStore) -> None:
    """A commit runs in a worker thread: a caller cancelled meanwhile leaves it to finish,
    and the next commit or load waits for it instead of sharing the connection."""
    first = asyncio.ensure_future(
        store.commit(Batch({"sess_1": session(2)}, [("sess_1", ev(1)), ("sess_1", ev(2))]))
    )
    await asyncio.sleep(0)  # the thread has the batch
    first.cancel()
    await store.commit(Batch({"sess_1": session(3)}, [("sess_1", ev(3))]))
    loaded = await store.load()
    assert [e.seq for e in loaded.events["sess_1"]] == [1, 2, 3]
    with contextlib.suppress(asyncio.CancelledError):
        await first
