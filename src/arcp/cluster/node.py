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
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arcp.cluster.database import ClusterDatabase
from arcp.cluster.mirror import Mirror
from arcp.ids import new_id
from arcp.protocol.event_frames import JobEventLog
from arcp.protocol.job_requests import ListQuery, send_jobs, send_subscribed
from arcp.protocol.job_table import JobRecord, decode_cursor
from arcp.protocol.journal import job_id_of_head
from arcp.protocol.recovery import record_of, restore_sessions
from arcp.protocol.replay_buffer import EventItem
from arcp.protocol.runtime_actions import Action, AskCluster
from arcp.protocol.runtime_core import RuntimeCore
from arcp.protocol.runtime_session import RuntimeSession, hash_resume_token
from arcp.runtime.persistence import Persister
from arcp.store.base import Snapshot, StoredJob
from arcp_gen.errors import (
    ARCPError,
    DuplicateKeyError,
    InternalError,
    JobCancelledError,
    JobNotFoundError,
    PermissionDeniedError,
    ResumeWindowExpiredError,
)
from arcp_gen.messages import (
    JobCancelMessage,
    JobSubmitMessage,
    JobSubscribeMessage,
    SessionHelloMessage,
    SessionListJobsMessage,
    SessionResumeMessage,
)

__all__ = ["ClusterNode"]

log = logging.getLogger("arcp.cluster")

