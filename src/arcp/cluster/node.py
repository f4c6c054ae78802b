"""One runtime node among several sharing a database (§6.3, §6.6, §7.2, §7.4, §7.6).

:class:`ClusterNode` answers what the sans-IO core hands it as
:class:`~arcp.protocol.runtime_actions.AskCluster`: a resume of a session another node
holds, a subscribe or cancel of a job running elsewhere, a listing across every node, and
the claim of a new idempotency key. It also reacts to the other nodes' notifications:
a remote job's log grew (deliver it to the sessions here), a cancel for a job running here,
and a request to hand over a session.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arcp.cluster.following import RemoteJobs
from arcp.cluster.handover import (
    DEAD_AFTER_SEC,
    HAND_OVER_TIMEOUT_SEC,
    Committer,
    HandOver,
)
from arcp.cluster.requests import ClusterRequests
from arcp.protocol.job_table import JobRecord
from arcp.protocol.recovery import record_of, restored_log
from arcp.protocol.runtime_actions import Action, AskCluster
from arcp.protocol.runtime_core import RuntimeCore
from arcp.protocol.runtime_session import RuntimeSession
from arcp.store.base import StoredRevocation, StoreError
from arcp.store.cluster import ClusterDatabase
from arcp_gen.errors import InternalError, JobCancelledError

__all__ = [
    "ALIVE_EVERY_SEC",
    "DEAD_AFTER_SEC",
    "HAND_OVER_TIMEOUT_SEC",
    "ORPHANED_AFTER_SEC",
    "ClusterNode",
    "Committer",
]

log = logging.getLogger("arcp.cluster")

ALIVE_EVERY_SEC = 1.0
"""How often a node records that it is alive."""
ORPHANED_AFTER_SEC = 15.0
"""A node silent for this long is taken for gone: a live node ends its unfinished jobs with
``INTERNAL_ERROR`` and revokes its credentials. Longer than :data:`DEAD_AFTER_SEC`: moving a
session loses nothing, ending a job loses its work."""
ORPHANS_EVERY = 5
"""Look for orphaned jobs every this many keep-alives."""


class ClusterNode:
    """The cluster side of one runtime: shared-database requests and notifications."""

    def __init__(
        self,
        core: RuntimeCore[Any],
        db: ClusterDatabase,
        persister: Committer,
        act: Callable[[Action], Awaitable[None]],
        pump: Callable[[], None],
        stop_job: Callable[[JobRecord], None],
        disconnect: Callable[[RuntimeSession], None],
        revoke: Callable[[list[StoredRevocation]], None] | None = None,
    ) -> None:
        """``pump`` is the runtime's: it takes what the core made ready, and runs after
        everything this node feeds the core. ``revoke`` takes the pending revocations of a
        node gone silent (None: this node has no provisioner, so it leaves them where they
        are)."""
        self.core = core
        self.db = db
        self.persister = persister
        self.act = act
        self.pump = pump
        self._stop_job = stop_job
        self._revoke = revoke
        self._tasks: set[asyncio.Task[None]] = set()
        self.remote = RemoteJobs(core, db, self._spawn, pump)
        self.handover = HandOver(
            core, db, persister, self.remote, disconnect, poll_sec=ALIVE_EVERY_SEC
        )
        self.requests = ClusterRequests(core, db, persister, act, self.remote, self.handover)

    async def handle(self, ask: AskCluster) -> None:
        """Answer a request the core could not answer alone (see :mod:`.requests`)."""
        await self.requests.handle(ask)

    @property
    def node_id(self) -> str:
        """This node's name in the shared database."""
        return self.db.node_id

    async def start(self) -> None:
        """Listen to the other nodes, then follow again the remote jobs that the sessions
        restored here observe (returns once listening)."""
        self.core.clustered = True
        # A claim this node made before it was killed, whose job row never followed, would
        # refuse every retry of its key (§7.2): nothing of this process is in flight yet.
        stale = await self.db.release_stale_keys(ORPHANED_AFTER_SEC, own=True)
        if stale:
            log.warning("%d idempotency keys claimed before a crash released", stale)
        await self.db.alive()
        self._spawn(self._keep_alive())
        await self.db.listen(self._notified, self._missed_notifications)
        for session in list(self.core.sessions.values()):
            remote = session.subscriptions - self.core.jobs.jobs.keys()
            if remote:
                await self.handover.follow_again(session, remote)
                self.pump()

    async def aclose(self) -> None:
        """Record how far each session here saw each remote job, stop background work."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for session_id, held in self.remote.cursors().items():
            await self.db.hand_over(session_id, self.node_id, held)

    async def _keep_alive(self) -> None:
        beats = 0
        while True:
            await asyncio.sleep(ALIVE_EVERY_SEC)
            try:
                await self.db.alive()
            except Exception as exc:  # the database is away: try again next time
                log.warning("cannot record that this node is alive: %s", type(exc).__name__)
                continue
            beats += 1
            if beats % ORPHANS_EVERY == 0:
                try:
                    await self.end_orphans()
                    self.pump()
                except StoreError as exc:
                    log.warning("cannot look for orphaned jobs: %s", exc)
                except Exception:  # never let it stop the keep-alive: others would reap us
                    log.exception("looking for orphaned jobs failed")

    async def end_orphans(self) -> None:
        """End the jobs of nodes silent for :data:`ORPHANED_AFTER_SEC` with ``job.error
        INTERNAL_ERROR`` (§7.3, §12), and take over their pending revocations (§9.8.2).

        Also ends the jobs running here that another node took over meanwhile (this node
        was the silent one): the database already tells their end, and ignores this node's
        writes about them.
        """
        now = asyncio.get_running_loop().time()
        running = [job.job_id for job in self.core.jobs.jobs.values() if not job.terminal]
        for job_id in await self.db.moved(running):
            job = self.core.jobs.jobs.get(job_id)
            err = InternalError("another node ended the job while this node was unreachable")
            if job is not None and self.core.fail(job, err, "error", now, time.time()):
                self._stop_job(job)
                log.warning("job %s was taken over by another node: stopped here", job_id)
        jobs, revocations = await self.db.take_over_orphans(
            ORPHANED_AFTER_SEC, revocations=self._revoke is not None
        )
        await self.db.release_stale_keys(ORPHANED_AFTER_SEC, own=False)
        for stored in jobs:
            entries = await self.db.job_events(stored.job_id, 0)
            # No local origin nor subscriber: sessions here observe it through its mirror,
            # which reads the terminal entry once committed, like every other node.
            job = record_of(
                stored, restored_log(stored, entries, self.core.new_job_log), None, None
            )
            self.core.jobs.add(job)
            err = InternalError("the node running the job stopped")
            self.core.fail(job, err, "error", asyncio.get_running_loop().time(), time.time())
            log.warning("job %s of a silent node taken over: ended", stored.job_id)
        if revocations and self._revoke is not None:
            self._revoke(revocations)
        if jobs:
            await self.persister.flush()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.pump()
        if not task.cancelled() and task.exception() is not None:
            log.error("cluster task failed", exc_info=task.exception())

    # -- notifications from every node ----------------------------------------------------------

    def _notified(self, channel: str, payload: str) -> None:
        if channel == "arcp_job":
            self.remote.grew(payload)
        elif channel == "arcp_cancel":
            job_id, _, reason = payload.partition(" ")
            self._cancel_here(job_id, reason)
        elif channel == "arcp_session":
            verb, _, rest = payload.partition(" ")
            session_id, _, node = rest.partition(" ")
            if verb == "release" and node != self.node_id and session_id in self.core.sessions:
                self._spawn(self.handover.give(session_id, node))
            elif verb == "released":
                self.handover.released(session_id)
        self.pump()

    def _missed_notifications(self) -> None:
        """Listening was interrupted: read every followed job's log again."""
        self.remote.read_all()
        self.pump()

    def _cancel_here(self, job_id: str, reason: str) -> None:
        """A cancel sent through another node for a job running on this one (§7.4)."""
        job = self.core.jobs.jobs.get(job_id)
        if job is None or job.terminal:
            return
        now = asyncio.get_running_loop().time()
        err = JobCancelledError(reason or "cancelled by the client", retryable=False)
        if self.core.fail(job, err, "cancelled", now, time.time()):
            self._stop_job(job)
