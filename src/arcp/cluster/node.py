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

from arcp.cluster.database import ClusterDatabase
from arcp.cluster.mirror import Mirror
from arcp.cluster.requests import ClusterRequests
from arcp.protocol.job_requests import attach
from arcp.protocol.job_table import JobRecord
from arcp.protocol.journal import job_id_of_head
from arcp.protocol.recovery import record_of, restore_sessions, restored_log
from arcp.protocol.runtime_actions import Action, AskCluster
from arcp.protocol.runtime_core import RuntimeCore
from arcp.protocol.runtime_session import RuntimeSession
from arcp.runtime.persistence import Persister
from arcp.store.base import Snapshot, StoredRevocation, StoreError
from arcp_gen.errors import (
    InternalError,
    JobCancelledError,
    ResumeWindowExpiredError,
)

__all__ = ["ClusterNode"]

log = logging.getLogger("arcp.cluster")

ALIVE_EVERY_SEC = 1.0
"""How often a node records that it is alive."""
DEAD_AFTER_SEC = 5.0
"""A node silent for this long is taken for dead: its sessions are taken over unasked."""
HAND_OVER_TIMEOUT_SEC = 30.0
"""The longest a node waits for a live node to hand a session over before taking it."""
ORPHANED_AFTER_SEC = 15.0
"""A node silent for this long is taken for gone: a live node ends its unfinished jobs with
``INTERNAL_ERROR`` and revokes its credentials. Longer than :data:`DEAD_AFTER_SEC`: moving a
session loses nothing, ending a job loses its work."""
ORPHANS_EVERY = 5
"""Look for orphaned jobs every this many keep-alives."""


def _seen_in_buffer(session: RuntimeSession) -> dict[str, int]:
    """Job id → the newest job-log seq among the session's buffered events."""
    seen: dict[str, int] = {}
    buffer = session.buffer
    for seq in buffer.after(buffer.first_seq - 1):
        item = buffer.get(seq)
        if item is not None and item[0]:
            job_id = job_id_of_head(item[1])
            seen[job_id] = max(seen.get(job_id, 0), item[0])
    return seen


