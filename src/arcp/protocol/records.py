"""The records the runtime core journals and restores, owned by the core (§6.3, §6.5, §7, §9.8).

The core writes every change of its sessions and jobs as these plain records (JSON-able
values plus ``bytes``) through a :class:`~arcp.protocol.journal.Journal`, collected in a
:class:`Batch`, and reads a :class:`Snapshot` of them back at start
(:mod:`arcp.protocol.recovery`). A store (:mod:`arcp.store`) persists them and needs no
knowledge of the protocol objects; it imports these types from here, never the other way
round. Resume tokens are kept only as their SHA-256 digest (§14).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "JOB_STATE_FIELDS",
    "Batch",
    "Snapshot",
    "StoredEvent",
    "StoredJob",
    "StoredJobEvent",
    "StoredRevocation",
    "StoredSession",
]


@dataclass(slots=True)
class StoredSession:
    """One session (§6): who it is, what it negotiated and how far its buffer reaches.

    ``first_seq`` is the oldest ``event_seq`` still buffered (``last_seq + 1`` when empty): a
    store drops this session's events below it (freed by ``session.ack`` or the buffer cap).
    ``detached_at`` is a wall-clock time (seconds since the epoch), None while attached.
    """

    session_id: str
    principal: str
    features: list[str]
    token_digest: bytes
    resume_window_sec: float
    first_seq: int
    last_seq: int
    acked_seq: int
    detached_at: float | None
    subscriptions: list[str] = field(default_factory=lambda: [])


@dataclass(slots=True)
class StoredEvent:
    """One buffered event of a session, exactly as it is framed (§8.3).

    ``head`` is the pre-encoded envelope middle (type, trace and job ids); the frame is
    rebuilt from ``head``, the session's own ``seq`` and ``payload``.
    """

    seq: int
    job_id: str
    origin_seq: int
    head: bytes
    payload: bytes
    gate: int


@dataclass(slots=True)
class StoredJobEvent:
    """One entry of a job's own log, in the origin coordinate (§7.6).

    ``kind`` is 0 for ``job.event``, 1 for ``job.result``, 2 for ``job.error``.
    """

    origin_seq: int
    kind: int
    payload: bytes
    gate: int


@dataclass(slots=True)
class StoredJob:
    """Everything ``session.jobs`` and ``job.subscribed`` report about a job, and its fate.

    ``finished_at`` is wall-clock seconds, None while the job runs; ``outcome`` is the
    tuple ``(is_error, terminal payload)`` once it ended. ``first_origin_seq`` is the oldest log
    entry kept: a store drops the job's log entries below it.
    """

    job_id: str
    principal: str
    agent: str
    lease: dict[str, Any]
    lease_constraints: dict[str, Any] | None
    trace_id: str
    created_at: str
    input: Any
    max_runtime_sec: float | None
    origin_session_id: str
    accepted: dict[str, Any]
    fingerprint: bytes
    idempotency_key: str | None
    status: str
    finished_at: float | None
    parent_job_id: str | None
    children: list[str]
    budget: dict[str, float] | None
    outcome: tuple[bool, dict[str, Any]] | None
    first_origin_seq: int
    last_origin_seq: int


JOB_STATE_FIELDS = (
    "accepted",
    "status",
    "finished_at",
    "children",
    "budget",
    "outcome",
    "first_origin_seq",
    "last_origin_seq",
)
"""The fields of a :class:`StoredJob` that change after its first record (status, budget,
outcome, log range...); the others are fixed when the job is submitted."""


@dataclass(slots=True)
class StoredRevocation:
    """A credential still to be revoked upstream (§9.8.2): its id, never its value."""

    credential_id: str
    job_id: str


@dataclass(slots=True)
class Batch:
    """Every change since the last commit, applied atomically by :meth:`Store.commit`.

    Order of application: upserts of sessions and jobs, then appended events, then trims
    (rows below ``first_seq`` / ``first_origin_seq``), then deletions, then revocations.
    An event with a seq its session already holds replaces the held one; a job-log entry
    with an origin seq its job already holds is ignored (the first one stays: an entry the
    submitting session could not see shares the previous entry's origin seq, §7.6).
    A job's record is written whole once, when the store first sees the job: later records
    of a job it holds update only :data:`JOB_STATE_FIELDS` (its input, lease and the other
    fields fixed at submit are never written again, however large).
    Every event in ``events`` belongs to a session in ``sessions``, and every entry in
    ``job_events`` to a job in ``jobs`` (the journal records the owner with its entries); a
    store shared by several nodes may drop events of a session another node owns, and
    entries of a job whose home is another node.
    A batch taken from the journal holds its events and entries as
    :class:`~arcp.protocol.batch_columns.EventColumns` and
    :class:`~arcp.protocol.batch_columns.JobEventColumns` (the recorded flat lists).
    """

    sessions: dict[str, StoredSession] = field(default_factory=lambda: {})
    events: Sequence[tuple[str, StoredEvent]] = field(default_factory=lambda: [])
    jobs: dict[str, StoredJob] = field(default_factory=lambda: {})
    job_events: Sequence[tuple[str, StoredJobEvent]] = field(default_factory=lambda: [])
    forget_sessions: set[str] = field(default_factory=lambda: set())
    forget_jobs: set[str] = field(default_factory=lambda: set())
    revocations_added: list[StoredRevocation] = field(default_factory=lambda: [])
    revocations_done: list[str] = field(default_factory=lambda: [])

    def __bool__(self) -> bool:
        return bool(
            self.sessions
            or self.events
            or self.jobs
            or self.job_events
            or self.forget_sessions
            or self.forget_jobs
            or self.revocations_added
            or self.revocations_done
        )


@dataclass(slots=True)
class Snapshot:
    """Everything a store holds, read back at start (events oldest first per owner).

    A job's log may be a lazy sequence that reads or decodes its entries on first use: the
    runtime touches a restored log only when a subscriber asks for its history.
    """

    sessions: list[StoredSession] = field(default_factory=lambda: [])
    events: dict[str, list[StoredEvent]] = field(default_factory=lambda: {})
    jobs: list[StoredJob] = field(default_factory=lambda: [])
    job_events: dict[str, Sequence[StoredJobEvent]] = field(default_factory=lambda: {})
    revocations: list[StoredRevocation] = field(default_factory=lambda: [])
