"""The sans-IO client session (§6-§8): a pure state machine, no asyncio, no sockets.

The driver feeds it decoded messages and the current (monotonic) time with
:meth:`ClientSession.receive`, sends what :meth:`ClientSession.data_to_send` returns, and
calls :meth:`ClientSession.on_timer` at :meth:`ClientSession.next_deadline`. On top of the
connection state in :mod:`arcp.protocol.client_core` this module holds the requests a client makes (submit §7.1,
cancel §7.4, subscribe §7.6, list_jobs §6.6, ack §6.5) and the handling of what arrives:
welcome, request correlation, ``event_seq`` checks (§8.3) and job outcomes (§7.3, §8.4).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

from arcp.ids import utc_timestamp
from arcp.protocol.client_core import ALL_FEATURES, LIVE_STATES, ClientCore, ClientState
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
from arcp.protocol.client_liveness import Heartbeat
from arcp.protocol.client_results import job_outcome
from arcp.protocol.client_submit import normalize_trace_id, submit_payload
from arcp_gen.errors import ErrorCode, InternalError, error_from_payload
from arcp_gen.features import Feature, intersect
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
from arcp_gen.models import AgentInfo, ResultChunkEvent

__all__ = ["ALL_FEATURES", "ClientSession", "ClientState"]

_log = logging.getLogger("arcp.client")

DEFAULT_HEARTBEAT_SEC = 30
"""Heartbeat interval assumed when a welcome negotiates ``heartbeat`` but omits the interval
(a legacy dialect; §6.4)."""

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
_JOB_ENDINGS: Final = frozenset(
    {ErrorCode.INTERNAL_ERROR, ErrorCode.LEASE_EXPIRED, ErrorCode.BUDGET_EXHAUSTED}
)
"""Codes a running job can end with that could also refuse a submit."""
"""Codes a runtime may put in a ``job.error`` for a job that keeps running, to refuse a
cancel or subscribe aimed at it (the TypeScript runtime's dialect, docs/interop.md)."""
_JOB_TARGETED: Final = frozenset({"job.cancel", "job.subscribe"})


class ClientSession(ClientCore):
    """One client session, across any number of resumed connections: the requests it sends
    and the handling of everything it receives."""

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
            self._features,
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
        if self._state is ClientState.OPEN:
            self._queue("job.unsubscribe", {"job_id": job_id}, now, job_id=job_id)

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
        if self._state is ClientState.OPEN:
            self._queue("session.ack", {"last_processed_seq": last_processed_seq}, now)
        self._acks.sent_manually(last_processed_seq, now)

    def processed(self, seq: int) -> bool:
        """The application consumed events up to ``seq``. True when an automatic ack became
        pending, so the driver should re-read :meth:`next_deadline`."""
        if not self._auto_ack:
            return False
        return self._acks.mark(seq)

    # -- inbound -------------------------------------------------------------------------

    def receive(self, msg: Message, now: float) -> SessionOutput | None:
        """Process one inbound message; returns what the driver must act on, if anything."""
        hb = self._heartbeat
        if hb is not None:
            hb.last_received = now
        if type(msg) is JobEventMessage:
            if self._state not in LIVE_STATES:
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
            request = self._requests.match_response(kind, payload.request_id, job_id, msg.trace_id)
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
            pong = {"ping_nonce": msg.payload.nonce, "received_at": utc_timestamp()}
            self._queue("session.pong", pong, now)
            return None
        if isinstance(msg, SessionClosedMessage | SessionByeMessage):
            self._state = ClientState.CLOSED
            reason = msg.payload.reason if isinstance(msg, SessionByeMessage) else None
            return SessionClosed(reason)
        return None  # session.pong and anything a client does not act on

    def skip_event(self, seq: int) -> ConnectionBroken | None:
        """A ``job.event`` that could not be decoded still holds its place in the sequence
        (§8.3): count it, so dropping it is not mistaken for a gap (a gap resumes, and the
        runtime would replay the same event again and again)."""
        if self._state not in LIVE_STATES:
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
        self._state = ClientState.BROKEN
        return ConnectionBroken(error)

    def _on_terminal(self, msg: JobResultMessage | JobErrorMessage) -> SessionOutput | None:
        if self._state not in LIVE_STATES:
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
        request = self._requests.match_error(
            request_id,
            code,
            payload.details,
            msg.job_id,
            kinds,
            resent=kinds is not None,
        )
        if request is None:
            return None
        if msg.event_seq == self._last_seq + 1:
            self._last_seq = msg.event_seq  # it took a place in the sequence: keep gap-free
        return RequestFailed(request.request_id, request.kind, error)

    def _on_welcome(self, msg: SessionWelcomeMessage, now: float) -> Welcomed | None:
        if self._state is not ClientState.HANDSHAKING and self._state is not ClientState.RESUMING:
            _log.debug("ignoring an unexpected session.welcome")
            return None
        resumed = self._state is ClientState.RESUMING
        self._phase_deadline = math.inf
        if resumed:
            self._resumes += 1
        payload = msg.payload
        session_id = msg.session_id or payload.session_id
        if resumed and session_id != self._session_id:
            _log.warning("the runtime resumed us under another session id")
        self._session_id = session_id
        self._resume_token = payload.resume_token
        caps = payload.capabilities
        self._agents = tuple(
            a if isinstance(a, AgentInfo) else AgentInfo(name=a) for a in caps.agents or ()
        )
        self._runtime = payload.runtime
        self._resume_window = payload.resume_window_sec
        self._features = intersect(self._requested, caps.features or ())
        self._heartbeat = (
            Heartbeat(float(payload.heartbeat_interval_sec or DEFAULT_HEARTBEAT_SEC), now)
            if Feature.HEARTBEAT in self._features
            else None
        )
        self._state = ClientState.OPEN
        interrupted: list[str] = []
        if resumed:
            for request in self._requests.pending():
                if request.sent and not request.resendable:
                    self._requests.remove(request.request_id)
                    interrupted.append(request.request_id)
                else:
                    request.resent = request.sent
                    request.sent = True
                    self._outbox.append(request.frame)
        return Welcomed(session_id, resumed, tuple(interrupted))

    def _on_error(self, msg: SessionErrorMessage, now: float) -> SessionOutput | None:
        payload = msg.payload
        error = error_from_payload(payload)
        if (
            self._state is ClientState.RESUMING
            and error.code is ErrorCode.INVALID_REQUEST
            and not self._legacy_resume
        ):
            # A runtime that does not know session.resume: try the legacy form, a hello
            # carrying `resume` (wire-decisions: Session).
            self._legacy_resume = True
            self._queue("session.hello", self._hello(self._resume_request()), now)
            self._set_phase_deadline(now, self.resume_timeout)
            return None
        if self._state is ClientState.HANDSHAKING or self._state is ClientState.RESUMING:
            self._state = ClientState.FAILED
            return SessionFailed(error)
        code = error.code
        if code is ErrorCode.HEARTBEAT_LOST:
            self._state = ClientState.BROKEN
            return ConnectionBroken(error)
        if payload.request_id is None and code in (
            ErrorCode.UNAUTHENTICATED,
            ErrorCode.RESUME_WINDOW_EXPIRED,
        ):
            self._state = ClientState.FAILED
            return SessionFailed(error)
        details = payload.details or {}
        job_id = msg.job_id or details.get("job_id")
        request = self._requests.match_error(
            payload.request_id, code, details, job_id if isinstance(job_id, str) else None
        )
        if request is not None:
            return RequestFailed(request.request_id, request.kind, error)
        if isinstance(job_id, str) and job_id in self._jobs:
            # The runtime dropped us from a job we observe (a subscriber too far behind,
            # §13.2): that subscription ends with the error, the session carries on.
            self._jobs.discard(job_id)
            return SubscriptionDropped(job_id, error)
        if self._state is ClientState.CLOSING:
            # Some runtimes refuse session.close instead of answering session.closed: the
            # session is over either way (§6.7).
            self._state = ClientState.CLOSED
            return SessionClosed(error.message)
        _log.warning(
            "session.error not tied to a pending request: %s: %s", code.value, error.message
        )
        return None
