"""The runtime's change journal: what must reach the store in the next commit (§6.3, §7).

Sans-IO. The core notes changes as they happen (a dirty session or job, an appended event);
:meth:`Journal.take` turns them into one :class:`~arcp.protocol.records.Batch`, reading each
dirty object's state at that moment, with the clocks the caller passes. Durability is always
present: a runtime without a store records into :class:`NoJournal`, which keeps nothing, so
the core never asks whether it has a journal. Recording costs a list append or a dict store
per change, so the event hot path stays cheap; session and job records are built once per
batch, and appended events reach the store as the flat lists they were recorded in
(:mod:`arcp.protocol.batch_columns`), with no record per event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arcp.protocol.batch_columns import EventColumns, JobEventColumns, job_id_of_head
from arcp.protocol.records import Batch, StoredJob, StoredRevocation, StoredSession
from arcp.protocol.replay_buffer import EventItem

if TYPE_CHECKING:
    from arcp.protocol.job_table import JobRecord
    from arcp.protocol.runtime_session import RuntimeSession

__all__ = ["Journal", "NoJournal", "job_id_of_head"]


class Journal:
    """Changes since the last :meth:`take`; :attr:`due` says the first one arrived."""

    __slots__ = (
        "due",
        "events",
        "forget_jobs",
        "forget_sessions",
        "job_events",
        "jobs",
        "kinds",
        "revocations_added",
        "revocations_done",
        "sessions",
    )

    def __init__(self) -> None:
        self.due = False
        """Set by the first change after a :meth:`take`; the adapter clears it when it
        schedules a commit (a pull flag, never a callback into the adapter)."""
        self.sessions: dict[str, RuntimeSession] = {}
        # Appended events as flat lists (session id, seq, item, ...; job, item, ...): no
        # object per event, so recording gives the garbage collector nothing new to walk.
        self.events: list[Any] = []
        self.jobs: dict[str, JobRecord] = {}
        self.job_events: list[Any] = []
        self.kinds: dict[bytes, int] = {}  # heads of jobs forgotten since the last take
        self.forget_sessions: set[str] = set()
        self.forget_jobs: set[str] = set()
        self.revocations_added: list[StoredRevocation] = []
        self.revocations_done: list[str] = []

    def __bool__(self) -> bool:
        return bool(
            self.sessions
            or self.jobs
            or self.forget_sessions
            or self.forget_jobs
            or self.revocations_added
            or self.revocations_done
        )

    def _changed(self) -> None:
        if not self.due and not self:
            self.due = True

    # -- recording (called by the core) ----------------------------------------------------

    def session(self, session: RuntimeSession) -> None:
        """``session``'s state changed (token, ack, attachment, subscriptions)."""
        self._changed()
        self.sessions[session.session_id] = session

    def event(self, session: RuntimeSession, seq: int, item: EventItem) -> None:
        """``session`` buffered ``item`` under ``seq`` (§8.3)."""
        sessions = self.sessions
        if not sessions:  # a journal holding a session is not empty: already due
            self._changed()
        sessions[session.session_id] = session
        self.events.extend((session.session_id, seq, item))

    def job(self, job: JobRecord) -> None:
        """``job`` was created or its status, budget or outcome changed."""
        self._changed()
        self.jobs[job.job_id] = job

    def job_event(self, job: JobRecord, item: EventItem) -> None:
        """``job`` logged ``item`` in its own history (§7.6)."""
        jobs = self.jobs
        if not jobs:  # a journal holding a job is not empty: already woken
            self._changed()
        job_id = job.job_id
        jobs[job_id] = job
        self.job_events.extend((job_id, item))

    def forget_session(self, session_id: str) -> None:
        """The session expired: drop it and its buffer."""
        self._changed()
        self.sessions.pop(session_id, None)
        self.forget_sessions.add(session_id)

    def forget_job(self, job_id: str) -> None:
        """The job left the listing window (or was never accepted): drop it and its log."""
        self._changed()
        job = self.jobs.pop(job_id, None)
        if job is not None:  # its entries of this batch still name their kind by head
            self.kinds.update(_kinds_of(job))
        self.forget_jobs.add(job_id)

    def revocation_added(self, credential_id: str, job_id: str) -> None:
        """A credential awaits revocation (§9.8.2)."""
        self._changed()
        self.revocations_added.append(StoredRevocation(credential_id, job_id))

    def revocation_done(self, credential_id: str) -> None:
        """A credential was revoked."""
        self._changed()
        self.revocations_done.append(credential_id)

    # -- the batch -------------------------------------------------------------------------

    def take(self, now: float, wall_now: float) -> Batch:
        """Everything recorded so far as one batch; the journal starts empty again.

        ``now`` is the monotonic clock the core's times are on, ``wall_now`` the wall clock
        (seconds since the epoch) at the same moment: stored times are wall-clock times.
        """
        offset = wall_now - now
        kinds = self.kinds
        for job in self.jobs.values():  # every job with entries in the batch (or in kinds)
            kinds.update(_kinds_of(job))
        batch = Batch(
            sessions={sid: _stored_session(s, offset) for sid, s in self.sessions.items()},
            events=EventColumns(self.events),
            jobs={jid: _stored_job(job, offset) for jid, job in self.jobs.items()},
            job_events=JobEventColumns(self.job_events, kinds),
            forget_sessions=self.forget_sessions,
            forget_jobs=self.forget_jobs,
            revocations_added=self.revocations_added,
            revocations_done=self.revocations_done,
        )
        self.sessions = {}
        self.events = []
        self.jobs = {}
        self.job_events = []
        self.kinds = {}
        self.forget_sessions = set()
        self.forget_jobs = set()
        self.revocations_added = []
        self.revocations_done = []
        return batch