class ClusterNode:
    """The cluster side of one runtime: shared-database requests and notifications."""

    def __init__(
        self,
        core: RuntimeCore[Any],
        db: ClusterDatabase,
        persister: Persister,
        act: Callable[[Action], Awaitable[None]],
        stop_job: Callable[[JobRecord], None],
        disconnect: Callable[[RuntimeSession], None],
        revoke: Callable[[list[StoredRevocation]], None] | None = None,
    ) -> None:
        """``revoke`` takes the pending revocations of a node gone silent (None: this node
        has no provisioner, so it leaves them where they are)."""
        self.core = core
        self.db = db
        self.persister = persister
        self.act = act
        self._stop_job = stop_job
        self._disconnect = disconnect
        self._revoke = revoke
        self.mirrors: dict[str, Mirror] = {}
        self._handed_over: dict[str, asyncio.Event] = {}
        self.requests = ClusterRequests(self)
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None

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
                await self._follow_again(session, remote)

    async def aclose(self) -> None:
        """Record how far each session here saw each remote job, stop background work."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        cursors: dict[str, dict[str, int]] = {}
        for job_id, mirror in self.mirrors.items():
            for session_id, (_, cursor) in mirror.observers.items():
                cursors.setdefault(session_id, {})[job_id] = cursor
        for session_id, held in cursors.items():
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
            if job is not None and self.core.fail(job, err, "error", now):
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
            self.core.fail(job, err, "error", asyncio.get_running_loop().time())
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
        if not task.cancelled() and task.exception() is not None:
            log.error("cluster task failed", exc_info=task.exception())

    # -- notifications from every node ----------------------------------------------------------

    def _notified(self, channel: str, payload: str) -> None:
        if channel == "arcp_job":
            mirror = self.mirrors.get(payload)
            if mirror is not None:
                self.pull(mirror)
        elif channel == "arcp_cancel":
            job_id, _, reason = payload.partition(" ")
            self._cancel_here(job_id, reason)
        elif channel == "arcp_session":
            verb, _, rest = payload.partition(" ")
            session_id, _, node = rest.partition(" ")
            if verb == "release" and node != self.node_id and session_id in self.core.sessions:
                self._spawn(self._hand_over(session_id, node))
            elif verb == "released" and session_id in self._handed_over:
                self._handed_over[session_id].set()

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
        if not mirror.observers:
            self.mirrors.pop(mirror.job_id, None)

    def _missed_notifications(self) -> None:
        """Listening was interrupted: read every followed job's log again."""
        for mirror in list(self.mirrors.values()):
            self.pull(mirror)

    def _cancel_here(self, job_id: str, reason: str) -> None:
        """A cancel sent through another node for a job running on this one (§7.4)."""
        job = self.core.jobs.jobs.get(job_id)
        if job is None or job.terminal:
            return
        now = asyncio.get_running_loop().time()
        err = JobCancelledError(reason or "cancelled by the client", retryable=False)
        if self.core.fail(job, err, "cancelled", now):
            self._stop_job(job)

    async def _hand_over(self, session_id: str, to_node: str) -> None:
        """Another node resumes this session: commit, record cursors, let it go (§6.3)."""
        session = self.core.sessions.get(session_id)
        if session is None:
            return
        cursors: dict[str, int] = {}
        for job in self.core.jobs.jobs.values():
            if job.origin is session:
                job.origin = None
                cursors[job.job_id] = job.log.last_origin_seq
            elif job.subscribers.pop(session_id, None) is not None:
                cursors[job.job_id] = job.log.last_origin_seq
        for job_id, mirror in list(self.mirrors.items()):
            cursor = mirror.forget(session_id)
            if cursor is not None:
                cursors[job_id] = cursor
            if not mirror.observers:
                del self.mirrors[job_id]
        self._disconnect(session)
        session.detach(asyncio.get_running_loop().time())
        del self.core.sessions[session_id]
        await self.persister.flush()
        await self.db.hand_over(session_id, to_node, cursors)
        log.info("session %s handed over to node %s", session_id, to_node)

    # -- sessions arriving from another node (§6.3) ----------------------------------------
    async def ask_hand_over(self, session_id: str, owner: str) -> None:
        """Ask ``owner`` to hand the session over; take it unasked once ``owner`` is dead."""
        arrived = self._handed_over[session_id] = asyncio.Event()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + HAND_OVER_TIMEOUT_SEC
        try:
            await self.db.notify("arcp_session", f"release {session_id} {self.node_id}")
            while True:
                try:
                    await asyncio.wait_for(arrived.wait(), ALIVE_EVERY_SEC)
                    return
                except TimeoutError:
                    pass
                if loop.time() > give_up or not await self.db.is_alive(owner, DEAD_AFTER_SEC):
                    break
            log.warning("node %s did not hand session %s over; taking it", owner, session_id)
            await self.db.take_over(session_id)
        finally:
            del self._handed_over[session_id]

    async def adopt(self, session_id: str) -> None:
        """Load a session from the database and reconnect it to the jobs it observes."""
        found = await self.db.session(session_id)
        if found is None:
            raise ResumeWindowExpiredError("the session cannot be resumed")
        stored = found[0]
        events = await self.db.session_events(session_id)
        snapshot = Snapshot(sessions=[stored], events={session_id: events})
        loop = asyncio.get_running_loop()
        restored = restore_sessions(snapshot, self.core.new_session, loop.time(), time.time())
        if not restored:
            raise ResumeWindowExpiredError("the session cannot be resumed")
        session = restored[0]
        log.info(
            "session %s taken over with events %d..%d",
            session_id,
            session.buffer.first_seq,
            session.buffer.last_seq,
        )
        observed = set(stored.subscriptions)
        for job in await self.db.jobs_of_session(session_id):
            if job.outcome is None:
                observed.add(job.job_id)
        await self._follow_again(session, observed)

    async def _follow_again(self, session: RuntimeSession, job_ids: set[str]) -> None:
        """Follow the jobs a session observed before it came here (or this node restarted),
        each from the newest of its recorded cursor and what its buffer holds."""
        cursors = await self.db.cursors(session.session_id)
        seen = _seen_in_buffer(session)
        for job_id in sorted(job_ids | cursors.keys()):
            local = self.core.jobs.jobs.get(job_id)
            if local is not None and (
                local.origin is session or session.session_id in local.subscribers
            ):
                continue  # restored with its link already
            await self.observe(session, job_id, max(cursors.get(job_id, 0), seen.get(job_id, 0)))

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
        self.follow_remote(session, job_id, stored.trace_id, cursor)

    def follow_remote(
        self, session: RuntimeSession, job_id: str, trace_id: str, cursor: int
    ) -> None:
        """Re-stamp another node's job into ``session`` from after ``cursor`` (§8.3)."""
        mirror = self.mirrors.get(job_id)
        if mirror is None:
            mirror = self.mirrors[job_id] = Mirror(job_id, trace_id)
        mirror.observe(session, cursor)
        self.pull(mirror)
