"""What a runtime must remember, and the protocol every store implements (§6.3, §6.5, §7, §9.8).

The runtime keeps its working set in memory and writes every change through a
:class:`Store` in batches (:class:`Batch`): one commit per batch, never one per event. Before
a batch of frames leaves for a client, the batch holding them is committed, so an event a
client has seen is never lost by a crash. At start the runtime reads a :class:`Snapshot` back
and carries on: detached sessions become resumable again, running jobs end with
``INTERNAL_ERROR`` and pending credential revocations are retried.

The records are plain data (JSON-able values plus ``bytes``) owned by the core
(:mod:`arcp.protocol.records`) and re-exported here: a store needs no knowledge of the
protocol objects, and the core never imports a store. Resume tokens are kept only as their
SHA-256 digest (§14).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from arcp.protocol.batch_columns import GATE, HEAD, ORIGIN, PAYLOAD, EventColumns, JobEventColumns
from arcp.protocol.records import (
    JOB_STATE_FIELDS,
    Batch,
    Snapshot,
    StoredEvent,
    StoredJob,
    StoredJobEvent,
    StoredRevocation,
    StoredSession,
)
from arcp_gen.errors import ARCPException

__all__ = [
    "GATE",
    "HEAD",
    "JOB_STATE_FIELDS",
    "ORIGIN",
    "PAYLOAD",
    "Batch",
    "EventColumns",
    "JobEventColumns",
    "Snapshot",
    "Store",
    "StoreError",
    "StoredEvent",
    "StoredJob",
    "StoredJobEvent",
    "StoredRevocation",
    "StoredSession",
]


class StoreError(ARCPException):
    """A store could not be opened or used (bad address, schema too new, locked)."""


@runtime_checkable
class Store(Protocol):
    """Durable runtime state, owned by one runtime process (SQLite, memory) or shared by
    several nodes, each loading only what it owns (PostgreSQL, see :mod:`arcp.cluster`).

    ``open`` creates or migrates the schema; ``commit`` applies one :class:`Batch`
    atomically (all or nothing); ``load`` reads everything back; ``close`` releases it.
    """

    async def open(self) -> None: ...

    async def commit(self, batch: Batch) -> None: ...

    async def load(self) -> Snapshot: ...

    async def close(self) -> None: ...
