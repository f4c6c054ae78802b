"""The sans-IO client session (§6-§8): a pure state machine, no asyncio, no sockets.

The driver feeds it what arrived with :meth:`ClientSession.receive_frame` (bytes: decoded
and, when the codec refuses them, salvaged here) or :meth:`ClientSession.receive` (a decoded
message), plus the current monotonic time; it sends what :meth:`ClientSession.data_to_send`
returns and calls :meth:`ClientSession.on_timer` at :meth:`ClientSession.next_deadline`.

One class, read top to bottom: the session's state (every move through the table
:data:`~arcp.protocol.states.CLIENT_SESSION`), the handshake, resume and close (§6.2, §6.3,
§6.7), the requests a client makes (submit §7.1, cancel §7.4, subscribe §7.6, list_jobs §6.6,
ack §6.5), the handling of what arrives (welcome, request correlation, ``event_seq`` checks
§8.3, job outcomes §7.3, §8.4), and every deadline: each request, the handshake, a resume and
a close end with :class:`~arcp.errors.RequestTimeoutError` when the runtime does not answer in
time (wire-decisions: no unbounded wait). Envelopes and pending requests live in
:class:`~arcp.protocol.client_outbox.Outbox`, what the hello offers and the welcome grants in
:class:`~arcp.protocol.client_handshake.Negotiation`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final, cast

from arcp.codec import DecodeError, decode
from arcp.ids import new_id, wall_timestamp
from arcp.protocol.client_core import ALL_FEATURES, LIVE_STATES
from arcp.protocol.client_events import (
    ConnectionBroken,
    RequestFailed,
    RequestKind,
    Response,
    SessionClosed,
    SessionFailed,
    SessionOutput,
    SubscriptionDropped,
    Welcomed,
)
from arcp.protocol.client_frames import SkippedEvent, salvage
from arcp.protocol.client_handshake import Negotiation
from arcp.protocol.client_liveness import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RESUME_TIMEOUT,
    AckScheduler,
    check_timeout,
)
from arcp.protocol.client_outbox import Outbox
from arcp.protocol.client_requests import PendingRequest
from arcp.protocol.client_results import ResultAssembler, job_outcome
from arcp.protocol.client_submit import normalize_trace_id, submit_payload
from arcp.protocol.states import CLIENT_SESSION, ClientEvent, ClientState, StateCell, fire
from arcp.sdk_errors import RequestTimeoutError, ResumeFailedError
from arcp_gen.errors import (
    ErrorCode,
    HeartbeatLostError,
    InternalError,
    InvalidRequestError,
    error_from_payload,
)
from arcp_gen.features import Feature
from arcp_gen.messages import (
    JobAcceptedMessage,
    JobCancelledMessage,
    JobErrorMessage,
    JobEventMessage,
    JobResultMessage,
    JobSubscribedMessage,
    Message,
    SessionByeMessage,
    SessionClosedMessage,
    SessionErrorMessage,
    SessionJobsMessage,
    SessionPingMessage,
    SessionWelcomeMessage,
)
from arcp_gen.models import AgentInfo, PeerInfo, ResultChunkEvent

__all__ = ["ALL_FEATURES", "ClientSession", "ClientState"]

_log = logging.getLogger("arcp.client")

_RESPONSE_KINDS: Final[Mapping[str, RequestKind]] = {
    "job.accepted": "job.submit",
    "job.subscribed": "job.subscribe",
    "job.cancelled": "job.cancel",
    "session.jobs": "session.list_jobs",
}

_RESPONSE_TYPES = (
    JobAcceptedMessage,
    JobSubscribedMessage,
    JobCancelledMessage,
    SessionJobsMessage,
)

_DEFAULT_REASON = "cancelled by the client"

_REFUSED_ON_JOB: Final = frozenset({ErrorCode.PERMISSION_DENIED, ErrorCode.JOB_NOT_FOUND})
"""Codes a runtime may put in a ``job.error`` for a job that keeps running, to refuse a
cancel or subscribe aimed at it (the TypeScript runtime's dialect, docs/interop.md)."""
_JOB_TARGETED: Final = frozenset({"job.cancel", "job.subscribe"})
_JOB_ENDINGS: Final = frozenset(
    {ErrorCode.INTERNAL_ERROR, ErrorCode.LEASE_EXPIRED, ErrorCode.BUDGET_EXHAUSTED}
)
"""Codes a running job can end with that could also refuse a submit."""

_PHASED: Final = frozenset({ClientState.HANDSHAKING, ClientState.RESUMING, ClientState.CLOSING})
"""States that wait for one answer under ``ClientSession._phase_deadline``."""

_CAN_REQUEST: Final = frozenset(
    {ClientState.OPEN, ClientState.DETACHED, ClientState.RESUMING, ClientState.BROKEN}
)
"""States a request may be made in: sent at once when open, else after the next welcome."""


class ClientSession:
    """One client session, across any number of resumed connections (§6): its state (the
    table :data:`~arcp.protocol.states.CLIENT_SESSION`), the handshake, resume and close,
    the requests it sends, the handling of everything it receives, and its deadlines."""

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
        wall_offset: float = 0.0,
    ) -> None:
        self.wall_offset = wall_offset
        """Seconds from the ``now`` the adapter passes (its monotonic clock) to UTC epoch
        seconds: the adapter measures it (the core reads no clock); it dates pings and pongs."""
        self._hs = Negotiation(
            token=token, features=features, client_name=client_name, client_version=client_version
        )
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
        self._auto_ack = auto_ack
        self._acks = AckScheduler(interval=ack_interval, every=ack_every)
        self._sm: StateCell[ClientState, ClientEvent] = StateCell(CLIENT_SESSION)
        self._out = Outbox()
        self._results = ResultAssembler()
        self._last_seq = 0
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
            f"ClientSession(state={self._sm.state.value!r}, session_id={self._out.session_id!r}, "
            f"last_event_seq={self._last_seq})"
        )

    # -- state ---------------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        """The current state."""
        return self._sm.state

    @property
    def session_id(self) -> str | None:
        """The session id from the welcome, once welcomed."""
        return self._out.session_id

    @property
    def features(self) -> frozenset[Feature]:
        """The effective feature set: what we asked for ∩ what the runtime offered (§6.2)."""
        return self._hs.features

    @property
    def requested_features(self) -> tuple[str, ...]:
        """The feature flags we send in ``session.hello``."""
        return self._hs.requested

    @property
    def agents(self) -> tuple[AgentInfo, ...]:
        """The runtime's agent inventory (§7.5)."""
        return self._hs.agents

    @property
    def runtime_info(self) -> PeerInfo | None:
        """The runtime's name and version."""
        return self._hs.runtime

    @property
    def resume_window_sec(self) -> float | None:
        """How long the runtime keeps a detached session resumable (§6.3), if it said."""
        return self._hs.resume_window

    @property
    def last_event_seq(self) -> int:
        """The highest ``event_seq`` received in order (what a resume presents, §6.3)."""
        return self._last_seq

    @property
    def can_resume(self) -> bool:
        """True when a dropped connection can be resumed (§6.3)."""
        return self._hs.resume_token is not None and self._sm.state in (
            ClientState.OPEN,
            ClientState.BROKEN,
            ClientState.DETACHED,
            ClientState.RESUMING,
        )

    def pending_requests(self) -> int:
        """How many requests wait for an answer."""
        return len(self._out.requests)

    def forget(self, request_id: str) -> None:
        """Stop waiting for ``request_id`` (its caller gave up); a late answer is ignored."""
        self._out.requests.remove(request_id)

    def require(self, feature: Feature, what: str) -> None:
        """Raise ``INVALID_REQUEST`` locally when ``feature`` was not negotiated (§6.2)."""
        if feature not in self._hs.features:
            raise InvalidRequestError(
                f"{what} needs the {feature.value!r} feature, which this session did not negotiate",
                details={"feature": feature.value},
            )

    # -- outbound ------------------------------------------------------------------------

    @property
    def wants_to_send(self) -> bool:
        """True when frames are queued for :meth:`data_to_send`."""
        return bool(self._out.frames)

    def data_to_send(self) -> list[bytes]:
        """Take the frames queued for the transport, in order."""
        return self._out.take()

    def start(self, now: float, timeout: float | None = None) -> None:
        """Queue ``session.hello`` (§6.2); without a welcome by ``timeout`` (default
        :attr:`handshake_timeout`) the session fails with ``RequestTimeoutError``."""
        if self._sm.state is not ClientState.IDLE:
            raise RuntimeError("the handshake was already started")
        fire(self._sm, ClientEvent.START)
        self._set_phase_deadline(now, self.handshake_timeout if timeout is None else timeout)
        self._out.queue("session.hello", self._hs.hello(), now)

    def _set_phase_deadline(self, now: float, timeout: float) -> None:
        check_timeout("timeout", timeout)
        self._phase_timeout = timeout
        self._phase_deadline = now + timeout

    def connection_lost(self) -> bool:
        """The transport is gone. Returns True when the session can be resumed (§6.3)."""
        self._out.frames.clear()
        if self._sm.state in (ClientState.CLOSING, ClientState.CLOSED, ClientState.FAILED):
            fire(self._sm, ClientEvent.CONNECTION_LOST)
            return False
        if self._hs.resume_token is None:
            fire(self._sm, ClientEvent.FAIL)
            return False
        fire(self._sm, ClientEvent.CONNECTION_LOST)
        self._out.heartbeat = None
        return True

    def restore(self, session_id: str, resume_token: str, last_event_seq: int) -> None:
        """Take over a session another client left (§6.3): an idle session becomes detached
        with the given id, token and position; :meth:`resume` then continues it."""
        if self._sm.state is not ClientState.IDLE:
            raise RuntimeError("only a fresh session can take over another one")
        if last_event_seq < 0:
            raise ValueError("last_event_seq must be >= 0")
        self._out.session_id = session_id
        self._hs.resume_token = resume_token
        self._last_seq = last_event_seq
        fire(self._sm, ClientEvent.RESTORE)

    @property
    def resume_token(self) -> str | None:
        """The current resume token (§6.3): a secret; never log it."""
        return self._hs.resume_token

    def resume(self, now: float) -> None:
        """Queue ``session.resume`` on a fresh connection (§6.3); to a runtime that already
        refused it or let it go unanswered, the legacy ``session.hello`` carrying ``resume``
        (wire-decisions: Session). Each attempt has :attr:`resume_timeout`."""
        if self._sm.state is not ClientState.DETACHED or self._out.session_id is None:
            raise RuntimeError("only a detached session can be resumed")
        assert self._hs.resume_token is not None
        fire(self._sm, ClientEvent.RESUME)
        self._set_phase_deadline(now, self.resume_timeout)
        if self._hs.legacy_resume:
            self._out.queue("session.hello", self._hs.hello(self._resume_request()), now)
        else:
            self._out.queue("session.resume", self._resume_request(), now)

    def _resume_request(self) -> dict[str, Any]:
        return self._hs.resume_request(self._out.session_id, self._last_seq)

    def fail(self, error: BaseException) -> list[PendingRequest]:
        """End the session (failed, or torn down after a close); returns the requests that
        will never be answered."""
        if self._sm.state is not ClientState.CLOSED:
            fire(self._sm, ClientEvent.FAIL)
            _log.debug("session failed: %s", type(error).__name__)
        self._out.frames.clear()
        return self._out.requests.take_all()

    def close(self, now: float, reason: str | None = None, timeout: float | None = None) -> None:
        """Queue ``session.close`` (§6.7); jobs keep running on the runtime. Without
        ``session.closed`` by ``timeout`` (default :attr:`close_timeout`) the session ends
        anyway, reporting :class:`SessionClosed` with ``timed_out``."""
        if self._sm.state is ClientState.OPEN:
            self._out.queue("session.close", {"reason": reason} if reason else {}, now)
            fire(self._sm, ClientEvent.CLOSE)
            self._set_phase_deadline(now, self.close_timeout if timeout is None else timeout)

    # -- requests (§6.5, §6.6, §7) ------------------------------------------------------

    def submit(
        self,
        agent: str,
        input: Any = None,
        *,
        now: float,
        lease: Mapping[str, Iterable[str]] | None = None,
        lease_constraints: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        max_runtime_sec: float | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Queue ``job.submit`` (§7.1); returns the request id. ``timeout`` (default
        :attr:`request_timeout`) bounds the wait for ``job.accepted``."""
        payload = submit_payload(
            self._hs.features,
            agent,
            input,
            lease=lease,
            lease_constraints=lease_constraints,
            idempotency_key=idempotency_key,
            max_runtime_sec=max_runtime_sec,
        )
        return self._request(
            "job.submit",
            payload,
            now,
            trace_id=normalize_trace_id(trace_id) if trace_id is not None else None,
            resendable=idempotency_key is not None,
            timeout=timeout,
        )

    def cancel(
        self, job_id: str, now: float, reason: str | None = None, timeout: float | None = None
    ) -> str:
        """Queue ``job.cancel`` (§7.4); returns the request id."""
        # `reason` is optional (§7.4), but some runtimes refuse a cancel without one.
        payload: dict[str, Any] = {"job_id": job_id, "reason": reason or _DEFAULT_REASON}
        return self._request(
            "job.cancel", payload, now, job_id=job_id, resendable=True, timeout=timeout
        )

    def subscribe(
        self,
        job_id: str,
        now: float,
        *,
        history: bool = False,
        from_event_seq: int | None = None,
        timeout: float | None = None,
    ) -> str:
        """Queue ``job.subscribe`` (§7.6); returns the request id."""
        self.require(Feature.SUBSCRIBE, "job.subscribe")
        payload: dict[str, Any] = {"job_id": job_id, "history": history}
        if from_event_seq is not None:
            payload["from_event_seq"] = from_event_seq
        return self._request("job.subscribe", payload, now, job_id=job_id, timeout=timeout)

    def unsubscribe(self, job_id: str, now: float) -> None:
        """Queue ``job.unsubscribe`` (§7.6); it has no answer."""
        self.require(Feature.SUBSCRIBE, "job.unsubscribe")
        if self._sm.state is ClientState.OPEN:
            self._out.queue("job.unsubscribe", {"job_id": job_id}, now, job_id=job_id)

    def list_jobs(
        self,
        now: float,
        *,
        filter: Mapping[str, Any] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Queue ``session.list_jobs`` (§6.6); returns the request id."""
        self.require(Feature.LIST_JOBS, "session.list_jobs")
        payload: dict[str, Any] = {}
        if filter:
            payload["filter"] = dict(filter)
        if limit is not None:
            payload["limit"] = limit
        payload["cursor"] = cursor
        return self._request("session.list_jobs", payload, now, resendable=True, timeout=timeout)

    def ack(self, last_processed_seq: int, now: float) -> None:
        """Queue a manual ``session.ack`` (§6.5)."""
        self.require(Feature.ACK, "session.ack")
        if self._sm.state is ClientState.OPEN:
            self._out.queue("session.ack", {"last_processed_seq": last_processed_seq}, now)
        self._acks.sent_manually(last_processed_seq, now)

    def processed(self, seq: int) -> bool:
        """The application consumed events up to ``seq``. True when an automatic ack became
        pending, so the driver should re-read :meth:`next_deadline`."""
        if not self._auto_ack:
            return False
        return self._acks.mark(seq)

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
        state = self._sm.state
        if state not in _CAN_REQUEST:
            raise RuntimeError(f"cannot send {kind}: the session is {state.value}")
        limit = self.request_timeout if timeout is None else timeout
        check_timeout("timeout", limit)
        return self._out.request(
            kind,
            payload,
            now,
            send=state is ClientState.OPEN,
            limit=limit,
            job_id=job_id,
            trace_id=trace_id,
            resendable=resendable,
        )

    # -- inbound -------------------------------------------------------------------------

    def receive_frame(self, frame: bytes, now: float) -> SessionOutput | None:
        """Decode one inbound frame and process it (:meth:`receive`). A frame the codec
        refuses is salvaged per :func:`~arcp.protocol.client_frames.salvage`: dropped, read
        as the ``session.error`` it stands for, or, for a ``job.event``, counted in the
        sequence (:meth:`skip_event`, §8.3)."""
        try:
            msg = decode(frame)
        except DecodeError as exc:
            salvaged = salvage(frame, exc)
            if salvaged is None:
                return None
            if type(salvaged) is SkippedEvent:
                return self.skip_event(salvaged.seq)
            msg = cast(Message, salvaged)
        return self.receive(msg, now)

    def receive(self, msg: Message, now: float) -> SessionOutput | None:
        """Process one inbound message; returns what the driver must act on, if anything."""
        hb = self._out.heartbeat
        if hb is not None:
            hb.last_received = now
        if type(msg) is JobEventMessage:
            if self._sm.state not in LIVE_STATES:
                return None
            seq = msg.event_seq
            if seq != self._last_seq + 1:
                out = self._out_of_order(seq)
                if seq != self._last_seq + 1:
                    return out
            self._last_seq = seq
            payload = msg.payload
            if type(payload) is ResultChunkEvent:
                self._results.add(msg.job_id, payload.body)
            return msg
        if type(msg) is JobResultMessage or type(msg) is JobErrorMessage:
            return self._on_terminal(msg)
        if isinstance(msg, _RESPONSE_TYPES):
            kind = _RESPONSE_KINDS[msg.type]
            payload = msg.payload
            job_id = msg.job_id
            if job_id is None and not isinstance(msg, SessionJobsMessage):
                job_id = msg.payload.job_id
            if payload.request_id is not None:
                self._correlating = True
            request = self._out.requests.match_response(
                kind, payload.request_id, job_id, msg.trace_id
            )
            if request is None:
                _log.debug("ignoring an uncorrelated %s", msg.type)
                return None
            if job_id is not None and kind != "job.cancel":
                self._jobs.add(job_id)
            return Response(request.request_id, kind, msg)
        if isinstance(msg, SessionWelcomeMessage):
            return self._on_welcome(msg, now)
        if isinstance(msg, SessionErrorMessage):
            return self._on_error(msg, now)
        if isinstance(msg, SessionPingMessage):
            pong = {
                "ping_nonce": msg.payload.nonce,
                "received_at": wall_timestamp(now + self.wall_offset),
            }
            self._out.queue("session.pong", pong, now)
            return None
        if isinstance(msg, SessionClosedMessage | SessionByeMessage):
            fire(self._sm, ClientEvent.CLOSED)
            reason = msg.payload.reason if isinstance(msg, SessionByeMessage) else None
            return SessionClosed(reason)
        return None  # session.pong and anything a client does not act on

    def skip_event(self, seq: int) -> ConnectionBroken | None:
        """A ``job.event`` that could not be decoded still holds its place in the sequence
        (§8.3): count it, so dropping it is not mistaken for a gap (a gap resumes, and the
        runtime would replay the same event again and again)."""
        if self._sm.state not in LIVE_STATES:
            return None
        if seq != self._last_seq + 1:
            out = self._out_of_order(seq)
            if seq != self._last_seq + 1:
                return out
        self._last_seq = seq
        self.processed(seq)
        return None

    def _out_of_order(self, seq: int) -> ConnectionBroken | None:
        """A duplicate (ignored), a gap to repair by resuming (§8.3), or a gap a resume
        already failed to fill: the runtime lost those events (it does not buffer while
        detached, docs/interop.md). Resuming again would loop, so the jump is accepted, with
        a warning, by moving ``last_event_seq`` to just before ``seq``."""
        if seq <= self._last_seq:
            return None  # a duplicate, e.g. replayed after a resume (§6.3)
        if self._gap_at is not None and self._gap_at == (self._last_seq, self._resumes - 1):
            _log.warning(
                "the runtime did not replay events %d..%d after a resume; they are lost",
                self._last_seq + 1,
                seq - 1,
            )
            self._gap_at = None
            self._last_seq = seq - 1
            return None
        self._gap_at = (self._last_seq, self._resumes)
        error = InternalError(
            f"event_seq jumped from {self._last_seq} to {seq}",
            details={"expected": self._last_seq + 1, "received": seq},
        )
        fire(self._sm, ClientEvent.BREAK)
        return ConnectionBroken(error)

    def _on_terminal(self, msg: JobResultMessage | JobErrorMessage) -> SessionOutput | None:
        if self._sm.state not in LIVE_STATES:
            return None
        if type(msg) is JobErrorMessage:
            refusal = self._refusal(msg)
            if refusal is not None:
                return refusal
        seq = msg.event_seq
        if seq != self._last_seq + 1:
            out = self._out_of_order(seq)
            if seq != self._last_seq + 1:
                return out
        self._last_seq = seq
        self._jobs.discard(msg.job_id)
        return job_outcome(msg, self._results)

    def _refusal(self, msg: JobErrorMessage) -> RequestFailed | None:
        """A ``job.error`` that answers a request instead of ending a job (wire-decisions:
        read every dialect): an unknown agent reported under a job id that was never
        accepted, or a refused cancel reported under the id of a job that keeps running."""
        payload = msg.payload
        request_id = getattr(payload, "request_id", None)
        error = error_from_payload(payload)
        code = error.code
        if msg.job_id in self._jobs:
            if code not in _REFUSED_ON_JOB:
                return None  # the job we watch really ended
            kinds = _JOB_TARGETED
        else:
            kinds = None
            if request_id is None and self._correlating and code in _JOB_ENDINGS:
                # A runtime that names its requests: an uncorrelated end a running job can
                # have is that job's (replayed before the job.accepted a crash lost, §6.3).
                return None
        # The job of a submit sent again after a resume may replay its end before the
        # job.accepted that answers the resend (§6.3, §7.2): that end is no refusal.
        request = self._out.requests.match_error(
            request_id, code, payload.details, msg.job_id, kinds, resent=kinds is not None
        )
        if request is None:
            return None
        if msg.event_seq == self._last_seq + 1:
            self._last_seq = msg.event_seq  # it took a place in the sequence: keep gap-free
        return RequestFailed(request.request_id, request.kind, error)

    def _on_welcome(self, msg: SessionWelcomeMessage, now: float) -> Welcomed | None:
        if (
            self._sm.state is not ClientState.HANDSHAKING
            and self._sm.state is not ClientState.RESUMING
        ):
            _log.debug("ignoring an unexpected session.welcome")
            return None
        resumed = self._sm.state is ClientState.RESUMING
        self._phase_deadline = math.inf
        if resumed:
            self._resumes += 1
        payload = msg.payload
        session_id = msg.session_id or payload.session_id
        if resumed and session_id != self._out.session_id:
            _log.warning("the runtime resumed us under another session id")
        self._out.session_id = session_id
        self._out.heartbeat = self._hs.welcomed(payload, now)
        fire(self._sm, ClientEvent.WELCOME)
        interrupted = self._out.resend() if resumed else ()
        return Welcomed(session_id, resumed, interrupted)

    def _on_error(self, msg: SessionErrorMessage, now: float) -> SessionOutput | None:
        payload = msg.payload
        error = error_from_payload(payload)
        if (
            self._sm.state is ClientState.RESUMING
            and error.code is ErrorCode.INVALID_REQUEST
            and not self._hs.legacy_resume
        ):
            # A runtime that does not know session.resume: try the legacy form, a hello
            # carrying `resume` (wire-decisions: Session).
            self._hs.legacy_resume = True
            self._out.queue("session.hello", self._hs.hello(self._resume_request()), now)
            self._set_phase_deadline(now, self.resume_timeout)
            return None
        if self._sm.state is ClientState.HANDSHAKING or self._sm.state is ClientState.RESUMING:
            fire(self._sm, ClientEvent.FAIL)
            return SessionFailed(error)
        code = error.code
        state = self._sm.state
        if code is ErrorCode.HEARTBEAT_LOST and CLIENT_SESSION.allows(state, ClientEvent.BREAK):
            fire(self._sm, ClientEvent.BREAK)
            return ConnectionBroken(error)
        if (
            payload.request_id is None
            and code in (ErrorCode.UNAUTHENTICATED, ErrorCode.RESUME_WINDOW_EXPIRED)
            and CLIENT_SESSION.allows(state, ClientEvent.FAIL)
        ):
            fire(self._sm, ClientEvent.FAIL)
            return SessionFailed(error)
        details = payload.details or {}
        job_id = msg.job_id or details.get("job_id")
        request = self._out.requests.match_error(
            payload.request_id, code, details, job_id if isinstance(job_id, str) else None
        )
        if request is not None:
            return RequestFailed(request.request_id, request.kind, error)
        if isinstance(job_id, str) and job_id in self._jobs:
            # The runtime dropped us from a job we observe (a subscriber too far behind,
            # §13.2): that subscription ends with the error, the session carries on.
            self._jobs.discard(job_id)
            return SubscriptionDropped(job_id, error)
        if self._sm.state is ClientState.CLOSING:
            # Some runtimes refuse session.close instead of answering session.closed: the
            # session is over either way (§6.7).
            fire(self._sm, ClientEvent.CLOSED)
            return SessionClosed(error.message)
        _log.warning(
            "session.error not tied to a pending request: %s: %s", code.value, error.message
        )
        return None

    # -- timers --------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` must next be called, or ``None`` for never."""
        state = self._sm.state
        if state is ClientState.IDLE or state is ClientState.CLOSED or state is ClientState.FAILED:
            return None
        deadline = self._out.requests.next_deadline()
        if state in _PHASED:
            deadline = min(deadline, self._phase_deadline)
        if state is ClientState.OPEN or state is ClientState.CLOSING:
            if self._out.heartbeat is not None:
                deadline = min(deadline, self._out.heartbeat.deadline())
            due = self._acks.due_at
            if due is not None and self._auto_ack and Feature.ACK in self._hs.features:
                deadline = min(deadline, due)
        return None if deadline == math.inf else deadline

    def on_timer(self, now: float) -> list[SessionOutput]:
        """Do what is due at ``now``: fail expired requests, end a handshake, resume or
        close that got no answer, declare heartbeat loss, ping, or ack."""
        outputs: list[SessionOutput] = [
            RequestFailed(r.request_id, r.kind, RequestTimeoutError(r.kind, r.timeout))
            for r in self._out.requests.expire(now)
        ]
        if self._sm.state in _PHASED and now >= self._phase_deadline:
            outputs.append(self._phase_expired(now))
        if self._sm.state is not ClientState.OPEN and self._sm.state is not ClientState.CLOSING:
            return outputs
        hb = self._out.heartbeat
        if hb is not None:
            if hb.lost(now):
                error = HeartbeatLostError(
                    "no message from the runtime for two heartbeat intervals"
                )
                self._out.queue("session.error", error.to_payload(), now)
                fire(self._sm, ClientEvent.BREAK)
                outputs.append(ConnectionBroken(error))
                return outputs
            if hb.ping_due(now):
                self._out.queue(
                    "session.ping",
                    {"nonce": new_id("p"), "sent_at": wall_timestamp(now + self.wall_offset)},
                    now,
                )
        if self._auto_ack and Feature.ACK in self._hs.features:
            seq = self._acks.take(now)
            if seq is not None:
                self._out.queue("session.ack", {"last_processed_seq": seq}, now)
        return outputs

    def _phase_expired(self, now: float) -> SessionOutput:
        """The handshake, a resume attempt or a close got no answer in time."""
        state, timeout = self._sm.state, self._phase_timeout
        self._phase_deadline = math.inf
        if state is ClientState.HANDSHAKING:
            fire(self._sm, ClientEvent.FAIL)
            return SessionFailed(RequestTimeoutError("session.hello", timeout))
        if state is ClientState.CLOSING:
            fire(self._sm, ClientEvent.CLOSED)
            return SessionClosed("the runtime did not confirm the close", timed_out=True)
        if not self._hs.legacy_resume:
            # A runtime that drops session.resume unanswered: try the legacy form once, on a
            # new connection (wire-decisions: Session; a half-open link gets replaced too).
            _log.warning("the runtime did not answer session.resume; trying the legacy form")
            self._hs.legacy_resume = True
            fire(self._sm, ClientEvent.BREAK)
            return ConnectionBroken(RequestTimeoutError("session.resume", timeout))
        _log.warning("the runtime did not answer the resume; failing the session's jobs")
        fire(self._sm, ClientEvent.FAIL)
        return SessionFailed(
            ResumeFailedError(
                f"the runtime answered neither session.resume nor the legacy resume "
                f"within {timeout:g} s"
            )
        )
