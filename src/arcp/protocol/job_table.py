"""The runtime's job records: creation, idempotency, visibility and listing (§6.6, §7).

Sans-IO: no tasks, no sockets. Job execution and event fan-out live elsewhere; this module
answers "which job is this, who may see it, and what does a listing page contain".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import orjson

from arcp.protocol.event_frames import ByteAccount, JobEventLog
from arcp.protocol.journal import Journal, NoJournal
from arcp.protocol.runtime_session import RuntimeSession
from arcp.protocol.states import TERMINAL_JOB_STATUSES
from arcp_gen.errors import InvalidRequestError
from arcp_gen.models import JobStatus

if TYPE_CHECKING:
    from arcp.protocol.authority import JobAuthority

__all__ = [
    "TERMINAL_STATUSES",
    "JobRecord",
    "JobTable",
    "ObserverPolicy",
    "decode_cursor",
    "encode_cursor",
    "stored_fingerprint",
    "submit_fingerprint",
]

TERMINAL_STATUSES: Final[frozenset[JobStatus]] = TERMINAL_JOB_STATUSES
"""Statuses a job never leaves (§7.3; the table is :data:`arcp.protocol.states.JOB`)."""


@dataclass(slots=True, eq=False)
class JobRecord:
    """One submitted job and everything the runtime reports about it (§7.1, §6.6)."""

    job_id: str
    principal: str
    agent: str
    lease: dict[str, Any]
    lease_constraints: dict[str, Any] | None
    trace_id: str
    created_at: str
    input: Any = field(repr=False)
    max_runtime_sec: float | None
    origin: RuntimeSession | None = field(repr=False)
    origin_session_id: str
    log: JobEventLog = field(repr=False)
    accepted: dict[str, Any] = field(repr=False)
    fingerprint: bytes = field(default=b"", repr=False)
    idempotency_key: str | None = None
    status: JobStatus = "pending"
    """Where the job is in its lifecycle (§7.3); moved only by
    :func:`arcp.protocol.states.advance_job`."""
    finished_at: float | None = None
    subscribers: dict[str, RuntimeSession] = field(default_factory=lambda: {}, repr=False)
    authority: JobAuthority | None = field(default=None, repr=False)
    parent_job_id: str | None = None
    children: list[str] = field(default_factory=lambda: [], repr=False)
    needs_credentials: bool = field(default=False, repr=False)
    announced: bool = field(default=False, repr=False)
    """True once ``job.accepted`` went out (deferred while a credential is issued, §9.8.2)."""
    waiting: list[tuple[RuntimeSession, str]] = field(default_factory=lambda: [], repr=False)
    """Idempotent retries that arrived before ``job.accepted`` went out: (session, request id)."""
    outcome: tuple[bool, dict[str, Any]] | None = field(default=None, repr=False)
    """``(is_error, terminal payload)`` once the job ended."""
    stored_budget: dict[str, float] | None = field(default=None, repr=False)
    """The budget counters read back from a store, for a job with no live authority."""
    input_bytes: int = field(default=0, repr=False)
    """The size of the encoded ``input``, counted against the principal's limits (§14)."""

    def budget(self) -> dict[str, float] | None:
        """The current budget counters, or None without ``cost.budget`` (§9.6)."""
        if self.authority is not None:
            return self.authority.budget_wire()
        return self.stored_budget

    @property
    def terminal(self) -> bool:
        """True once the job sent its one terminal message (§7.3)."""
        return self.status in TERMINAL_STATUSES

    def authority_bounds(self) -> dict[str, Any]:
        """The non-secret authority bounds every observer sees (§7.6): the effective lease,
        its constraints and the current budget counters, when present."""
        bounds: dict[str, Any] = {"lease": self.lease}
        if self.lease_constraints is not None:
            bounds["lease_constraints"] = self.lease_constraints
        budget = self.budget()
        if budget is not None:
            bounds["budget"] = budget
        return bounds

    def summary(self) -> dict[str, Any]:
        """The ``session.jobs`` entry for this job (§6.6)."""
        entry: dict[str, Any] = {
            "job_id": self.job_id,
            "agent": self.agent,
            "status": self.status,
            **self.authority_bounds(),
        }
        entry.update(
            parent_job_id=self.parent_job_id,
            created_at=self.created_at,
            submitted_at=self.created_at,
            trace_id=self.trace_id,
            last_event_seq=self.log.last_origin_seq,
        )
        return entry


_FINGERPRINT_PREFIX = b"sha256:"


def submit_fingerprint(
    agent: str,
    input: Any,
    lease: Any,
    constraints: Any,
    max_runtime_sec: Any,
) -> tuple[bytes, int]:
    """The idempotency fingerprint of a submit's parameters (§7.2) and the size of its
    encoded ``input``. A digest: a job keeps 39 bytes, not a second copy of its input."""
    sort = orjson.OPT_SORT_KEYS
    encoded = orjson.dumps(input, option=sort)
    digest = hashlib.sha256(orjson.dumps([agent, lease, constraints, max_runtime_sec], option=sort))
    digest.update(b"\n")
    digest.update(encoded)
    return _FINGERPRINT_PREFIX + digest.digest(), len(encoded)


def stored_fingerprint(fingerprint: bytes) -> bytes:
    """A fingerprint read back from a store, in today's form: earlier versions stored the
    encoded ``[agent, input, lease, constraints, max_runtime_sec]`` itself."""
    if not fingerprint or fingerprint.startswith(_FINGERPRINT_PREFIX):
        return fingerprint
    try:
        agent, input, lease, constraints, max_runtime_sec = orjson.loads(fingerprint)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return fingerprint
    return submit_fingerprint(agent, input, lease, constraints, max_runtime_sec)[0]


