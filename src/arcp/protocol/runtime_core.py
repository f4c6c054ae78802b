"""The runtime's protocol brain, sans-IO: handshake, dispatch, jobs and fan-out (§6-§8).

:class:`RuntimeCore` owns every session and job. The asyncio layer feeds it frames with
:meth:`RuntimeCore.on_frame` and acts on what it returns: authenticate a hello, start an
agent, stop one. Agents report through :meth:`emit` and :meth:`finish`, which stamp and queue
frames for every session that should see them without ever waiting on a network.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson

from arcp.codec import DecodeError, decode
from arcp.ids import new_id, utc_timestamp
from arcp.protocol.agent_catalog import AgentCatalog
from arcp.protocol.authority import ChildAuthority, ModelPolicy
from arcp.protocol.ceilings import Ceilings
from arcp.protocol.event_frames import GATE_NONE, JobEventLog, event_payload
from arcp.protocol.flow import Valve
from arcp.protocol.job_requests import JobRequests
from arcp.protocol.job_table import JobRecord, JobTable, ObserverPolicy
from arcp.protocol.journal import Journal
from arcp.protocol.limits import Limits, principal_cap
from arcp.protocol.recovery import restore_jobs, restore_sessions
from arcp.protocol.runtime_actions import Action, AskCluster, Authenticate
from arcp.protocol.runtime_connection import RuntimeConnection
from arcp.protocol.runtime_session import RuntimeSession
from arcp.protocol.states import advance_job
from arcp.store.base import Snapshot
from arcp_gen.errors import (
    ARCPError,
    InternalError,
    InvalidRequestError,
    ResumeWindowExpiredError,
    UnauthenticatedError,
)
from arcp_gen.features import Feature, intersect
from arcp_gen.messages import (
    JobSubmitMessage,
    SessionAckMessage,
    SessionByeMessage,
    SessionCloseMessage,
    SessionHelloMessage,
    SessionPingMessage,
    SessionPongMessage,
    SessionResumeMessage,
)
from arcp_gen.metamodel import CLIENT_SENDS, MESSAGES
from arcp_gen.models import ResumeRequest, SessionResumePayload

__all__ = [
    "CONFIGURED_FEATURES",
    "SUPPORTED_FEATURES",
    "UNIMPLEMENTED_FEATURES",
    "RuntimeConfig",
    "RuntimeCore",
]

log = logging.getLogger("arcp.runtime")

SUPPORTED_FEATURES: frozenset[Feature] = frozenset(
    {
        Feature.HEARTBEAT,
        Feature.ACK,
        Feature.LIST_JOBS,
        Feature.SUBSCRIBE,
        Feature.PROGRESS,
        Feature.RESULT_CHUNK,
        Feature.AGENT_VERSIONS,
        Feature.LEASE_EXPIRES_AT,
        Feature.COST_BUDGET,
    }
)
"""The features this runtime implements end to end (advertised in the welcome, §6.2).

