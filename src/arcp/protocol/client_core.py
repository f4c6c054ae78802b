"""Connection-level state of the sans-IO client (§6, §8.3): no asyncio, no sockets.

:class:`ClientCore` owns the session state, the handshake and resume frames (§6.2, §6.3),
heartbeats (§6.4), automatic acks (§6.5), framing, and every deadline: each request, the
handshake, a resume and a close end with :class:`~arcp.errors.RequestTimeoutError` when the
runtime does not answer in time (wire-decisions: no unbounded wait). The driver sleeps until
:meth:`ClientCore.next_deadline` and calls :meth:`ClientCore.on_timer`. What the client sends as requests and
how inbound messages are handled live in :mod:`arcp.protocol.client_session`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Final

from arcp.codec import encode
from arcp.errors import RequestTimeoutError, ResumeFailedError
from arcp.ids import new_id, new_ulid, utc_timestamp
from arcp.protocol.client_events import (
    ConnectionBroken,
    RequestFailed,
    RequestKind,
    SessionClosed,
    SessionFailed,
    SessionOutput,
)
from arcp.protocol.client_liveness import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RESUME_TIMEOUT,
    AckScheduler,
    Heartbeat,
    check_timeout,
)
from arcp.protocol.client_requests import PendingRequest, RequestTracker
from arcp.protocol.client_results import ResultAssembler
from arcp_gen.errors import (
    HeartbeatLostError,
    InvalidRequestError,
)
from arcp_gen.features import Feature
from arcp_gen.models import AgentInfo, PeerInfo
from arcp_gen.registry import PROTOCOL_VERSION

__all__ = ["ALL_FEATURES", "LIVE_STATES", "NOT_IMPLEMENTED_FEATURES", "ClientCore", "ClientState"]

_log = logging.getLogger("arcp.client")

ALL_FEATURES: Final[frozenset[Feature]] = frozenset(
    {
        Feature.HEARTBEAT,
        Feature.ACK,
        Feature.LIST_JOBS,
        Feature.SUBSCRIBE,
        Feature.LEASE_EXPIRES_AT,
        Feature.COST_BUDGET,
        Feature.MODEL_USE,
        Feature.PROVISIONED_CREDENTIALS,
        Feature.PROGRESS,
        Feature.RESULT_CHUNK,
        Feature.AGENT_VERSIONS,
    }
)
"""The feature flags this client implements and advertises by default (§6.2).

