"""``make_store``: one store address per test, for every store kind (contract tests).

Calling ``make_store()`` again gives a new store object over the same state, as a
restarted runtime would open it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from arcp.store import MemoryStore, Store

StoreFactory = Callable[[], Store]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    kind: str = request.param
    if kind == "memory":
        shared = MemoryStore()
        return lambda: shared
    if kind == "sqlite":
        from arcp.store.sqlite import SQLiteStore

        path = tmp_path / "arcp.sqlite3"
        return lambda: SQLiteStore(path)
    dsn: str = request.getfixturevalue("postgres_dsn")
    from arcp.store.postgres import PostgresStore

    return lambda: PostgresStore(dsn)
