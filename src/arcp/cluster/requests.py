"""Requests a cluster node answers from the shared database (§6.3, §6.6, §7.2, §7.4, §7.6).

What the sans-IO core hands over as :class:`~arcp.protocol.runtime_actions.AskCluster`: a
resume of a session another node holds, the claim of a new idempotency key, a subscribe or
a cancel of a job running on another node, and a listing across every node.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arcp.cluster.following import RemoteJobs
from arcp.cluster.handover import Committer, HandOver
from arcp.ids import new_id
from arcp.protocol.event_frames import JobEventLog
from arcp.protocol.job_listing import ListQuery, send_jobs
from arcp.protocol.job_requests import answer_cancel
from arcp.protocol.job_table import JobRecord, decode_cursor
from arcp.protocol.recovery import record_of
from arcp.protocol.replay_buffer import EventItem
from arcp.protocol.runtime_actions import Action, AskCluster
from arcp.protocol.runtime_core import RuntimeCore
from arcp.protocol.runtime_session import RuntimeSession, hash_resume_token
from arcp.protocol.subscriptions import audit_subscribe, send_subscribed, subscription_replay
from arcp.store.base import StoredJob
from arcp.store.cluster import ClusterDatabase
from arcp_gen.errors import (
    ARCPError,
    DuplicateKeyError,
    InternalError,
    JobNotFoundError,
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

__all__ = ["ClusterRequests"]

log = logging.getLogger("arcp.cluster")


def _record(stored: StoredJob) -> JobRecord:
    """Another node's job as a read-only record (its log holds no entries here)."""
    return record_of(stored, JobEventLog(stored.job_id, stored.trace_id, 0), None, None)


class ClusterRequests:
    """Answers one node's :class:`AskCluster` requests: database reads and writes, with the
    core deciding what they mean; it never calls back into the node that owns it."""

    def __init__(
        self,
        core: RuntimeCore[Any],
        db: ClusterDatabase,
        persister: Committer,
        act: Callable[[Action], Awaitable[None]],
        remote: RemoteJobs,
        handover: HandOver,
    ) -> None:
        self.core = core
        self.db = db
        self.persister = persister
        self.act = act
        self.remote = remote
        self.handover = handover
        self._resuming: dict[str, asyncio.Lock] = {}

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
        log.debug("resume of %s after seq %d", session_id, resume.last_event_seq)
        if session_id in self.core.sessions:  # adopted meanwhile by a retry of this resume
            self.core.resume(conn, message.id, resume, asyncio.get_running_loop().time())
            return
        refused = ResumeWindowExpiredError("the session cannot be resumed")
        found = await self.db.session(session_id)
        if found is None or not hmac.compare_digest(
            hash_resume_token(token), found[0].token_digest
        ):
            raise refused
        if found[1] != self.db.node_id:
            await self.handover.ask(session_id, found[1])
            found = await self.db.session(session_id)
            if found is None:
                raise refused
        if session_id not in self.core.sessions:
            await self.handover.adopt(found[0].session_id)
        self.core.resume(conn, message.id, resume, asyncio.get_running_loop().time())

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
                actions = self.core.requests.submit(
                    session, message, now, time.time(), claimed_job_id=job_id
                )
            except BaseException:
                await self.db.release_key(session.principal, key, job_id)
                raise
            for action in actions:
                await self.act(action)
            return
        if self.core.jobs.by_key(session.principal, key) is not None:
            for action in self.core.requests.submit(
                session, message, now, time.time(), claimed_job_id=job_id
            ):
                await self.act(action)
            return
        held_id, held_print = held
        if held_print != print_:
            raise DuplicateKeyError("idempotency_key was already used with different parameters")
        stored = await self._wait_for_job(held_id)
        payload = dict(stored.accepted, request_id=message.id)
        session.control("job.accepted", payload, job_id=held_id, trace_id=stored.trace_id)
        if held_id not in session.subscriptions:
            await self.remote.observe(session, held_id, 0)  # a retry still gets the whole stream

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
            job = _record(stored)
            policy = self.core.jobs.observer_policy
            if stored.principal == session.principal or (
                policy is not None and policy(session.principal, job)
            ):
                return job
        raise JobNotFoundError("no such job", details={"job_id": job_id})

    async def _subscribe(self, session: RuntimeSession, message: JobSubscribeMessage) -> None:
        """``job.subscribed``, optional history, then live, for a job on another node (§7.6)."""
        p = message.payload
        try:
            job = await self._remote_job(session, p.job_id)
        except JobNotFoundError:
            stored = await self.db.job(p.job_id)
            owner = stored.principal if stored is not None else None
            audit_subscribe(session, p.job_id, owner, allowed=False)
            raise
        audit_subscribe(session, p.job_id, job.principal, allowed=True)
        # Database reads only: what to replay is the core's rule (subscription_replay).
        cursor = job.log.last_origin_seq
        item = job.log.item
        logged: list[EventItem] = []
        if p.history:
            for entry in await self.db.job_events(p.job_id, p.from_event_seq or 0):
                logged.append(item(entry.origin_seq, entry.kind, entry.payload, entry.gate))
                cursor = max(cursor, entry.origin_seq)
        last: EventItem | None = None
        if job.terminal:
            tail = await self.db.job_events(p.job_id, job.log.last_origin_seq - 1)
            last = next((item(e.origin_seq, e.kind, e.payload, e.gate) for e in tail[-1:]), None)
        replay = subscription_replay(session, job, p, logged, last)
        send_subscribed(session, message, job, replay or [])
        if replay is None:  # already streaming this live job
            return
        for entry_item in replay:
            session.push_event(entry_item)
        if not job.terminal:
            self.remote.follow(session, p.job_id, job.trace_id, cursor)

    async def _cancel(self, session: RuntimeSession, message: JobCancelMessage) -> None:
        """Cancel a job running on another node: the cancel travels there (§7.4)."""
        job_id = message.job_id or message.payload.job_id
        assert job_id is not None
        stored = await self.db.job(job_id)
        visible = stored is not None and stored.principal == session.principal
        origin = stored.origin_session_id if stored is not None and visible else None
        reason = answer_cancel(session, message, job_id, origin, stored.trace_id if stored else "")
        assert stored is not None
        if stored.outcome is None:
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
        jobs = [self.core.jobs.jobs.get(row.job_id) or _record(row) for row in rows]
        more = len(jobs) > query.limit
        jobs = jobs[: query.limit]
        send_jobs(session, message.id, jobs, jobs[-1] if more else None)
