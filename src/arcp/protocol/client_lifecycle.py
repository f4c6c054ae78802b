"""The lifecycle of a client session (§6.2, §6.3, §6.7): the handshake, resuming on a new
connection (or taking over a session another client left), closing, and failing.

Each wait for the runtime's answer (a welcome, a resumed welcome, ``session.closed``) runs
under one :class:`Phase` deadline (wire-decisions: no unbounded wait); :func:`phase_expired`
is what its passing does. Every state change goes through the table
:data:`~arcp.protocol.states.CLIENT_SESSION`.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Final

from arcp.protocol.client_events import (
    ConnectionBroken,
    SessionClosed,
    SessionFailed,
    SessionOutput,
    Welcomed,
)
from arcp.protocol.client_handshake import Negotiation
from arcp.protocol.client_liveness import check_timeout
from arcp.protocol.client_outbox import Outbox
from arcp.protocol.client_requests import PendingRequest
from arcp.protocol.client_sequence import EventSequence
from arcp.protocol.states import ClientEvent, ClientState, StateCell, fire
from arcp.sdk_errors import RequestTimeoutError, ResumeFailedError
from arcp_gen.errors import ARCPError, ErrorCode
from arcp_gen.messages import SessionWelcomeMessage

__all__ = ["PHASED", "Lifecycle", "Phase", "phase_expired"]

_log = logging.getLogger("arcp.client")

PHASED: Final = frozenset({ClientState.HANDSHAKING, ClientState.RESUMING, ClientState.CLOSING})
"""States that wait for one answer under a :class:`Phase` deadline."""


class Phase:
    """The deadline of the handshake, a resume attempt or a close (one at a time)."""

    __slots__ = ("deadline", "timeout")

    def __init__(self) -> None:
        self.deadline = math.inf
        self.timeout = math.inf

    def start(self, now: float, timeout: float) -> None:
        """Wait ``timeout`` seconds from ``now``."""
        check_timeout("timeout", timeout)
        self.timeout = timeout
        self.deadline = now + timeout

    def clear(self) -> None:
        """The answer came."""
        self.deadline = math.inf


def phase_expired(
    sm: StateCell[ClientState, ClientEvent], hs: Negotiation, timeout: float
) -> SessionOutput:
    """The handshake, a resume attempt or a close got no answer within ``timeout``."""
    state = sm.state
    if state is ClientState.HANDSHAKING:
        fire(sm, ClientEvent.FAIL)
        return SessionFailed(RequestTimeoutError("session.hello", timeout))
    if state is ClientState.CLOSING:
        fire(sm, ClientEvent.CLOSED)
        return SessionClosed("the runtime did not confirm the close", timed_out=True)
    if not hs.legacy_resume:
        # A runtime that drops session.resume unanswered: try the legacy form once, on a
        # new connection (wire-decisions: Session; a half-open link gets replaced too).
        _log.warning("the runtime did not answer session.resume; trying the legacy form")
        hs.legacy_resume = True
        fire(sm, ClientEvent.BREAK)
        return ConnectionBroken(RequestTimeoutError("session.resume", timeout))
    _log.warning("the runtime did not answer the resume; failing the session's jobs")
    fire(sm, ClientEvent.FAIL)
    return SessionFailed(
        ResumeFailedError(
            f"the runtime answered neither session.resume nor the legacy resume "
            f"within {timeout:g} s"
        )
    )


class Lifecycle:
    """Starts, resumes, closes and fails one client session; it shares the session's
    state, outbox, negotiation and event sequence."""

    __slots__ = (
        "_hs",
        "_out",
        "_seq",
        "_sm",
        "close_timeout",
        "handshake_timeout",
        "phase",
        "resume_timeout",
    )

    def __init__(
        self,
        sm: StateCell[ClientState, ClientEvent],
        out: Outbox,
        hs: Negotiation,
        seq: EventSequence,
        *,
        handshake_timeout: float,
        resume_timeout: float,
        close_timeout: float,
    ) -> None:
        self._sm = sm
        self._out = out
        self._hs = hs
        self._seq = seq
        self.handshake_timeout = handshake_timeout
        self.resume_timeout = resume_timeout
        self.close_timeout = close_timeout
        self.phase = Phase()

    def start(self, now: float, timeout: float | None = None) -> None:
        """Queue ``session.hello`` (§6.2); without a welcome by ``timeout`` (default
        :attr:`handshake_timeout`) the session fails with ``RequestTimeoutError``."""
        if self._sm.state is not ClientState.IDLE:
            raise RuntimeError("the handshake was already started")
        fire(self._sm, ClientEvent.START)
        self.phase.start(now, self.handshake_timeout if timeout is None else timeout)
        self._out.queue("session.hello", self._hs.hello(), now)

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
        self._seq.last = last_event_seq
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
        self.phase.start(now, self.resume_timeout)
        if self._hs.legacy_resume:
            self._out.queue("session.hello", self._hs.hello(self._resume_request()), now)
        else:
            self._out.queue("session.resume", self._resume_request(), now)

    def _resume_request(self) -> dict[str, Any]:
        return self._hs.resume_request(self._out.session_id, self._seq.last)

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
            self.phase.start(now, self.close_timeout if timeout is None else timeout)

    def welcomed(self, msg: SessionWelcomeMessage, now: float) -> Welcomed | None:
        """A ``session.welcome``: the handshake or a resume completed (§6.2, §6.3); the
        requests a resume interrupted are resent or given up (§6.3)."""
        state = self._sm.state
        if state is not ClientState.HANDSHAKING and state is not ClientState.RESUMING:
            _log.debug("ignoring an unexpected session.welcome")
            return None
        resumed = state is ClientState.RESUMING
        self.phase.clear()
        if resumed:
            self._seq.resumes += 1
        payload = msg.payload
        session_id = msg.session_id or payload.session_id
        if resumed and session_id != self._out.session_id:
            _log.warning("the runtime resumed us under another session id")
        self._out.session_id = session_id
        self._out.heartbeat = self._hs.welcomed(payload, now)
        fire(self._sm, ClientEvent.WELCOME)
        interrupted = self._out.resend() if resumed else ()
        return Welcomed(session_id, resumed, interrupted)

    def refused(self, error: ARCPError, now: float) -> SessionFailed | None:
        """A ``session.error`` while handshaking or resuming: the session fails, unless a
        runtime that does not know ``session.resume`` refused it; then the legacy form, a
        hello carrying ``resume``, is tried (wire-decisions: Session)."""
        if (
            self._sm.state is ClientState.RESUMING
            and error.code is ErrorCode.INVALID_REQUEST
            and not self._hs.legacy_resume
        ):
            self._hs.legacy_resume = True
            self._out.queue("session.hello", self._hs.hello(self._resume_request()), now)
            self.phase.start(now, self.resume_timeout)
            return None
        fire(self._sm, ClientEvent.FAIL)
        return SessionFailed(error)

    def expired(self) -> SessionOutput:
        """The current wait passed its deadline (:func:`phase_expired`)."""
        self.phase.clear()
        return phase_expired(self._sm, self._hs, self.phase.timeout)
