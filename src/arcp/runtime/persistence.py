"""Writing the runtime's journal to its store, batch by batch (§6.3, §9.8.2).

:class:`Persister` commits whatever the core recorded since the last commit: in the
background soon after a change, and on demand before a connection writes frames, so an
event a client has received is always in the store first. Commits run one at a time and in
order; a commit covers every change recorded up to its start, however many events that is.
When the store fails (a full disk, a database that went away) nothing is sent that is not
committed, so no ``event_seq`` is ever reused with other content after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Generator, Iterable

from arcp.protocol.flow import Valve
from arcp.protocol.journal import Journal
from arcp.runtime.revocation import MemoryRevocationOutbox, PendingRevocation
from arcp.store.base import Batch, Store

__all__ = ["JournaledRevocationOutbox", "Persister", "merged"]

log = logging.getLogger("arcp.runtime.store")


class Persister:
    """Commits ``journal`` to ``store``; :meth:`flush` returns True once everything recorded
    before the call is committed, False while the store is failing.

    A failed commit is never dropped: its batch is merged with the next and tried again in
    the background, with backoff, until the store takes it. Meanwhile :attr:`failing` is
    True and ``valve`` is shut, so agents wait and new jobs are refused (§13.2); writers send
    no event whose commit has not succeeded. One log line says the store failed, one that it
    recovered (and a reminder every ``remind_sec`` in between), never a traceback per try.
    """

    def __init__(
        self,
        store: Store,
        journal: Journal,
        valve: Valve | None = None,
        *,
        retry_min_sec: float = 0.05,
        retry_max_sec: float = 2.0,
        remind_sec: float = 60.0,
    ) -> None:
        self.store = store
        self.journal = journal
        self.valve = valve if valve is not None else Valve()
        self.on_change: Callable[[], None] | None = None
        """Called when the store starts failing and when it recovers (to wake writers)."""
        self._retry = (retry_min_sec, retry_max_sec)
        self._remind_sec = remind_sec
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failed: Batch | None = None
        self._failing_since: float | None = None
        self._reminded_at = 0.0
        self._attempts = 0

    @property
    def failing(self) -> bool:
        """True from a failed commit until the next successful one."""
        return self._failing_since is not None

    def start(self) -> None:
        """Commit in the background from now on, soon after each :meth:`poke`."""
        if self.journal:
            self.poke()
        self._task = asyncio.create_task(self._run(), name="arcp-store-commit")

    def poke(self) -> None:
        """The journal has changes (its ``due`` flag, which this clears): commit soon."""
        self.journal.due = False
        self._wake.set()

    async def _run(self) -> None:
        delay = self._retry[0]
        while True:
            await self._wake.wait()
            self._wake.clear()
            if await self.flush():
                delay = self._retry[0]
                continue
            await asyncio.sleep(delay)  # then try again, whether or not anything changed
            delay = min(delay * 2, self._retry[1])
            self._wake.set()

    async def flush(self) -> bool:
        """Commit every change recorded so far (waits for a commit already under way);
        False if the store refused it (the batch is kept and retried).

        The commit itself is shielded: a caller cancelled meanwhile (a writer whose
        connection closed) must not abandon a batch already taken from the journal.
        """
        if not self.journal and not self._lock.locked() and self._failed is None:
            return True
        return await asyncio.shield(self._commit())

    async def _commit(self) -> bool:
        async with self._lock:
            if not self.journal and self._failed is None:
                return True
            # A batch holds a few objects per event, all freed once it is committed: the
            # collections their number would trigger only walk them and every other live
            # object (measured: a fifth of a SQLite-backed stream's rate). A store whose
            # commit never suspends (``commits_inline``) commits before collections resume.
            with _gc_paused():
                batch = self.journal.take(time.monotonic(), time.time())
                if self._failed is not None:
                    batch = merged(self._failed, batch)
                    self._failed = None
                if getattr(self.store, "commits_inline", False):
                    done = await self._apply(batch)
                    del batch  # freed before the collector runs again
                    return done
            return await self._apply(batch)

    async def _apply(self, batch: Batch) -> bool:
        try:
            await self.store.commit(batch)
        except Exception as exc:
            self._failed = batch
            self._failed_commit(batch, exc)
            return False
        if self._failing_since is not None:
            self._recovered()
        return True

    def _failed_commit(self, batch: Batch, exc: Exception) -> None:
        """Durability over availability: stop, say so once, and keep the batch."""
        now = time.monotonic()
        self._attempts += 1
        if self._failing_since is None:
            self._failing_since = self._reminded_at = now
            self.valve.close()
            log.error(
                "store commit failed (%s): holding %d events; new jobs are refused and "
                "agents wait until the store recovers",
                _describe(exc),
                len(batch.events) + len(batch.job_events),
            )
            log.debug("store commit failure", exc_info=exc)
            if self.on_change is not None:
                self.on_change()
        elif now - self._reminded_at >= self._remind_sec:
            self._reminded_at = now
            log.error(
                "store still failing after %.0f s and %d attempts (%s): holding %d events",
                now - self._failing_since,
                self._attempts,
                _describe(exc),
                len(batch.events) + len(batch.job_events),
            )

    def _recovered(self) -> None:
        assert self._failing_since is not None
        log.warning(
            "store recovered after %.1f s and %d failed commits; serving again",
            time.monotonic() - self._failing_since,
            self._attempts,
        )
        self._failing_since = None
        self._attempts = 0
        self.valve.open()
        if self.on_change is not None:
            self.on_change()

    async def aclose(self) -> None:
        """Stop the background committer after one last commit."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if not await self.flush():
            log.error("store closed with uncommitted changes: the store refused them")


@contextlib.contextmanager
def _gc_paused() -> Generator[None, None, None]:
    """No cyclic garbage collection inside (see :meth:`Persister._commit`)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _describe(exc: Exception) -> str:
    """One line naming the failure (no traceback, no stored values)."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def merged(older: Batch, newer: Batch) -> Batch:
    """One batch with the effect of committing ``older`` then ``newer``."""
    sessions = {k: v for k, v in older.sessions.items() if k not in newer.forget_sessions}
    jobs = {k: v for k, v in older.jobs.items() if k not in newer.forget_jobs}
    sessions.update(newer.sessions)
    jobs.update(newer.jobs)
    return Batch(
        sessions=sessions,
        events=[*older.events, *newer.events],
        jobs=jobs,
        job_events=[*older.job_events, *newer.job_events],
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

    def __init__(self, journal: Journal, poke: Callable[[], None] | None = None) -> None:
        """``poke`` schedules a commit (the persister's :meth:`Persister.poke`)."""
        super().__init__()
        self._journal = journal
        self._poke = poke
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
            self._poked()

    def done(self, credential_id: str) -> None:
        """Forget a revoked credential, durably."""
        super().done(credential_id)
        self._stored.discard(credential_id)
        self._journal.revocation_done(credential_id)
        self._poked()

    def _poked(self) -> None:
        if self._poke is not None:
            self._poke()

    def load(self, entries: Iterable[PendingRevocation]) -> None:
        """Take revocations the store holds as pending (not recorded again)."""
        for entry in entries:
            self._stored.add(entry.credential_id)
            super().add(entry)