def encode_cursor(job: JobRecord) -> str:
    """An opaque keyset cursor pointing just after ``job`` (§6.6)."""
    raw = orjson.dumps([job.created_at, job.job_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The job id a cursor points after; ``INVALID_REQUEST`` when it is not ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise InvalidRequestError("cursor is not valid") from None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], str)):  # pyright: ignore[reportUnknownArgumentType]
        raise InvalidRequestError("cursor is not valid")
    return str(value[1])  # pyright: ignore[reportUnknownArgumentType]


ObserverPolicy = Callable[[str, JobRecord], bool]
"""Whether a session of principal ``p`` may subscribe to another principal's job (§7.6, §14)."""


class JobTable:
    """Every job the runtime knows, in creation order (job ids are ULIDs, so sortable)."""

    def __init__(self, observer_policy: ObserverPolicy | None = None) -> None:
        self.jobs: dict[str, JobRecord] = {}
        self._idempotency: dict[tuple[str, str], JobRecord] = {}
        self.unfinished: dict[str, int] = {}
        """Per principal, how many of its jobs have not ended (§14 caps)."""
        self._retained: dict[str, ByteAccount] = {}
        """Per principal, the bytes its jobs still kept hold: inputs, logged events and
        results (§14 caps)."""
        self.observer_policy = observer_policy
        self.journal: Journal = NoJournal()
        """Where new and forgotten jobs are recorded for the store, when there is one."""

    def __len__(self) -> int:
        return len(self.jobs)

    def visible(self, job_id: str | None, principal: str) -> JobRecord | None:
        """The job if ``principal`` may observe it, else None (never leak existence, §6.6)."""
        job = self.jobs.get(job_id) if job_id else None
        return job if job is not None and job.principal == principal else None

    def observable(self, job_id: str | None, principal: str) -> JobRecord | None:
        """Like :meth:`visible`, widened by the observer policy for subscriptions (§14)."""
        job = self.jobs.get(job_id) if job_id else None
        if job is None:
            return None
        if job.principal == principal:
            return job
        policy = self.observer_policy
        return job if policy is not None and policy(principal, job) else None

    def by_key(self, principal: str, key: str) -> JobRecord | None:
        """The job an idempotency key already names for this principal (§7.2)."""
        return self._idempotency.get((principal, key))

    def add(self, job: JobRecord) -> None:
        """Insert a new job (and its idempotency key); call with no await since the check."""
        self.jobs[job.job_id] = job
        if job.idempotency_key is not None:
            self._idempotency[(job.principal, job.idempotency_key)] = job
        principal = job.principal
        if not job.terminal:
            self.unfinished[principal] = self.unfinished.get(principal, 0) + 1
        account = self._retained.get(principal)
        if account is None:
            account = self._retained[principal] = ByteAccount()
        account.value += job.input_bytes + job.log.size
        job.log.account = account
        self.journal.job(job)

    def ended(self, job: JobRecord) -> None:
        """Count ``job`` out of its principal's unfinished jobs (call once, as it ends)."""
        _less(self.unfinished, job.principal, 1)

    def remove(self, job: JobRecord) -> None:
        """Forget a finished job once its listing window has passed (§6.6)."""
        if self.jobs.pop(job.job_id, None) is not None:
            if not job.terminal:
                _less(self.unfinished, job.principal, 1)
            self._release(job)
        if job.idempotency_key is not None:
            key = (job.principal, job.idempotency_key)
            if self._idempotency.get(key) is job:
                del self._idempotency[key]
        self.journal.forget_job(job.job_id)

    def retained(self, principal: str) -> int:
        """The bytes ``principal``'s kept jobs hold: encoded inputs, and the events and
        results their logs keep (§14; what the runtime holds for the resume window)."""
        account = self._retained.get(principal)
        return 0 if account is None else account.value

    def _release(self, job: JobRecord) -> None:
        account = job.log.account
        if account is None:
            return
        job.log.account = None
        account.value -= job.input_bytes + job.log.size
        if account.value <= 0 and self._retained.get(job.principal) is account:
            del self._retained[job.principal]

    def expired(self, now: float, window: float) -> list[JobRecord]:
        """Finished jobs older than the resume window."""
        return [
            job
            for job in self.jobs.values()
            if job.finished_at is not None and now - job.finished_at > window
        ]

    def page(
        self,
        principal: str,
        *,
        statuses: frozenset[str] | None,
        agent: str | None,
        created_after: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[JobRecord], JobRecord | None]:
        """One listing page and the last job on it when more follow (§6.6).

        ``created_after`` is compared as a normalised RFC 3339 string.
        """
        after_id = decode_cursor(cursor) if cursor else None
        out: list[JobRecord] = []
        for job in self.jobs.values():
            if after_id is not None and job.job_id <= after_id:
                continue
            if job.principal != principal:
                continue
            if statuses is not None and job.status not in statuses:
                continue
            if agent is not None and not (
                job.agent == agent or job.agent.split("@", 1)[0] == agent
            ):
                continue
            if created_after is not None and job.created_at <= created_after:
                continue
            if len(out) == limit:
                return out, out[-1]
            out.append(job)
        return out, None


def _less(counts: dict[str, int], key: str, amount: int) -> None:
    left = counts.get(key, 0) - amount
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)
