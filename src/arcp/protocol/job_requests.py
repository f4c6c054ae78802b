"""Job-level requests on an open session: submit, cancel, subscribe, list (§6.6, §7).

Every failure raises an :class:`ARCPError` before any state changes, so a refused request
never mints a job id or consumes an ``event_seq`` (wire-decisions: Request failures).

:class:`JobRequests` decides; it changes a job only through the
:class:`~arcp.protocol.job_lifecycle.JobLifecycle` it is given, and never calls back into
the session core that uses it. The rules of a subscription live in
:mod:`~arcp.protocol.subscriptions`, those of a listing page in
:mod:`~arcp.protocol.job_listing`: a cluster node reads another node's job from its database
and applies the same rules, never its own.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from arcp.codec import check_numbers
from arcp.ids import new_id, wall_timestamp
from arcp.protocol.admission import admit, require_feature, under_ceiling
from arcp.protocol.agent_catalog import AgentCatalog
from arcp.protocol.authority import JobAuthority
from arcp.protocol.job_lifecycle import JobLifecycle
from arcp.protocol.job_listing import ListQuery, send_jobs
from arcp.protocol.job_table import JobRecord, submit_fingerprint
from arcp.protocol.lease import Lease
from arcp.protocol.limits import input_too_large
from arcp.protocol.runtime_actions import Action, AskCluster, StartJob, StopJob
from arcp.protocol.runtime_config import RuntimeConfig
from arcp.protocol.runtime_session import RuntimeSession
from arcp.protocol.subscriptions import (
    attach,
    audit_subscribe,
    send_subscribed,
    subscription_replay,
)
from arcp_gen.errors import (
    DuplicateKeyError,
    InvalidRequestError,
    JobCancelledError,
    JobNotFoundError,
    PermissionDeniedError,
)
from arcp_gen.features import Feature
from arcp_gen.messages import (
    JobCancelMessage,
    JobSubmitMessage,
    JobSubscribeMessage,
    JobUnsubscribeMessage,
    SessionListJobsMessage,
)
from arcp_gen.models import JobSubmitPayload

__all__ = ["JobRequests", "answer_cancel", "reduce_trace_id"]

log = logging.getLogger("arcp.runtime")
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


def reduce_trace_id(value: str | None) -> str:
    """The 32-hex trace-id of an envelope's ``trace_id`` (full traceparent accepted, §11);
    a fresh one when absent."""
    if value is None:
        return secrets.token_hex(16)
    match = _TRACEPARENT.fullmatch(value)
    return match.group(1) if match else value


def answer_cancel(
    session: RuntimeSession,
    message: JobCancelMessage,
    job_id: str,
    origin_session_id: str | None,
    trace_id: str,
) -> str:
    """Audit a cancel, refuse it or queue ``job.cancelled`` (§7.4); returns the reason the
    job ends with. ``origin_session_id`` is None when the job is not visible to the caller."""
    allowed = origin_session_id == session.session_id
    log.info(
        "audit: principal %r cancel %s: %s",
        session.principal,
        job_id,
        "allowed" if allowed else "denied",
    )
    if origin_session_id is None:
        raise JobNotFoundError("no such job", details={"job_id": job_id})
    if not allowed:
        raise PermissionDeniedError("only the submitting session may cancel a job")
    session.control(
        "job.cancelled",
        {"request_id": message.id, "job_id": job_id},
        job_id=job_id,
        trace_id=trace_id,
    )
    return message.payload.reason or "cancelled by the client"


@dataclass(frozen=True, slots=True)
class _Terms:
    """A submit's checked terms: the lease as granted and as sent back (§9)."""

    lease: Lease
    wire: dict[str, Any]
    constraints: dict[str, Any] | None


def _check_terms(session: RuntimeSession, p: JobSubmitPayload) -> _Terms:
    """Validate what a submit asks for against the session's features (§6.2, §9.5-§9.7);
    refuse numbers JSON cannot carry (§7.1)."""
    if p.lease_constraints is not None and Feature.LEASE_EXPIRES_AT not in session.features:
        raise InvalidRequestError(
            "lease_constraints needs the lease_expires_at feature",
            details={"feature": Feature.LEASE_EXPIRES_AT.value},
        )
    # RFC 8259 has no NaN/Infinity and orjson writes no integer wider than 64 bits: such
    # a number is refused here, never stored, fingerprinted or echoed as null (§7.1).
    check_numbers(p.input, "payload.input")
    check_numbers(p.max_runtime_sec, "payload.max_runtime_sec")
    parsed = Lease.from_request(p.lease_request)
    lease: dict[str, Any] = parsed.to_wire()
    constraints: dict[str, Any] | None = (
        p.lease_constraints.model_dump(mode="json", exclude_none=True)
        if p.lease_constraints is not None
        else None
    )
    if p.lease_constraints is not None:  # before JSON mode turns NaN into null
        check_numbers(p.lease_constraints.model_dump(), "payload.lease_constraints")
    for namespace, feature in (
        ("cost.budget", Feature.COST_BUDGET),
        ("model.use", Feature.MODEL_USE),
    ):
        if namespace in lease and feature not in session.features:
            raise InvalidRequestError(
                f"a {namespace} lease needs the {feature.value} feature",
                details={"feature": feature.value},
            )
    return _Terms(parsed, lease, constraints)