Written by hand on purpose: a flag a spec bump adds to the generated ``Feature`` is not
advertised until its handling exists and it is listed here ("negotiate honestly").
"""

NOT_IMPLEMENTED_FEATURES: Final[frozenset[Feature]] = frozenset()
"""Generated flags this client knowingly does not implement (never advertised)."""


class ClientState(StrEnum):
    """Where the session is in its life (§6)."""

    IDLE = "idle"
    HANDSHAKING = "handshaking"
    OPEN = "open"
    BROKEN = "broken"  # the connection must be dropped (gap, heartbeat loss)
    DETACHED = "detached"  # no transport; resumable
    RESUMING = "resuming"
    CLOSING = "closing"
    CLOSED = "closed"
    FAILED = "failed"


LIVE_STATES: Final[frozenset[ClientState]] = frozenset(
    {ClientState.OPEN, ClientState.RESUMING, ClientState.CLOSING}
)


class ClientCore:
    """The connection-level half of :class:`~arcp.protocol.client_session.ClientSession`:
    state, handshake and resume frames, timers and framing."""

    def __init__(
        self,
        *,
        token: str | None = None,
        features: Iterable[Feature | str] = ALL_FEATURES,
        client_name: str = "arcp-python",
        client_version: str = "0",
        auto_ack: bool = True,
        ack_interval: float = 0.25,
        ack_every: int = 1,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        resume_timeout: float = DEFAULT_RESUME_TIMEOUT,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
    ) -> None:
        if isinstance(features, str):  # never iterate a string into one-letter features
            raise TypeError("features must be a collection of feature names, not a string")
        for name, value in (
            ("request_timeout", request_timeout),
            ("handshake_timeout", handshake_timeout),
            ("resume_timeout", resume_timeout),
            ("close_timeout", close_timeout),
        ):
            check_timeout(name, value)
        self.request_timeout = request_timeout
        self.handshake_timeout = handshake_timeout
        self.resume_timeout = resume_timeout
        self.close_timeout = close_timeout
        self._token = token
        self._requested: tuple[str, ...] = tuple(sorted({str(f) for f in features}))
        self._client = {"name": client_name, "version": client_version}
        self._auto_ack = auto_ack
        self._acks = AckScheduler(interval=ack_interval, every=ack_every)
        self._state = ClientState.IDLE
        self._outbox: list[bytes] = []
        self._requests = RequestTracker()
        self._results = ResultAssembler()
        self._heartbeat: Heartbeat | None = None
        self._session_id: str | None = None
        self._resume_token: str | None = None
        # What the welcome told us, minus the resume token (kept alone, never in a repr).
        self._agents: tuple[AgentInfo, ...] = ()
        self._runtime: PeerInfo | None = None
        self._resume_window: float | None = None
        self._features: frozenset[Feature] = frozenset()
        self._last_seq = 0
        self._legacy_resume = False
        # The deadline of the handshake, a resume attempt or a close (one at a time).
        self._phase_deadline = math.inf
        self._phase_timeout = math.inf
        self._jobs: set[str] = set()  # jobs this session watches (accepted or subscribed)
        # The runtime names the request its answers are for (request_id): then it does so
        # for refusals too, and a job.error without one is always a job's end.
        self._correlating = False
        self._resumes: int = 0  # completed resumes
        self._gap_at: tuple[int, int] | None = None  # (last_event_seq, resumes) at a gap

    def __repr__(self) -> str:
        return (
            f"ClientSession(state={self._state.value!r}, session_id={self._session_id!r}, "
            f"last_event_seq={self._last_seq})"
        )

    # -- state ---------------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        """The current state."""
        return self._state

    @property
    def session_id(self) -> str | None:
        """The session id from the welcome, once welcomed."""
        return self._session_id

    @property
    def features(self) -> frozenset[Feature]:
        """The effective feature set: what we asked for ∩ what the runtime offered (§6.2)."""
        return self._features

    @property
    def requested_features(self) -> tuple[str, ...]:
        """The feature flags we send in ``session.hello``."""
        return self._requested

    @property
    def agents(self) -> tuple[AgentInfo, ...]:
        """The runtime's agent inventory (§7.5)."""
        return self._agents

    @property
    def runtime_info(self) -> PeerInfo | None:
        """The runtime's name and version."""
        return self._runtime

    @property
    def resume_window_sec(self) -> float | None:
        """How long the runtime keeps a detached session resumable (§6.3), if it said."""
        return self._resume_window

    @property
    def last_event_seq(self) -> int:
        """The highest ``event_seq`` received in order (what a resume presents, §6.3)."""
        return self._last_seq

    @property
    def can_resume(self) -> bool:
        """True when a dropped connection can be resumed (§6.3)."""
        return self._resume_token is not None and self._state in (
            ClientState.OPEN,
            ClientState.BROKEN,
            ClientState.DETACHED,
            ClientState.RESUMING,
        )

    def pending_requests(self) -> int:
        """How many requests wait for an answer."""
        return len(self._requests)

    def forget(self, request_id: str) -> None:
        """Stop waiting for ``request_id`` (its caller gave up); a late answer is ignored."""
        self._requests.remove(request_id)

    def require(self, feature: Feature, what: str) -> None:
        """Raise ``INVALID_REQUEST`` locally when ``feature`` was not negotiated (§6.2)."""
        if feature not in self._features:
            raise InvalidRequestError(
                f"{what} needs the {feature.value!r} feature, which this session did not negotiate",
                details={"feature": feature.value},
            )

    # -- outbound ------------------------------------------------------------------------

    @property
    def wants_to_send(self) -> bool:
        """True when frames are queued for :meth:`data_to_send`."""
        return bool(self._outbox)

    def data_to_send(self) -> list[bytes]:
        """Take the frames queued for the transport, in order."""
        out, self._outbox = self._outbox, []
        return out

    def start(self, now: float, timeout: float | None = None) -> None:
        """Queue ``session.hello`` (§6.2); without a welcome by ``timeout`` (default
        :attr:`handshake_timeout`) the session fails with ``RequestTimeoutError``."""
        if self._state is not ClientState.IDLE:
            raise RuntimeError("the handshake was already started")
        self._state = ClientState.HANDSHAKING
        self._set_phase_deadline(now, self.handshake_timeout if timeout is None else timeout)
        self._queue("session.hello", self._hello(), now)

    def _set_phase_deadline(self, now: float, timeout: float) -> None:
        check_timeout("timeout", timeout)
        self._phase_timeout = timeout
        self._phase_deadline = now + timeout

    def _hello(self, resume: dict[str, Any] | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"client": self._client}
        if self._token is not None:
            payload["auth"] = {"scheme": "bearer", "token": self._token}
        payload["capabilities"] = {"encodings": ["json"], "features": list(self._requested)}
        if resume is not None:
            payload["resume"] = resume
        return payload

    def connection_lost(self) -> bool:
        """The transport is gone. Returns True when the session can be resumed (§6.3)."""
        self._outbox.clear()
        if self._state in (ClientState.CLOSING, ClientState.CLOSED, ClientState.FAILED):
            self._state = ClientState.CLOSED if self._state is ClientState.CLOSING else self._state
            return False
        if self._resume_token is None:
            self._state = ClientState.FAILED
            return False
        self._state = ClientState.DETACHED
        self._heartbeat = None
        return True

    def restore(self, session_id: str, resume_token: str, last_event_seq: int) -> None:
        """Take over a session another client left (§6.3): an idle session becomes detached
        with the given id, token and position; :meth:`resume` then continues it."""
        if self._state is not ClientState.IDLE:
            raise RuntimeError("only a fresh session can take over another one")
        if last_event_seq < 0:
            raise ValueError("last_event_seq must be >= 0")
        self._session_id = session_id
        self._resume_token = resume_token
        self._last_seq = last_event_seq
        self._state = ClientState.DETACHED

    @property
    def resume_token(self) -> str | None:
        """The current resume token (§6.3): a secret; never log it."""
        return self._resume_token

    def resume(self, now: float) -> None:
        """Queue ``session.resume`` on a fresh connection (§6.3); to a runtime that already
        refused it or let it go unanswered, the legacy ``session.hello`` carrying ``resume``
        (wire-decisions: Session). Each attempt has :attr:`resume_timeout`."""
        if self._state is not ClientState.DETACHED or self._session_id is None:
            raise RuntimeError("only a detached session can be resumed")
        assert self._resume_token is not None
        self._state = ClientState.RESUMING
        self._set_phase_deadline(now, self.resume_timeout)
        if self._legacy_resume:
            self._queue("session.hello", self._hello(self._resume_request()), now)
        else:
            self._queue("session.resume", self._resume_request(), now)

    def _resume_request(self) -> dict[str, Any]:
        return {
            "session_id": self._session_id,
            "resume_token": self._resume_token,
            "last_event_seq": self._last_seq,
        }

    def fail(self, error: BaseException) -> list[PendingRequest]:
        """End the session (failed, or torn down after a close); returns the requests that
        will never be answered."""
        if self._state is not ClientState.CLOSED:
            self._state = ClientState.FAILED
            _log.debug("session failed: %s", type(error).__name__)
        self._outbox.clear()
        return self._requests.take_all()

    def close(self, now: float, reason: str | None = None, timeout: float | None = None) -> None:
        """Queue ``session.close`` (§6.7); jobs keep running on the runtime. Without
        ``session.closed`` by ``timeout`` (default :attr:`close_timeout`) the session ends
        anyway, reporting :class:`SessionClosed` with ``timed_out``."""
        if self._state is ClientState.OPEN:
            self._queue("session.close", {"reason": reason} if reason else {}, now)
            self._state = ClientState.CLOSING
            self._set_phase_deadline(now, self.close_timeout if timeout is None else timeout)

    # -- timers --------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` must next be called, or ``None`` for never."""
        state = self._state
        if state is ClientState.IDLE or state is ClientState.CLOSED or state is ClientState.FAILED:
            return None
        deadline = self._requests.next_deadline()
        if state in _PHASED:
            deadline = min(deadline, self._phase_deadline)
        if state is ClientState.OPEN or state is ClientState.CLOSING:
            if self._heartbeat is not None:
                deadline = min(deadline, self._heartbeat.deadline())
            due = self._acks.due_at
            if due is not None and self._auto_ack and Feature.ACK in self._features:
                deadline = min(deadline, due)
        return None if deadline == math.inf else deadline

    def on_timer(self, now: float) -> list[SessionOutput]:
        """Do what is due at ``now``: fail expired requests, end a handshake, resume or
        close that got no answer, declare heartbeat loss, ping, or ack."""
        outputs: list[SessionOutput] = [
            RequestFailed(r.request_id, r.kind, RequestTimeoutError(r.kind, r.timeout))
            for r in self._requests.expire(now)
        ]
        if self._state in _PHASED and now >= self._phase_deadline:
            outputs.append(self._phase_expired(now))
        if self._state is not ClientState.OPEN and self._state is not ClientState.CLOSING:
            return outputs
        hb = self._heartbeat
        if hb is not None:
            if hb.lost(now):
                error = HeartbeatLostError(
                    "no message from the runtime for two heartbeat intervals"
                )
                self._queue("session.error", error.to_payload(), now)
                self._state = ClientState.BROKEN
                outputs.append(ConnectionBroken(error))
                return outputs
            if hb.ping_due(now):
                self._queue("session.ping", {"nonce": new_id("p"), "sent_at": utc_timestamp()}, now)
        if self._auto_ack and Feature.ACK in self._features:
            seq = self._acks.take(now)
            if seq is not None:
                self._queue("session.ack", {"last_processed_seq": seq}, now)
        return outputs

    def _phase_expired(self, now: float) -> SessionOutput:
        """The handshake, a resume attempt or a close got no answer in time."""
        state, timeout = self._state, self._phase_timeout
        self._phase_deadline = math.inf
        if state is ClientState.HANDSHAKING:
            self._state = ClientState.FAILED
            return SessionFailed(RequestTimeoutError("session.hello", timeout))
        if state is ClientState.CLOSING:
            self._state = ClientState.CLOSED
            return SessionClosed("the runtime did not confirm the close", timed_out=True)
        if not self._legacy_resume:
            # A runtime that drops session.resume unanswered: try the legacy form once, on a
            # new connection (wire-decisions: Session; a half-open link gets replaced too).
            _log.warning("the runtime did not answer session.resume; trying the legacy form")
            self._legacy_resume = True
            self._state = ClientState.BROKEN
            return ConnectionBroken(RequestTimeoutError("session.resume", timeout))
        _log.warning("the runtime did not answer the resume; failing the session's jobs")
        self._state = ClientState.FAILED
        return SessionFailed(
            ResumeFailedError(
                f"the runtime answered neither session.resume nor the legacy resume "
                f"within {timeout:g} s"
            )
        )

    # -- helpers -------------------------------------------------------------------------

    def _request(
        self,
        kind: RequestKind,
        payload: dict[str, Any],
        now: float,
        *,
        job_id: str | None = None,
        trace_id: str | None = None,
        resendable: bool = False,
        timeout: float | None = None,
    ) -> str:
        if self._state not in (
            ClientState.OPEN,
            ClientState.DETACHED,
            ClientState.RESUMING,
            ClientState.BROKEN,
        ):
            raise RuntimeError(f"cannot send {kind}: the session is {self._state.value}")
        limit = self.request_timeout if timeout is None else timeout
        check_timeout("timeout", limit)
        request_id = new_ulid()
        frame = self._frame(kind, payload, request_id, job_id=job_id, trace_id=trace_id)
        sent = self._state is ClientState.OPEN
        self._requests.add(
            PendingRequest(
                request_id, kind, frame, job_id, resendable, sent, now + limit, limit, trace_id
            )
        )
        if sent:
            self._push(frame, now)
        return request_id

    def _queue(self, type_: str, payload: dict[str, Any], now: float, **env: str) -> None:
        self._push(self._frame(type_, payload, new_ulid(), **env), now)

    def _push(self, frame: bytes, now: float) -> None:
        self._outbox.append(frame)
        if self._heartbeat is not None:
            self._heartbeat.last_sent = now

    def _frame(
        self,
        type_: str,
        payload: dict[str, Any],
        envelope_id: str,
        *,
        job_id: str | None = None,
        trace_id: str | None = None,
    ) -> bytes:
        env: dict[str, Any] = {"arcp": PROTOCOL_VERSION, "id": envelope_id, "type": type_}
        if self._session_id is not None and type_ != "session.hello":
            env["session_id"] = self._session_id
        if trace_id is not None:
            env["trace_id"] = trace_id
        if job_id is not None:
            env["job_id"] = job_id
        env["payload"] = payload
        return encode(env)


_PHASED: Final = frozenset({ClientState.HANDSHAKING, ClientState.RESUMING, ClientState.CLOSING})
"""States that wait for one answer under :attr:`ClientCore._phase_deadline`."""
