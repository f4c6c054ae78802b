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

from arcp.protocol.journal import Journal
from arcp.runtime.revocation import MemoryRevocationOutbox, PendingRevocation
from arcp.store.base import Store, StoredRevocation

__all__ = ["JournaledRevocationOutbox", "Persister"]

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
        """Commit every change recorded so far (waits for a commit already under way)."""
        if not self.journal and not self._lock.locked():
            return
        async with self._lock:
            if not self.journal:
                return
            batch = self.journal.take()
            try:
                await self.store.commit(batch)
            except Exception:
                # Availability over durability: the runtime goes on, the operator is told.
                log.exception(
                    "store commit failed: %d events and %d jobs are not durable",
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


class JournaledRevocationOutbox(MemoryRevocationOutbox):
    """The revocation outbox kept in the store, so a restart retries what is pending (§9.8.2).

    Only credential ids reach the store, never values (§14).
    """

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self._journal = journal

    def add(self, entry: PendingRevocation) -> None:
        """Record a credential to revoke, durably."""
        if entry.credential_id not in self._entries:
            self._journal.revocation_added(entry.credential_id, entry.job_id)
        super().add(entry)

    def done(self, credential_id: str) -> None:
        """Forget a revoked credential, durably."""
        super().done(credential_id)
        self._journal.revocation_done(credential_id)

    def load(self, stored: list[StoredRevocation]) -> None:
        """Take back the revocations a previous process left pending."""
        for entry in stored:
            super().add(PendingRevocation(entry.credential_id, entry.job_id))
