"""Sessions moving between nodes (§6.3): handing one over, and adopting one that arrives.

A session is owned by the node its client is connected to. When the client resumes
through another node, that node asks the owner to let go (:meth:`HandOver.ask`); the owner
commits what it holds, records how far the session saw each job and releases it
(:meth:`HandOver.give`); the new node then loads it from the database and follows its jobs
again (:meth:`HandOver.adopt`). A dead owner is not waited for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from arcp.cluster.following import RemoteJobs
from arcp.protocol.journal import job_id_of_head
from arcp.protocol.records import Snapshot
from arcp.protocol.recovery import restore_sessions
from arcp.protocol.runtime_core import RuntimeCore
from arcp.protocol.runtime_session import RuntimeSession
from arcp.store.cluster import ClusterDatabase
from arcp_gen.errors import ResumeWindowExpiredError

__all__ = [
    "DEAD_AFTER_SEC",
    "HAND_OVER_TIMEOUT_SEC",
    "Committer",
    "HandOver",
]

log = logging.getLogger("arcp.cluster")

DEAD_AFTER_SEC = 5.0
"""A node silent for this long is taken for dead: its sessions are taken over unasked."""
HAND_OVER_TIMEOUT_SEC = 30.0
"""The longest a node waits for a live node to hand a session over before taking it."""


class Committer(Protocol):
    """What a node needs of the runtime's store writer (the runtime's ``Persister``): commit
    every change recorded so far before the database is asked about it. A protocol, so the
    cluster layer does not import the runtime layer above it."""

    async def flush(self) -> bool:
        """Commit what was recorded; False while the store refuses it."""
        ...


def _seen_in_buffer(session: RuntimeSession) -> dict[str, int]:
    """Job id → the newest job-log seq among the session's buffered events."""
    seen: dict[str, int] = {}
    buffer = session.buffer
    for seq in range(buffer.first_seq, buffer.last_seq + 1):
        item = buffer.get(seq)
        if item is not None and item[0]:
            job_id = job_id_of_head(item[1])
            seen[job_id] = max(seen.get(job_id, 0), item[0])
    return seen


class HandOver:
    """One node's side of moving sessions between nodes."""

    def __init__(
        self,
        core: RuntimeCore[Any],
        db: ClusterDatabase,
        persister: Committer,
        remote: RemoteJobs,
        disconnect: Callable[[RuntimeSession], None],
        *,
        poll_sec: float,
    ) -> None:
        """``poll_sec``: how often to look whether an owner that keeps a session is dead
        (the nodes' keep-alive period)."""
        self.core = core
        self.poll_sec = poll_sec
        self.db = db
        self.persister = persister
        self.remote = remote
        self._disconnect = disconnect
        self._arrived: dict[str, asyncio.Event] = {}

    # -- a session leaving ---------------------------------------------------------------

    async def give(self, session_id: str, to_node: str) -> None:
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
        cursors.update(self.remote.forget(session_id))
        self._disconnect(session)
        session.detach(asyncio.get_running_loop().time())
        del self.core.sessions[session_id]
        await self.persister.flush()
        await self.db.hand_over(session_id, to_node, cursors)
        log.info("session %s handed over to node %s", session_id, to_node)

    # -- a session arriving ----------------------------------------------------------------

    def released(self, session_id: str) -> None:
        """The owner let ``session_id`` go (a ``released`` notification)."""
        arrived = self._arrived.get(session_id)
        if arrived is not None:
            arrived.set()

    async def ask(self, session_id: str, owner: str) -> None:
        """Ask ``owner`` to hand the session over; take it unasked once ``owner`` is dead."""
        arrived = self._arrived[session_id] = asyncio.Event()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + HAND_OVER_TIMEOUT_SEC
        try:
            await self.db.notify("arcp_session", f"release {session_id} {self.db.node_id}")
            while True:
                try:
                    await asyncio.wait_for(arrived.wait(), self.poll_sec)
                    return
                except TimeoutError:
                    pass
                if loop.time() > give_up or not await self.db.is_alive(owner, DEAD_AFTER_SEC):
                    break
            log.warning("node %s did not hand session %s over; taking it", owner, session_id)
            await self.db.take_over(session_id)
        finally:
            del self._arrived[session_id]

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
        await self.follow_again(session, observed)

    async def follow_again(self, session: RuntimeSession, job_ids: set[str]) -> None:
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
            cursor = max(cursors.get(job_id, 0), seen.get(job_id, 0))
            await self.remote.observe(session, job_id, cursor)