def _answer_retry(session: RuntimeSession, message: JobSubmitMessage, existing: JobRecord) -> None:
    """An idempotent retry of ``existing`` (§7.2): the same ``job.accepted``, and the job's
    whole stream for a retry from a new session."""
    if existing.announced:
        payload = dict(existing.accepted, request_id=message.id)
        session.control("job.accepted", payload, job_id=existing.job_id, trace_id=existing.trace_id)
    else:  # still issuing its credential: answer together with the original
        existing.waiting.append((session, message.id))
    if existing.origin is not session and existing.job_id not in session.subscriptions:
        attach(session, existing, list(existing.log.after(0)))


class JobRequests:
    """Handles the job-scoped and listing requests of an open session (§6.6, §7)."""

    def __init__(
        self, lifecycle: JobLifecycle, agents: AgentCatalog[Any], config: RuntimeConfig
    ) -> None:
        self.lifecycle = lifecycle
        self.jobs = lifecycle.jobs
        self.agents = agents
        self.config = config
        self.clustered = False
        """True on a node of several sharing one database: what is not here may be there."""

    def handle(
        self, session: RuntimeSession, message: Any, now: float, wall_now: float
    ) -> list[Action]:
        """Dispatch one request; unknown or runtime-bound types are INVALID_REQUEST."""
        if isinstance(message, JobSubmitMessage):
            return self.submit(session, message, now, wall_now)
        if isinstance(message, JobCancelMessage):
            return self.cancel(session, message, now, wall_now)
        if isinstance(message, JobSubscribeMessage):
            return self.subscribe(session, message)
        if isinstance(message, JobUnsubscribeMessage):
            self.unsubscribe(session, message)
        elif isinstance(message, SessionListJobsMessage):
            if self.clustered:
                return [AskCluster(None, session, message)]
            self.list_jobs(session, message)
        else:
            raise InvalidRequestError(
                f"a runtime does not accept {message.type}", details={"type": message.type}
            )
        return []

    # -- submit (§7.1, §7.2, §7.5) -----------------------------------------------------------

    def submit(
        self,
        session: RuntimeSession,
        message: JobSubmitMessage,
        now: float,
        wall_now: float,
        *,
        claimed_job_id: str | None = None,
    ) -> list[Action]:
        """Accept a job: resolve the agent, validate its authority (§9), honour idempotency,
        queue ``job.accepted`` (deferred until its credential exists with §9.8).

        On a cluster a new idempotency key is first claimed in the shared database
        (:class:`AskCluster`); the submit is then replayed with ``claimed_job_id``.
        """
        p = message.payload
        terms = _check_terms(session, p)
        agent, handler = self.agents.resolve(p.agent)
        fingerprint, input_bytes = submit_fingerprint(
            p.agent, p.input, terms.wire, terms.constraints, p.max_runtime_sec
        )
        limits = self.config.limits
        if input_bytes > limits.max_input_bytes:
            raise input_too_large(input_bytes, limits.max_input_bytes)
        key = p.idempotency_key
        if key is not None:
            existing = self.jobs.by_key(session.principal, key)
            if existing is not None:
                if existing.fingerprint != fingerprint:
                    raise DuplicateKeyError(
                        "idempotency_key was already used with different parameters"
                    )
                _answer_retry(session, message, existing)
                return []
            if self.clustered and claimed_job_id is None:
                return [AskCluster(None, session, message, fingerprint)]
        admit(self.jobs, limits, session.principal, input_bytes)
        job = self._new_job(
            session, message, terms, agent, now, wall_now, claimed_job_id or new_id("job")
        )
        job.fingerprint = fingerprint
        job.input_bytes = input_bytes
        self.jobs.add(job)
        if not job.needs_credentials:
            self.lifecycle.accept(job)
        log.info("job %s accepted: %s for principal %r", job.job_id, agent, session.principal)
        return [StartJob(job, handler)]

    def _new_job(
        self,
        session: RuntimeSession,
        message: JobSubmitMessage,
        terms: _Terms,
        agent: str,
        now: float,
        wall_now: float,
        job_id: str,
    ) -> JobRecord:
        """The record of a job being accepted: its authority under the principal's ceiling
        (§9, §14) and its ``job.accepted`` payload (§7.1)."""
        config = self.config
        p = message.payload
        constraints = terms.constraints
        if config.ceilings is not None:
            constraints = under_ceiling(
                config.ceilings, session, terms.lease, constraints, wall_now
            )
        authority = JobAuthority.accept(
            terms.lease,
            constraints,
            now=now,
            wall_now=wall_now,
            grace=config.expiry_grace_sec,
            model_policy=config.model_policy,
        )
        trace_id = reduce_trace_id(message.trace_id)
        accepted: dict[str, Any] = {
            "request_id": message.id,
            "job_id": job_id,
            "agent": agent,
            "lease": terms.wire,
        }
        if constraints is not None:
            accepted["lease_constraints"] = constraints
        budget = authority.budget_wire()
        if budget is not None:
            accepted["budget"] = budget
        accepted.update(accepted_at=wall_timestamp(wall_now), trace_id=trace_id)
        return JobRecord(
            job_id=job_id,
            principal=session.principal,
            agent=agent,
            lease=terms.wire,
            lease_constraints=constraints,
            trace_id=trace_id,
            created_at=accepted["accepted_at"],
            input=p.input,
            max_runtime_sec=float(p.max_runtime_sec) if p.max_runtime_sec is not None else None,
            origin=session,
            origin_session_id=session.session_id,
            log=self.lifecycle.new_job_log(job_id, trace_id),
            accepted=accepted,
            idempotency_key=p.idempotency_key,
            authority=authority,
            needs_credentials=config.credentials
            and Feature.PROVISIONED_CREDENTIALS in session.features,
        )

    # -- cancel (§7.4) --------------------------------------------------------------------------

    def cancel(
        self, session: RuntimeSession, message: JobCancelMessage, now: float, wall_now: float
    ) -> list[Action]:
        """Cancel a job this session submitted: ``job.cancelled`` then ``job.error CANCELLED``.

        Cancelling a job that already ended is acknowledged and changes nothing: its
        terminal message stands.
        """
        job_id = message.job_id or message.payload.job_id
        if job_id is None:
            raise InvalidRequestError("job.cancel needs a job_id")
        job = self.jobs.visible(job_id, session.principal)
        if job is None and self.clustered:
            return [AskCluster(None, session, message)]
        origin = job.origin_session_id if job is not None else None
        reason = answer_cancel(session, message, job_id, origin, job.trace_id if job else "")
        assert job is not None
        err = JobCancelledError(reason, retryable=False)
        if self.lifecycle.fail(job, err, "cancelled", now, wall_now):
            return [StopJob(job)]
        return []

    # -- subscribe (§7.6) -------------------------------------------------------------------------

    def subscribe(self, session: RuntimeSession, message: JobSubscribeMessage) -> list[Action]:
        """Attach this session to a job: ``job.subscribed``, optional history, then live."""
        require_feature(session, Feature.SUBSCRIBE)
        p = message.payload
        job = self.jobs.observable(p.job_id, session.principal)
        if job is None and self.clustered and p.job_id not in self.jobs.jobs:
            return [AskCluster(None, session, message)]
        if job is not None:
            audit_subscribe(session, p.job_id, job.principal, allowed=True)
        else:
            target = self.jobs.jobs.get(p.job_id)
            owner = target.principal if target is not None else None
            audit_subscribe(session, p.job_id, owner, allowed=False)
        if job is None:
            raise JobNotFoundError("no such job", details={"job_id": p.job_id})
        items = job.log.items
        replay = subscription_replay(session, job, p, items, items[-1] if items else None)
        send_subscribed(session, message, job, replay or [])
        if replay is not None:
            attach(session, job, replay)
        return []

    def unsubscribe(self, session: RuntimeSession, message: JobUnsubscribeMessage) -> None:
        """Stop delivering a subscribed job's events to this session (§7.6)."""
        require_feature(session, Feature.SUBSCRIBE)
        job_id = message.payload.job_id
        if job_id not in session.subscriptions:
            raise JobNotFoundError("no subscription to that job", details={"job_id": job_id})
        session.subscriptions.discard(job_id)
        session.journal.session(session)
        job = self.jobs.jobs.get(job_id)
        if job is not None:
            job.subscribers.pop(session.session_id, None)

    # -- list (§6.6) --------------------------------------------------------------------------------

    def list_jobs(self, session: RuntimeSession, message: SessionListJobsMessage) -> None:
        """Answer ``session.jobs`` with one keyset page of this principal's jobs."""
        query = ListQuery.of(message)
        jobs, last = self.jobs.page(
            session.principal,
            statuses=query.statuses,
            agent=query.agent,
            created_after=query.created_after,
            limit=query.limit,
            cursor=query.cursor,
        )
        send_jobs(session, message.id, jobs, last)
