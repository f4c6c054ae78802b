"""What only the SQLite store promises: WAL, one owning process, versioned schema, crash safety."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from arcp.store import Batch, StoredEvent, StoredSession, StoreError, store_from_address
from arcp.store.sqlite import SQLiteStore

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
    assert {"sessions", "session_events", "jobs", "job_events", "revocations"} <= tables


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
    events = loaded.events["sess_1"]
    assert len(events) == 100_000
    assert [e.seq for e in events] == list(range(1, 100_001))
    assert all(e.payload == payload for e in events)


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