ALIVE_EVERY_SEC = 1.0
"""How often a node records that it is alive."""
DEAD_AFTER_SEC = 5.0
"""A node silent for this long is taken for dead: its sessions are taken over unasked."""
HAND_OVER_TIMEOUT_SEC = 30.0
"""The longest a node waits for a live node to hand a session over before taking it."""


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
    ) -> None:
        self.core = core
        self.db = db
        self.persister = persister
        self._act = act
        self._stop_job = stop_job
        self._disconnect = disconnect
        self.mirrors: dict[str, Mirror] = {}
        self._handed_over: dict[str, asyncio.Event] = {}
        self._resuming: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None

    @property
    def node_id(self) -> str:
        """This node's name in the shared database."""
        return self.db.node_id

    async def start(self) -> None:
        """Listen to the other nodes, then follow again the remote jobs that the sessions
        restored here observe (returns once listening)."""
        self.core.clustered = True
        await self.db.alive()
        self._spawn(self._keep_alive())
        await self.db.listen(self._notified, self._missed_notifications)
        for session in list(self.core.sessions.values()):
            remote = session.subscriptions - self.core.jobs.jobs.keys()
            if not remote:
                continue
            cursors = await self.db.cursors(session.session_id)
            seen = _seen_in_buffer(session)
            for job_id in sorted(remote):
                cursor = max(cursors.get(job_id, 0), seen.get(job_id, 0))
                await self._observe(session, job_id, cursor)

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
        while True:
            await asyncio.sleep(ALIVE_EVERY_SEC)
            try:
                await self.db.alive()
            except Exception as exc:  # the database is away: try again next time
                log.warning("cannot record that this node is alive: %s", type(exc).__name__)

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
                self._pull(mirror)
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

    def _pull(self, mirror: Mirror) -> None:
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
            self._pull(mirror)

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

    # -- requests the core could not answer alone --------------------------------------------------

    async def handle(self, ask: AskCluster) -> None:
        """Answer one request; its errors go back as ``session.error`` like any other."""
        message = ask.message
        target = ask.session if ask.session is not None else ask.connection
        assert target is not None
        try:
            if isinstance(message, SessionHelloMessage | SessionResumeMessage):
                assert ask.connection is not None
                await self._resume(ask.connection, message)
            elif isinstance(message, JobSubmitMessage):
                assert ask.session is not None
                await self._submit(ask.session, message, ask.fingerprint)
            elif isinstance(message, JobSubscribeMessage):
                assert ask.session is not None
                await self._subscribe(ask.session, message)
            elif isinstance(message, JobCancelMessage):
                assert ask.session is not None
                await self._cancel(ask.session, message)
            elif isinstance(message, SessionListJobsMessage):
                assert ask.session is not None
                await self._list(ask.session, message)
        except ARCPError as err:
            target.error(err, message.id)
        except Exception:
            log.exception("cluster request %s failed", message.type)
            target.error(InternalError("the runtime failed to handle the request"), message.id)

    async def _resume(self, conn: Any, message: SessionHelloMessage | SessionResumeMessage) -> None:
        request = message.payload if isinstance(message, SessionResumeMessage) else None
        if request is None:
            assert isinstance(message, SessionHelloMessage) and message.payload.resume
            resume = message.payload.resume
            session_id, token = resume.session_id, resume.resume_token
        else:
            resume = request
            session_id, token = request.session_id, request.resume_token
        lock = self._resuming.setdefault(session_id, asyncio.Lock())
        try:
            async with lock:  # one hand-over and one adoption at a time per session
                await self._resume_once(conn, message, resume, session_id, token)
        finally:
            if not lock.locked() and self._resuming.get(session_id) is lock:
                del self._resuming[session_id]

    async def _resume_once(
        self,
        conn: Any,
        message: SessionHelloMessage | SessionResumeMessage,
        resume: Any,
        session_id: str,
        token: str,
    ) -> None:
        if session_id in self.core.sessions:  # adopted meanwhile by a retry of this resume
            self.core.resume(conn, message.id, resume, asyncio.get_running_loop().time())
            return
        refused = ResumeWindowExpiredError("the session cannot be resumed")
        found = await self.db.session(session_id)
        if found is None or not hmac.compare_digest(
            hash_resume_token(token), found[0].token_digest
        ):
            raise refused
        if found[1] != self.node_id:
            await self._ask_hand_over(session_id, found[1])
            found = await self.db.session(session_id)
            if found is None:
                raise refused
        if session_id not in self.core.sessions:
            await self._adopt(found[0].session_id)
        self.core.resume(conn, message.id, resume, asyncio.get_running_loop().time())

    async def _ask_hand_over(self, session_id: str, owner: str) -> None:
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

    async def _adopt(self, session_id: str) -> None:
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
        cursors = await self.db.cursors(session_id)
        seen: dict[str, int] = {}
        for event in events:
            seen[event.job_id] = max(seen.get(event.job_id, 0), event.origin_seq)
        observed = set(cursors) | set(stored.subscriptions)
        for job in await self.db.jobs_of_session(session_id):
            if job.outcome is None:
                observed.add(job.job_id)
        for job_id in sorted(observed):
            cursor = max(cursors.get(job_id, 0), seen.get(job_id, 0))
            await self._observe(session, job_id, cursor)

    async def _observe(self, session: RuntimeSession, job_id: str, cursor: int) -> None:
        """Deliver ``job_id``'s entries after ``cursor`` to ``session``, then follow it live."""
        local = self.core.jobs.jobs.get(job_id)
        if local is not None:
            for item in local.log.after(cursor):
                if session.accepts(item[3]):
                    session.push_event(item)
            if not local.terminal:
                local.subscribers[session.session_id] = session
                session.subscriptions.add(job_id)
            else:
                session.subscriptions.discard(job_id)
            return
        stored = await self.db.job(job_id)
        if stored is None:
            session.subscriptions.discard(job_id)
            return
        mirror = self.mirrors.get(job_id)
        if mirror is None:
            mirror = self.mirrors[job_id] = Mirror(job_id, stored.trace_id)
        mirror.observe(session, cursor)
        self._pull(mirror)

    async def _submit(
        self, session: RuntimeSession, message: JobSubmitMessage, print_: bytes
    ) -> None:
        """Claim a new idempotency key on the shared database, then submit (§7.2)."""
        key = message.payload.idempotency_key
        assert key is not None
        job_id = new_id("job")
        held = await self.db.claim_key(session.principal, key, print_, job_id)
        now = asyncio.get_running_loop().time()
        if held is None:
            try:
                actions = self.core.requests.submit(session, message, now, claimed_job_id=job_id)
            except BaseException:
                await self.db.release_key(session.principal, key, job_id)
                raise
            for action in actions:
                await self._act(action)
            return
        if self.core.jobs.by_key(session.principal, key) is not None:
            for action in self.core.requests.submit(session, message, now, claimed_job_id=job_id):
                await self._act(action)
            return
        held_id, held_print = held
        if held_print != print_:
            raise DuplicateKeyError("idempotency_key was already used with different parameters")
        stored = await self._wait_for_job(held_id)
        payload = dict(stored.accepted, request_id=message.id)
        session.control("job.accepted", payload, job_id=held_id, trace_id=stored.trace_id)
        if held_id not in session.subscriptions:
            await self._observe(session, held_id, 0)  # a retry still gets the whole stream

    async def _wait_for_job(self, job_id: str) -> StoredJob:
        """A job another node just created: its row follows the key claim within a commit."""
        for _ in range(200):
            stored = await self.db.job(job_id)
            if stored is not None:
                return stored
            await asyncio.sleep(0.01)
        raise InternalError("the job holding that idempotency_key is not visible yet")

    async def _remote_job(self, session: RuntimeSession, job_id: str) -> JobRecord:
        """Another node's job as a read-only record, if ``session`` may observe it (§14)."""
        stored = await self.db.job(job_id)
        if stored is not None:
            job = record_of(stored, JobEventLog(job_id, stored.trace_id, 0), None, None)
            policy = self.core.jobs.observer_policy
            if stored.principal == session.principal or (
                policy is not None and policy(session.principal, job)
            ):
                return job
        raise JobNotFoundError("no such job", details={"job_id": job_id})

    async def _subscribe(self, session: RuntimeSession, message: JobSubscribeMessage) -> None:
        """``job.subscribed``, optional history, then live, for a job on another node (§7.6)."""
        p = message.payload
        job = await self._remote_job(session, p.job_id)
        cursor = job.log.last_origin_seq
        replay: list[EventItem] = []
        if not job.terminal and p.job_id in session.subscriptions:  # already streaming
            send_subscribed(session, message, job, replay)
            return
        if p.history:
            heads = job.log.heads
            for entry in await self.db.job_events(p.job_id, p.from_event_seq or 0):
                if session.accepts(entry.gate):
                    replay.append((entry.origin_seq, heads[entry.kind], entry.payload, entry.gate))
                cursor = max(cursor, entry.origin_seq)
        if job.terminal and not replay:
            last = await self.db.job_events(p.job_id, job.log.last_origin_seq - 1)
            heads = job.log.heads
            replay = [(e.origin_seq, heads[e.kind], e.payload, e.gate) for e in last[-1:]]
        send_subscribed(session, message, job, replay)
        for item in replay:
            session.push_event(item)
        if not job.terminal:
            mirror = self.mirrors.get(p.job_id)
            if mirror is None:
                mirror = self.mirrors[p.job_id] = Mirror(p.job_id, job.trace_id)
            mirror.observe(session, cursor)
            self._pull(mirror)

    async def _cancel(self, session: RuntimeSession, message: JobCancelMessage) -> None:
        """Cancel a job running on another node: the cancel travels there (§7.4)."""
        job_id = message.job_id or message.payload.job_id
        assert job_id is not None
        stored = await self.db.job(job_id)
        allowed = stored is not None and stored.origin_session_id == session.session_id
        log.info(
            "audit: principal %r cancel %s on another node: %s",
            session.principal,
            job_id,
            "allowed" if allowed else "denied",
        )
        if stored is None or stored.principal != session.principal:
            raise JobNotFoundError("no such job", details={"job_id": job_id})
        if not allowed:
            raise PermissionDeniedError("only the submitting session may cancel a job")
        session.control(
            "job.cancelled",
            {"request_id": message.id, "job_id": job_id},
            job_id=job_id,
            trace_id=stored.trace_id,
        )
        if stored.outcome is None:
            reason = message.payload.reason or "cancelled by the client"
            await self.db.notify("arcp_cancel", f"{job_id} {reason}")

    async def _list(self, session: RuntimeSession, message: SessionListJobsMessage) -> None:
        """One ``session.jobs`` page over every node's jobs (§6.6)."""
        query = ListQuery.of(message)
        after = decode_cursor(query.cursor) if query.cursor else None
        await self.persister.flush()  # this node's latest statuses first
        rows = await self.db.page(
            session.principal,
            statuses=query.statuses,
            agent=query.agent,
            created_after=query.created_after,
            after_job_id=after,
            limit=query.limit + 1,
        )
        jobs = [
            self.core.jobs.jobs.get(row.job_id)
            or record_of(row, JobEventLog(row.job_id, row.trace_id, 0), None, None)
            for row in rows
        ]
        more = len(jobs) > query.limit
        jobs = jobs[: query.limit]
        send_jobs(session, message.id, jobs, jobs[-1] if more else None)