def _kinds_of(job: JobRecord) -> dict[bytes, int]:
    """A job's heads to the entry kinds they stand for (0 event, 1 result, 2 error)."""
    return {head: kind for kind, head in enumerate(job.log.heads)}


class NoJournal(Journal):
    """The journal of a runtime without a store: every change is noted and forgotten.

    The core records into it exactly as into a real journal (one call per change), so the
    protocol code has one path whether or not the runtime is durable.
    """

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def session(self, session: RuntimeSession) -> None:
        """Nothing to keep."""

    def event(self, session: RuntimeSession, seq: int, item: EventItem) -> None:
        """Nothing to keep."""

    def job(self, job: JobRecord) -> None:
        """Nothing to keep."""

    def job_event(self, job: JobRecord, item: EventItem) -> None:
        """Nothing to keep."""

    def forget_session(self, session_id: str) -> None:
        """Nothing to keep."""

    def forget_job(self, job_id: str) -> None:
        """Nothing to keep."""

    def revocation_added(self, credential_id: str, job_id: str) -> None:
        """Nothing to keep."""

    def revocation_done(self, credential_id: str) -> None:
        """Nothing to keep."""


def _stored_session(session: RuntimeSession, offset: float) -> StoredSession:
    detached = session.detached_since
    return StoredSession(
        session_id=session.session_id,
        principal=session.principal,
        features=sorted(f.value for f in session.features),
        token_digest=session.token_digest,
        resume_window_sec=session.resume_window_sec,
        first_seq=session.buffer.first_seq,
        last_seq=session.buffer.last_seq,
        acked_seq=session.acked_seq,
        detached_at=None if detached is None else detached + offset,
        subscriptions=sorted(session.subscriptions),
    )


def _stored_job(job: JobRecord, offset: float) -> StoredJob:
    return StoredJob(
        job_id=job.job_id,
        principal=job.principal,
        agent=job.agent,
        lease=job.lease,
        lease_constraints=job.lease_constraints,
        trace_id=job.trace_id,
        created_at=job.created_at,
        input=job.input,
        max_runtime_sec=job.max_runtime_sec,
        origin_session_id=job.origin_session_id,
        # Issued credentials carry their secret value: never stored (§9.8.2, §14).
        accepted={k: v for k, v in job.accepted.items() if k != "credentials"},
        fingerprint=job.fingerprint,
        idempotency_key=job.idempotency_key,
        status=job.status,
        finished_at=None if job.finished_at is None else job.finished_at + offset,
        parent_job_id=job.parent_job_id,
        children=list(job.children),
        budget=job.budget(),
        outcome=job.outcome,
        first_origin_seq=job.log.first_origin_seq,
        last_origin_seq=job.log.last_origin_seq,
    )
