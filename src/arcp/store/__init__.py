"""Durable runtime state behind one protocol: memory, SQLite and PostgreSQL stores (§6.3, §7).

:func:`open_store` turns an address into a store: ``memory``, ``sqlite:PATH`` or a
``postgresql://`` URL. Pass the store to :class:`arcp.Runtime` (``store=``).
"""

from __future__ import annotations

from arcp.store.base import (
    Batch,
    EventColumns,
    JobEventColumns,
    Snapshot,
    Store,
    StoredEvent,
    StoredJob,
    StoredJobEvent,
    StoredRevocation,
    StoredSession,
    StoreError,
)
from arcp.store.memory import MemoryStore

__all__ = [
    "Batch",
    "EventColumns",
    "JobEventColumns",
    "MemoryStore",
    "Snapshot",
    "Store",
    "StoreError",
    "StoredEvent",
    "StoredJob",
    "StoredJobEvent",
    "StoredRevocation",
    "StoredSession",
    "store_from_address",
]


def store_from_address(address: str, node_id: str = "") -> Store:
    """The store an address names: ``memory``, ``sqlite:PATH`` or ``postgresql://...``.

    ``node_id`` names this runtime among several sharing a PostgreSQL database.
    """
    if address == "memory":
        return MemoryStore()
    if address.startswith("sqlite:"):
        from arcp.store.sqlite import SQLiteStore

        path = address.removeprefix("sqlite:")
        if not path:
            raise StoreError("sqlite: needs a path, e.g. sqlite:./arcp.sqlite3")
        return SQLiteStore(path)
    if address.startswith(("postgresql://", "postgres://")):
        from arcp.store.postgres import PostgresStore

        return PostgresStore(address, node_id=node_id)
    raise StoreError(f"unknown store {address!r}: use memory, sqlite:PATH or postgresql://...")
