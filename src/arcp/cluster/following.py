"""Following jobs that run on another node, for the sessions here (§7.6, §8.3).

:class:`RemoteJobs` keeps one :class:`~arcp.cluster.mirror.Mirror` per remote job that a
session here observes, reads the job's new log entries from the shared database when a
notification says it grew, and hands them to the mirror (sans-IO), which re-stamps them
into each observer's own ``event_seq`` space. It does database I/O only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from arcp.cluster.mirror import Mirror
from arcp.protocol.runtime_core import RuntimeCore
from arcp.protocol.runtime_session import RuntimeSession
from arcp.protocol.subscriptions import attach
from arcp.store.cluster import ClusterDatabase

__all__ = ["RemoteJobs", "Spawn"]

log = logging.getLogger("arcp.cluster")

Spawn = Callable[[Coroutine[Any, Any, None]], None]
"""Runs a coroutine in the background, owned by the node (cancelled when it closes)."""


class RemoteJobs:
    """The remote jobs the sessions of this node observe, one mirror each."""

    def __init__(
        self, core: RuntimeCore[Any], db: ClusterDatabase, spawn: Spawn, pump: Callable[[], None]
    ) -> None:
        """``pump`` takes what the core made ready once a read was delivered."""
        self.core = core
        self.db = db
        self._spawn = spawn
        self._pump = pump
        self.mirrors: dict[str, Mirror] = {}

    def grew(self, job_id: str) -> None:
        """A notification said ``job_id``'s log grew: read it if a session here follows it."""
        mirror = self.mirrors.get(job_id)
        if mirror is not None:
            self.pull(mirror)

    def pull(self, mirror: Mirror) -> None:
        """Read the remote job's new log entries and deliver them (one read at a time)."""
        if mirror.stale:
            return
        mirror.stale = True
        self._spawn(self._read(mirror))

    async def _read(self, mirror: Mirror) -> None:
        while mirror.stale:
            mirror.stale = False
            for session_id, (session, _) in list(mirror.observers.items()):
                if self.core.sessions.get(session_id) is not session:  # expired or moved
                    mirror.forget(session_id)
            entries = await self.db.job_events(mirror.job_id, mirror.low)
            mirror.deliver(entries)
            self._pump()
        if not mirror.observers:
            self.mirrors.pop(mirror.job_id, None)

    def read_all(self) -> None:
        """Listening was interrupted: read every followed job's log again."""
        for mirror in list(self.mirrors.values()):
            self.pull(mirror)

    def cursors(self) -> dict[str, dict[str, int]]:
        """Session id → job id → the last entry that session was given of that remote job."""
        cursors: dict[str, dict[str, int]] = {}
        for job_id, mirror in self.mirrors.items():
            for session_id, (_, cursor) in mirror.observers.items():
                cursors.setdefault(session_id, {})[job_id] = cursor
        return cursors

    def forget(self, session_id: str) -> dict[str, int]:
        """Stop delivering to a session that leaves this node; returns its cursors."""
        cursors: dict[str, int] = {}
        for job_id, mirror in list(self.mirrors.items()):
            cursor = mirror.forget(session_id)
            if cursor is not None:
                cursors[job_id] = cursor
            if not mirror.observers:
                del self.mirrors[job_id]
        return cursors

    async def observe(self, session: RuntimeSession, job_id: str, cursor: int) -> None:
        """Deliver ``job_id``'s entries after ``cursor`` to ``session``, then follow it live."""
        local = self.core.jobs.jobs.get(job_id)
        if local is not None:
            attach(session, local, list(local.log.after(cursor)))
            if local.terminal:
                session.subscriptions.discard(job_id)
            return
        stored = await self.db.job(job_id)
        if stored is None:
            session.subscriptions.discard(job_id)
            return
        self.follow(session, job_id, stored.trace_id, cursor)

    def follow(self, session: RuntimeSession, job_id: str, trace_id: str, cursor: int) -> None:
        """Re-stamp another node's job into ``session`` from after ``cursor`` (§8.3)."""
        mirror = self.mirrors.get(job_id)
        if mirror is None:
            mirror = self.mirrors[job_id] = Mirror(job_id, trace_id)
        mirror.observe(session, cursor)
        self.pull(mirror)
