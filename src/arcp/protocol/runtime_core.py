"""The runtime's protocol brain, sans-IO: handshake, dispatch and session upkeep (§6-§8).

:class:`RuntimeCore` owns every session and job. The asyncio layer feeds it frames with
:meth:`RuntimeCore.on_frame` and acts on what it returns: authenticate a hello, start an
agent, stop one. Job requests go to :class:`~arcp.protocol.job_requests.JobRequests`, and a
job's events and end to :class:`~arcp.protocol.job_lifecycle.JobLifecycle`, whose methods
the core exposes as its own (:meth:`emit`, :meth:`succeed`, :meth:`fail`, ...): the arrows
run one way, core → requests → lifecycle, and nothing calls back up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from arcp.codec import DecodeError, decode
from arcp.ids import new_id
from arcp.protocol.admission import require_feature
from arcp.protocol.agent_catalog import AgentCatalog
from arcp.protocol.flow import Valve
from arcp.protocol.frame_stamps import FrameStamps, WallClock
from arcp.protocol.job_lifecycle import JobLifecycle
from arcp.protocol.job_requests import JobRequests
from arcp.protocol.job_table import JobRecord, JobTable, ObserverPolicy
from arcp.protocol.journal import Journal, NoJournal
from arcp.protocol.limits import AttachedSessions, principal_cap
from arcp.protocol.ready import Ready
from arcp.protocol.records import Snapshot
from arcp.protocol.recovery import restore_jobs, restore_sessions
from arcp.protocol.runtime_actions import Action, AskCluster, Authenticate
from arcp.protocol.runtime_config import (
    CONFIGURED_FEATURES,
    SUPPORTED_FEATURES,
    UNIMPLEMENTED_FEATURES,
    RuntimeConfig,
    WelcomeBase,
)
from arcp.protocol.runtime_connection import RuntimeConnection
from arcp.protocol.runtime_session import RuntimeSession
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

H = TypeVar("H")

_ANSWERED_UNNEGOTIATED = frozenset({"session.ping", "session.pong"})
"""Leniency: a ping is answered (and a pong taken) even without ``heartbeat`` (§6.4)."""


class RuntimeCore(Generic[H]):
    """All sessions and jobs of one runtime, driven by frames and a clock."""

    def __init__(
        self,
        config: RuntimeConfig,
        agents: AgentCatalog[H],
        observer_policy: ObserverPolicy | None = None,
        *,
        clock: WallClock,
    ) -> None:
        """``clock`` is the adapter's wall clock in milliseconds: envelope ids and event
        timestamps are read from it, so the core itself reads no clock."""
        self.config = config
        self.ready = Ready()
        """What the core made ready since the adapter last looked: its one way out (the
        adapter takes it after everything it feeds in; see :mod:`arcp.protocol.ready`)."""
        self.stamps = FrameStamps(clock)
        self.agents = agents
        self.welcome_base = WelcomeBase(config, agents)
        """Shared by every session's welcome (§6.2), built when one is sent."""
        self.sessions: dict[str, RuntimeSession] = {}
        self.attached_by_principal = AttachedSessions()
        """Attached sessions per principal (§14), kept up to date by the sessions."""
        self._feature_sets: dict[frozenset[Feature], frozenset[Feature]] = {}
        """One shared set per combination of negotiated features."""
        self.jobs = JobTable(observer_policy)
        self.lifecycle = JobLifecycle(self.jobs, self.stamps, config.buffer_limit)
        self.requests = JobRequests(self.lifecycle, agents, config)
        self.journal: Journal = NoJournal()
        """Replaced by the runtime when a store is configured; every change is recorded there."""
        self.store_flow = Valve(self.ready)
        """Shut while the store cannot commit: agents wait and new jobs are refused."""
        # A job's life, as the runtime's agents and the cluster drive it (bound once: the
        # event path pays no extra call).
        lifecycle = self.lifecycle
        self.new_job_log = lifecycle.new_job_log
        self.event = lifecycle.event
        self.emit = lifecycle.emit
        self.emit_private = lifecycle.emit_private
        self.accept = lifecycle.accept
        self.refuse = lifecycle.refuse
        self.spawn_child = lifecycle.spawn_child
        self.mark_running = lifecycle.mark_running
        self.succeed = lifecycle.succeed
        self.fail = lifecycle.fail

    @property
    def clustered(self) -> bool:
        """True on a node of several sharing one database: what is not here may be there."""
        return self.requests.clustered

    @clustered.setter
    def clustered(self, value: bool) -> None:
        self.requests.clustered = value

    def attach_journal(self, journal: Journal) -> None:
        """Record every later change (and every session and job known now) in ``journal``."""
        self.journal = self.jobs.journal = journal
        for session in self.sessions.values():
            session.journal = journal

    # -- frames in -----------------------------------------------------------------------

    def connect(self) -> RuntimeConnection:
        """A new, unbound connection whose writer is woken through :attr:`ready`."""
        limit = self.config.limits.max_preamble_bytes
        return RuntimeConnection(limit, stamps=self.stamps, ready=self.ready)

    def on_frame(
        self, conn: RuntimeConnection, data: bytes, now: float, wall_now: float
    ) -> list[Action]:
        """Handle one inbound frame; bad input is answered, never raised (wire-decisions).

        ``now`` is the adapter's monotonic clock, ``wall_now`` its wall clock (seconds since
        the epoch) read at the same moment: the core reads no clock itself."""
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
            return self._dispatch(conn, message, now, wall_now)
        except ARCPError as err:
            conn.error(err, message.id)
        except Exception:
            log.exception("internal error handling %s", message.type)
            conn.error(InternalError("the runtime failed to handle the request"), message.id)
        return []

    def _dispatch(
        self, conn: RuntimeConnection, message: Any, now: float, wall_now: float
    ) -> list[Action]:
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
            session.liveness.active = True
            return self.requests.handle(session, message, now, wall_now)
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
        require_feature(session, feature)

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
        if self.attached_by_principal[principal] >= cap:
            log.warning("principal %r refused a session: %d attached (§14)", principal, cap)
            conn.error(
                principal_cap("attached sessions", "max_sessions_per_principal", cap), hello.id
            )
            conn.close_after_flush()
            return None
        caps = hello.payload.capabilities
        features = intersect(self.config.features, (caps.features or []) if caps else [])
        features = self._feature_sets.setdefault(features, features)  # one per combination
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
            welcome_base=self.welcome_base,
            now=now,
            stamps=self.stamps,
            resume_window_sec=self.config.resume_window_sec,
            heartbeat_interval_sec=self.config.heartbeat_interval_sec,
            back_pressure_threshold=self.config.back_pressure_threshold,
            buffer_limit=self.config.buffer_limit,
            high_water=self.config.high_water,
            max_control_bytes=self.config.limits.max_queued_control_bytes,
            ready=self.ready,
            tally=self.attached_by_principal,
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
        superseded = session.outbox.writer if session.attached else None
        err = session.resume(request.resume_token, request.last_event_seq, now)
        if err is not None:
            raise err
        conn.bind(session)
        if superseded is not None:  # the old connection's writer sees it is replaced
            self.ready.writers.add(superseded)
        log.info("session %s resumed after seq %d", session.session_id, request.last_event_seq)

    def on_disconnect(self, conn: RuntimeConnection, now: float) -> None:
        """The transport closed: detach the session, keep it and its jobs (§6.3, §6.4)."""
        if conn.current:
            assert conn.session is not None
            conn.session.detach(now)

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
