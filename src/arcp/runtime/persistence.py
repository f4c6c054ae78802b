"""Writing the runtime's journal to its store, batch by batch (§6.3, §9.8.2).

:class:`Persister` commits whatever the core recorded since the last commit: in the
background soon after a change, and on demand before a connection writes frames, so an
event a client has received is always in the store first. Commits run one at a time and in
order; a commit covers every change recorded up to its start, however many events that is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from arcp.protocol.journal import Journal
from arcp.runtime.revocation import MemoryRevocationOutbox, PendingRevocation
from arcp.store.base import Batch, Store

__all__ = ["JournaledRevocationOutbox", "Persister", "merged"]

log = logging.getLogger("arcp.runtime.store")


class Persister:
    """Commits ``journal`` to ``store``; :meth:`flush` returns once everything recorded
    before the call is committed."""

    def __init__(self, store: Store, journal: Journal) -> None:
        self.store = store
        self.journal = journal
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failed: Batch | None = None

    def start(self) -> None:
        """Commit in the background from now on, soon after each first change."""
        self.journal.wake = self._wake.set
        if self.journal:
            self._wake.set()
        self._task = asyncio.create_task(self._run(), name="arcp-store-commit")

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Commit every change recorded so far (waits for a commit already under way).

        The commit itself is shielded: a caller cancelled meanwhile (a writer whose
        connection closed) must not abandon a batch already taken from the journal.
        """
        if not self.journal and not self._lock.locked() and self._failed is None:
            return
        await asyncio.shield(self._commit())

    async def _commit(self) -> None:
        async with self._lock:
            if not self.journal and self._failed is None:
                return
            batch = self.journal.take()
            if self._failed is not None:
                batch = merged(self._failed, batch)
                self._failed = None
            try:
                await self.store.commit(batch)
            except Exception:
                # Availability over durability: the runtime goes on, the operator is told,
                # and the batch is tried again with the next one.
                self._failed = batch
                log.exception(
                    "store commit failed: %d events and %d jobs are not durable yet",
                    len(batch.events),
                    len(batch.jobs),
                )

    async def aclose(self) -> None:
        """Stop the background committer after one last commit."""
        self.journal.wake = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


def merged(older: Batch, newer: Batch) -> Batch:
    """One batch with the effect of committing ``older`` then ``newer``."""
    sessions = {k: v for k, v in older.sessions.items() if k not in newer.forget_sessions}
    jobs = {k: v for k, v in older.jobs.items() if k not in newer.forget_jobs}
    sessions.update(newer.sessions)
    jobs.update(newer.jobs)
    return Batch(
        sessions=sessions,
        events=older.events + newer.events,
        jobs=jobs,
        job_events=older.job_events + newer.job_events,
        forget_sessions=(older.forget_sessions - newer.sessions.keys()) | newer.forget_sessions,
        forget_jobs=(older.forget_jobs - newer.jobs.keys()) | newer.forget_jobs,
        revocations_added=older.revocations_added + newer.revocations_added,
        revocations_done=older.revocations_done + newer.revocations_done,
    )


class JournaledRevocationOutbox(MemoryRevocationOutbox):
    """The revocation outbox kept in the store, so a restart retries what is pending (§9.8.2).

    A credential is stored when it is issued, not only when its job ends: a process that
    dies while the job runs leaves it in the store, and the next process (or, in a cluster,
    the node that takes over the dead one's jobs) revokes it. Only credential ids reach the
    store, never values (§14).
    """

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self._journal = journal
        self._stored: set[str] = set()

    def issued(self, entry: PendingRevocation) -> None:
        """Record a live credential durably; it is revoked when its job ends (or after a crash)."""
        self._remember(entry.credential_id, entry.job_id)

    def add(self, entry: PendingRevocation) -> None:
        """Record a credential to revoke, durably."""
        self._remember(entry.credential_id, entry.job_id)
        super().add(entry)

    def _remember(self, credential_id: str, job_id: str) -> None:
        if credential_id not in self._stored:
            self._stored.add(credential_id)
            self._journal.revocation_added(credential_id, job_id)

    def done(self, credential_id: str) -> None:
        """Forget a revoked credential, durably."""
        super().done(credential_id)
        self._stored.discard(credential_id)
        self._journal.revocation_done(credential_id)

    def load(self, entries: Iterable[PendingRevocation]) -> None:
        """Take revocations the store holds as pending (not recorded again)."""
        for entry in entries:
            self._stored.add(entry.credential_id)
            super().add(entry)