Written by hand on purpose: a flag a spec bump adds to the generated ``Feature`` is not
advertised until it is implemented and listed here ("negotiate honestly").
"""

CONFIGURED_FEATURES: frozenset[Feature] = frozenset(
    {Feature.MODEL_USE, Feature.PROVISIONED_CREDENTIALS}
)
"""Implemented, but advertised only when configured: a model policy (§9.7), a credential
provisioner (§9.8)."""

UNIMPLEMENTED_FEATURES: frozenset[Feature] = frozenset()
"""Generated flags this runtime knowingly does not implement (never advertised)."""

H = TypeVar("H")

_ANSWERED_UNNEGOTIATED = frozenset({"session.ping", "session.pong"})
"""Leniency: a ping is answered (and a pong taken) even without ``heartbeat`` (§6.4)."""


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """Runtime-wide settings (§6.2-§6.5)."""

    name: str = "arcp-python"
    version: str = "0.1.0"
    features: frozenset[Feature] = SUPPORTED_FEATURES
    resume_window_sec: float = 600
    heartbeat_interval_sec: float = 30
    back_pressure_threshold: int = 1000
    buffer_limit: int = 100_000
    high_water: int = 50_000
    expiry_grace_sec: float = 1.0
    model_policy: ModelPolicy = "require"
    credentials: bool = False
    limits: Limits = field(default_factory=Limits)
    ceilings: Ceilings | None = None


class RuntimeCore(Generic[H]):
    """All sessions and jobs of one runtime, driven by frames and a clock."""

    def __init__(
        self,
        config: RuntimeConfig,
        agents: AgentCatalog[H],
        observer_policy: ObserverPolicy | None = None,
    ) -> None:
        self.config = config
        self.agents = agents
        self.sessions: dict[str, RuntimeSession] = {}
        self.jobs = JobTable(observer_policy)
        self.requests = JobRequests(self)
        self.journal: Journal | None = None
        """Set by the runtime when a store is configured; every change is recorded there."""
        self.clustered = False
        """True on a node of several sharing one database: what is not here may be there."""
        self.store_flow = Valve()
        """Shut while the store cannot commit: agents wait and new jobs are refused."""

    def attach_journal(self, journal: Journal) -> None:
        """Record every later change (and every session and job known now) in ``journal``."""
        self.journal = self.jobs.journal = journal
        for session in self.sessions.values():
            session.journal = journal

    # -- frames in -----------------------------------------------------------------------

    def on_frame(self, conn: RuntimeConnection, data: bytes, now: float) -> list[Action]:
        """Handle one inbound frame; bad input is answered, never raised (wire-decisions)."""
        if conn.current:
            assert conn.session is not None
            conn.session.received(now)
        try:
            message = decode(data)
        except DecodeError as err:
            if not conn.current and _bad_auth(err):
                # wire-decisions: a bad or missing token is UNAUTHENTICATED, then close (§6.1).
                conn.error(UnauthenticatedError("missing or invalid bearer token"), err.envelope_id)
                conn.close_after_flush()
                return []
            conn.error(err, err.envelope_id)
            return []
        except Exception:  # a frame the codec could not even describe (e.g. absurd nesting)
            log.debug("undecodable frame", exc_info=True)
            conn.error(InvalidRequestError("frame could not be decoded"))
            return []
        try:
            return self._dispatch(conn, message, now)
        except ARCPError as err:
            conn.error(err, message.id)
        except Exception:
            log.exception("internal error handling %s", message.type)
            conn.error(InternalError("the runtime failed to handle the request"), message.id)
        return []

    def _dispatch(self, conn: RuntimeConnection, message: Any, now: float) -> list[Action]:
        session = conn.session if conn.current else None
        if session is None:
            if isinstance(message, SessionHelloMessage):
                if message.payload.resume is not None:
                    if self._elsewhere(message.payload.resume.session_id):
                        return [AskCluster(conn, None, message)]
                    self.resume(conn, message.id, message.payload.resume, now)
                    return []
                auth = message.payload.auth
                return [Authenticate(conn, message, auth.token if auth is not None else None)]
            if isinstance(message, SessionResumeMessage):
                if self._elsewhere(message.payload.session_id):
                    return [AskCluster(conn, None, message)]
                self.resume(conn, message.id, message.payload, now)
                return []
            raise InvalidRequestError("the session is not open; send session.hello first")
        self._admit(session, message.type)
        if isinstance(message, SessionPingMessage):
            session.ping(message.payload.nonce)
        elif isinstance(message, SessionPongMessage):
            pass
        elif isinstance(message, SessionAckMessage):
            session.ack(message.payload.last_processed_seq)
        elif isinstance(message, SessionCloseMessage | SessionByeMessage):
            session.close()
        elif isinstance(message, SessionHelloMessage | SessionResumeMessage):
            raise InvalidRequestError("this connection already has an open session")
        elif self.store_flow.shut and isinstance(message, JobSubmitMessage):
            raise InternalError("the runtime cannot write to its store; retry later")
        else:
            session.active = True
            return self.requests.handle(session, message, now)
        return []

    def _admit(self, session: RuntimeSession, message_type: str) -> None:
        """Refuse what a client may not send (§5), or may send only under a feature the
        session did not negotiate (§6.2); both read from the generated metamodel."""
        if message_type not in CLIENT_SENDS:
            raise InvalidRequestError(
                f"a runtime does not accept {message_type}", details={"type": message_type}
            )
        feature = MESSAGES[message_type].feature
        if feature is not None and message_type not in _ANSWERED_UNNEGOTIATED:
            self.require(session, feature)

    @staticmethod
    def require(session: RuntimeSession, feature: Feature) -> None:
        """Refuse a request for a feature the session did not negotiate (§6.2)."""
        if feature not in session.features:
            raise InvalidRequestError(
                f"feature {feature.value!r} was not negotiated", details={"feature": feature.value}
            )

    # -- handshake (§6.1-§6.3) ---------------------------------------------------------------

    def on_authenticated(
        self, conn: RuntimeConnection, hello: SessionHelloMessage, principal: str | None, now: float
    ) -> RuntimeSession | None:
        """Open a session for an authenticated hello, or refuse and close (§6.1)."""
        if principal is None:
            conn.error(UnauthenticatedError("missing or invalid bearer token"), hello.id)
            conn.close_after_flush()
            return None
        cap = self.config.limits.max_sessions_per_principal
        if sum(1 for s in self.sessions.values() if s.attached and s.principal == principal) >= cap:
            log.warning("principal %r refused a session: %d attached (§14)", principal, cap)
            conn.error(
                principal_cap("attached sessions", "max_sessions_per_principal", cap), hello.id
            )
            conn.close_after_flush()
            return None
        caps = hello.payload.capabilities
        features = intersect(self.config.features, (caps.features or []) if caps else [])
        session = self.new_session(new_id("sess"), principal, features, now)
        conn.bind(session)
        session.welcome()
        log.info("session %s opened for principal %r", session.session_id, principal)
        return session

    def new_session(
        self, session_id: str, principal: str, features: Iterable[Feature], now: float
    ) -> RuntimeSession:
        """Create and register a session with the runtime's settings (§6.2)."""
        session = RuntimeSession(
            session_id=session_id,
            principal=principal,
            features=features,
            welcome_base=self._welcome_base(),
            now=now,
            resume_window_sec=self.config.resume_window_sec,
            heartbeat_interval_sec=self.config.heartbeat_interval_sec,
            back_pressure_threshold=self.config.back_pressure_threshold,
            buffer_limit=self.config.buffer_limit,
            high_water=self.config.high_water,
            max_control_bytes=self.config.limits.max_queued_control_bytes,
        )
        session.journal = self.journal
        self.sessions[session_id] = session
        return session

    def restore(self, snapshot: Snapshot, now: float, wall_now: float) -> list[JobRecord]:
        """Load a store's sessions and jobs into an empty core; returns the jobs that were
        running when the previous process stopped (the caller ends them, §7.3)."""
        sessions = restore_sessions(snapshot, self.new_session, now, wall_now)
        by_id = {session.session_id: session for session in sessions}
        window = self.config.resume_window_sec
        jobs, running = restore_jobs(snapshot, by_id, self.new_job_log, now, wall_now, window)
        for job in jobs:
            self.jobs.add(job)
        if not self.clustered:  # no other node can hold the jobs these name
            for session in sessions:
                session.subscriptions &= self.jobs.jobs.keys()
        return running

    def _welcome_base(self) -> dict[str, Any]:
        return {
            "runtime": {"name": self.config.name, "version": self.config.version},
            "capabilities": {"encodings": ["json"], "agents": self.agents.describe()},
        }

    def _elsewhere(self, session_id: str) -> bool:
        """True when a cluster node must look for this session in the shared database."""
        return self.clustered and session_id not in self.sessions

    def resume(
        self,
        conn: RuntimeConnection,
        request_id: str,
        request: SessionResumePayload | ResumeRequest,
        now: float,
    ) -> None:
        session = self.sessions.get(request.session_id)
        if session is None:
            raise ResumeWindowExpiredError("the session cannot be resumed")
        superseded = session.notify if session.attached else None
        err = session.resume(request.resume_token, request.last_event_seq, now)
        if err is not None:
            raise err
        conn.bind(session)
        if superseded is not None:
            superseded()
        log.info("session %s resumed after seq %d", session.session_id, request.last_event_seq)

    def on_disconnect(self, conn: RuntimeConnection, now: float) -> None:
        """The transport closed: detach the session, keep it and its jobs (§6.3, §6.4)."""
        if conn.current:
            assert conn.session is not None
            conn.session.detach(now)

    # -- jobs: fan-out and terminal messages (§7.3, §8) ------------------------------------

    def new_job_log(self, job_id: str, trace_id: str) -> JobEventLog:
        """An empty event log for a new job, bounded like the session buffers."""
        return JobEventLog(job_id, trace_id, self.config.buffer_limit)

    def event(self, job: JobRecord, kind: str, body: dict[str, Any], gate: int = GATE_NONE) -> bool:
        """Encode one event of ``kind`` with ``body`` (§8.1) and send it to every session that
        sees ``job`` (§8.3). Returns False (and drops the event) once the job is terminal."""
        return self.emit(job, event_payload(kind, body), gate)

    def emit(self, job: JobRecord, payload: bytes, gate: int = GATE_NONE) -> bool:
        """Send one encoded ``job.event`` payload to every session that sees ``job`` (§8.3).

        The payload is kept by replay buffers and the job log: pass exact-size bytes (as
        :func:`~arcp.protocol.event_frames.event_payload` builds them), not a fresh
        ``orjson.dumps`` result, which holds a ~4 KiB allocation whatever its length.
        Returns False (and drops the event) once the job is terminal.
        """
        if job.finished_at is not None:
            return False
        log_ = job.log
        origin = job.origin
        if origin is not None and origin.accepts(gate):
            item = log_.event_item(origin.next_seq, payload, gate)
            origin.push_event(item, log_)
        else:
            item = log_.event_item(
                log_.last_origin_seq + (1 if origin is None else 0), payload, gate
            )
        if self.journal is not None:
            self.journal.job_event(job, item)
        lagging: list[RuntimeSession] | None = None
        for sub in job.subscribers.values():
            if sub.accepts(gate):
                sub.push_event(item, log_)
                if sub.flow.shut:
                    lagging = [sub] if lagging is None else [*lagging, sub]
        if lagging is not None:
            self._drop_subscribers(job, lagging)
        return True

    def _drop_subscribers(self, job: JobRecord, lagging: list[RuntimeSession]) -> None:
        """Unsubscribe sessions that fell ``high_water`` events behind, with an error (§13.2):
        a subscriber never throttles someone else's job and is never starved silently."""
        for sub in lagging:
            job.subscribers.pop(sub.session_id, None)
            sub.subscriptions.discard(job.job_id)
            if self.journal is not None:
                self.journal.session(sub)
            log.warning(
                "session %s fell %d events behind job %s: unsubscribed",
                sub.session_id,
                sub.lag,
                job.job_id,
            )
            err = InternalError(
                "the subscriber fell too far behind and was unsubscribed; subscribe again",
                details={"job_id": job.job_id, "lag": sub.lag},
            )
            sub.control("session.error", err.to_payload(), job_id=job.job_id)

    def emit_private(self, job: JobRecord, full: bytes, redacted: bytes) -> bool:
        """Emit an event whose secret-bearing form only the submitting session sees (§9.8.2).

        Subscribers, the job log (history replay) and every other session get ``redacted``.
        """
        if job.finished_at is not None:
            return False
        log_ = job.log
        origin = job.origin
        seq = origin.next_seq if origin is not None else log_.last_origin_seq + 1
        item = log_.event_item(seq, redacted)
        if self.journal is not None:
            self.journal.job_event(job, item)
        if origin is not None:
            origin.push_event((item[0], item[1], full, item[3]), log_, stored=item)
        for sub in job.subscribers.values():
            sub.push_event(item, log_)
        lagging = [sub for sub in job.subscribers.values() if sub.flow.shut]
        if lagging:
            self._drop_subscribers(job, lagging)
        return True

    def accept(self, job: JobRecord) -> None:
        """Queue the job's ``job.accepted`` to its submitting session and to idempotent
        retries that arrived meanwhile (§7.1, §7.2)."""
        job.announced = True
        if job.origin is not None:
            job.origin.control(
                "job.accepted", job.accepted, job_id=job.job_id, trace_id=job.trace_id
            )
        for session, request_id in job.waiting:
            payload = dict(job.accepted, request_id=request_id)
            session.control("job.accepted", payload, job_id=job.job_id, trace_id=job.trace_id)
        job.waiting.clear()

    def refuse(self, job: JobRecord, err: ARCPError) -> None:
        """Withdraw a job that could not be accepted (e.g. no credential): ``session.error``."""
        self.jobs.remove(job)
        if job.origin is not None:
            job.origin.error(err, job.accepted.get("request_id"))
        for session, request_id in job.waiting:
            session.error(err, request_id)
        job.waiting.clear()

    def spawn_child(
        self, parent: JobRecord, agent: str, input: Any, derived: ChildAuthority
    ) -> JobRecord:
        """Create a delegated job: same principal and trace, ``parent_job_id`` set (§10, §11)."""
        job_id = new_id("job")
        accepted: dict[str, Any] = {
            "job_id": job_id,
            "agent": agent,
            "lease": derived.lease_wire,
            "accepted_at": utc_timestamp(),
            "trace_id": parent.trace_id,
        }
        if derived.lease_constraints is not None:
            accepted["lease_constraints"] = derived.lease_constraints
        budget = derived.authority.budget_wire()
        if budget is not None:
            accepted["budget"] = budget
        child = JobRecord(
            job_id=job_id,
            principal=parent.principal,
            agent=agent,
            lease=derived.lease_wire,
            lease_constraints=derived.lease_constraints,
            trace_id=parent.trace_id,
            created_at=accepted["accepted_at"],
            input=input,
            max_runtime_sec=None,
            origin=None,
            origin_session_id=parent.origin_session_id,
            log=self.new_job_log(job_id, parent.trace_id),
            accepted=accepted,
            authority=derived.authority,
            parent_job_id=parent.job_id,
        )
        self.jobs.add(child)
        parent.children.append(job_id)
        return child

    def mark_running(self, job: JobRecord) -> None:
        """The agent started (§7.3)."""
        if job.status == "pending":
            advance_job(job, "running")
            if self.journal is not None:
                self.journal.job(job)

    def succeed(self, job: JobRecord, outcome: dict[str, Any], now: float) -> bool:
        """End ``job`` with ``job.result`` (``outcome`` holds result or result_id/size)."""
        payload = {"final_status": "success", **outcome, "completed_at": utc_timestamp()}
        return self._finish(job, "success", payload, error=False, now=now)

    def fail(self, job: JobRecord, err: ARCPError, final_status: str, now: float) -> bool:
        """End ``job`` with ``job.error`` carrying ``err`` (§7.3, §12)."""
        payload = err.to_payload()
        payload.update(final_status=final_status, completed_at=utc_timestamp())
        return self._finish(job, final_status, payload, error=True, now=now)

    def _finish(
        self, job: JobRecord, status: str, payload: dict[str, Any], *, error: bool, now: float
    ) -> bool:
        if job.terminal:
            return False
        # May raise TypeError: nothing changed yet. An exact-size copy, as for events: the
        # terminal entry stays in the job log and the buffers as long as the job is kept.
        data = bytes(memoryview(orjson.dumps(payload)))
        if self.jobs.jobs.get(job.job_id) is job:
            self.jobs.ended(job)
        advance_job(job, status)
        job.finished_at = now
        job.outcome = (error, payload)
        origin = job.origin
        origin_seq = origin.next_seq if origin is not None else job.log.last_origin_seq + 1
        item = job.log.terminal_item(origin_seq, data, error=error)
        if self.journal is not None:
            self.journal.job_event(job, item)
        if origin is not None:
            origin.push_event(item)
        for sub in job.subscribers.values():
            sub.push_event(item)
            sub.subscriptions.discard(job.job_id)
        job.subscribers.clear()
        return True

    # -- housekeeping --------------------------------------------------------------------

    def sweep(self, now: float) -> None:
        """Forget sessions detached past the resume window and jobs finished before it;
        disconnect sessions idle past ``Limits.idle_session_sec`` (§14)."""
        idle_limit = self.config.limits.idle_session_sec
        if idle_limit is not None:
            self._disconnect_idle(now, idle_limit)
        gone = [s for s in self.sessions.values() if s.expired(now)]
        for session in gone:
            del self.sessions[session.session_id]
            session.release()
            if self.journal is not None:
                self.journal.forget_session(session.session_id)
            log.info("session %s expired", session.session_id)
        if gone:
            dead = {s.session_id for s in gone}
            for job in self.jobs.jobs.values():
                if job.origin is not None and job.origin.session_id in dead:
                    job.origin = None
                for sid in dead & job.subscribers.keys():
                    del job.subscribers[sid]
        for job in self.jobs.expired(now, self.config.resume_window_sec):
            self.jobs.remove(job)

    def _disconnect_idle(self, now: float, limit: float) -> None:
        idle = [s for s in self.sessions.values() if s.idle(now, limit)]
        if not idle:
            return
        busy = {
            job.origin.session_id
            for job in self.jobs.jobs.values()
            if job.origin is not None and not job.terminal
        }
        for session in idle:
            if session.session_id in busy or session.subscriptions or session.closing:
                continue
            log.info("session %s disconnected: idle for %.0f s (§14)", session.session_id, limit)
            session.disconnect()

    def live_sessions(self) -> Iterable[RuntimeSession]:
        """Every session currently attached to a connection."""
        return [s for s in self.sessions.values() if s.attached]


def _bad_auth(err: DecodeError) -> bool:
    """True when a ``session.hello`` failed the schema in its ``auth`` (e.g. no ``token``)."""
    where = err.details.get("field") if err.details else None
    return (
        err.message_type == "session.hello"
        and isinstance(where, str)
        and (where == "payload.auth" or where.startswith("payload.auth."))
    )
