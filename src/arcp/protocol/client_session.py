"""The sans-IO client session (§6-§8): a pure state machine, no asyncio, no sockets.

One door: :meth:`ClientSession.receive_data` takes what arrived (encoded frames, or decoded
messages) and :meth:`ClientSession.advance` the passing of time, each with the adapter's
monotonic ``now``; both return a :class:`~arcp.protocol.client_step.Step` (what to act on,
the frames to send, the next deadline). Requests (:attr:`ClientSession.requests`) and the
lifecycle calls (:meth:`~ClientSession.start`, :meth:`~ClientSession.resume`,
:meth:`~ClientSession.close`) queue frames that go out with the next step.

The session holds its state (every move through the table
:data:`~arcp.protocol.states.CLIENT_SESSION`) and handles the handshake, resume and close
(§6.2, §6.3, §6.7), what arrives (welcome, answers, ``event_seq`` §8.3, job outcomes §7.3,
§8.4) and every deadline: a request, the handshake, a resume or a close the runtime does not
answer in time ends with :class:`~arcp.errors.RequestTimeoutError`. Its parts:
:class:`~arcp.protocol.client_outbox.Outbox` (envelopes, pending requests),
:class:`~arcp.protocol.client_handshake.Negotiation` (hello and welcome),
:class:`~arcp.protocol.client_calls.ClientRequests` (the requests),
:class:`~arcp.protocol.client_answers.Answers` (what answers what),
:class:`~arcp.protocol.client_sequence.EventSequence` (§8.3),
:class:`~arcp.protocol.client_lifecycle.Lifecycle` (handshake, resume, close) and
:class:`~arcp.protocol.client_timers.Timers` (every deadline).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import cast

from arcp.codec import DecodeError, decode
from arcp.ids import wall_timestamp
from arcp.protocol.client_answers import RESPONSE_TYPES, Answers
from arcp.protocol.client_calls import ClientRequests
from arcp.protocol.client_core import ALL_FEATURES, LIVE_STATES
from arcp.protocol.client_events import (
    ConnectionBroken,
    SessionClosed,
    SessionFailed,
    SessionOutput,
)
from arcp.protocol.client_frames import SkippedEvent, salvage
from arcp.protocol.client_handshake import Negotiation
from arcp.protocol.client_lifecycle import Lifecycle
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
from arcp.protocol.client_sequence import EventSequence
from arcp.protocol.client_step import Step
from arcp.protocol.client_timers import Timers
from arcp.protocol.states import CLIENT_SESSION, ClientEvent, ClientState, StateCell, fire
from arcp_gen.errors import ErrorCode, error_from_payload
from arcp_gen.features import Feature
from arcp_gen.messages import (
    JobErrorMessage,
    JobEventMessage,
    JobResultMessage,
    Message,
    SessionByeMessage,
    SessionClosedMessage,
    SessionErrorMessage,
    SessionPingMessage,
    SessionWelcomeMessage,
)
from arcp_gen.models import AgentInfo, PeerInfo, ResultChunkEvent

__all__ = ["ALL_FEATURES", "ClientSession", "ClientState", "Step"]

_log = logging.getLogger("arcp.client")


class ClientSession:
    """One client session, across any number of resumed connections (§6): its state (the
    table :data:`~arcp.protocol.states.CLIENT_SESSION`), the handshake, resume and close,
    the handling of everything it receives, and its deadlines."""

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
        self._acks = AckScheduler(interval=ack_interval, every=ack_every)
        self._sm: StateCell[ClientState, ClientEvent] = StateCell(CLIENT_SESSION)
        self._out = Outbox()
        self.requests = ClientRequests(
            self._sm, self._out, self._hs, self._acks, timeout=request_timeout, auto_ack=auto_ack
        )
        """The requests this session makes (submit, cancel, subscribe, list_jobs, ack)."""
        self._answers = Answers(self._out.requests)
        self._results = ResultAssembler()
        self._seq = EventSequence()
        self._life = Lifecycle(
            self._sm,
            self._out,
            self._hs,
            self._seq,
            handshake_timeout=handshake_timeout,
            resume_timeout=resume_timeout,
            close_timeout=close_timeout,
        )
        self._timers = Timers(self._sm, self._out, self._hs, self._acks, self.requests, self._life)

    def __repr__(self) -> str:
        return (
            f"ClientSession(state={self._sm.state.value!r}, session_id={self._out.session_id!r}, "
            f"last_event_seq={self._seq.last})"
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
        return self._seq.last

    @property
    def can_resume(self) -> bool:
        """True when a dropped connection can be resumed (§6.3)."""
        return self._hs.resume_token is not None and self._sm.state in (
            ClientState.OPEN,
            ClientState.BROKEN,
            ClientState.DETACHED,
            ClientState.RESUMING,
        )

    @property
    def resume_token(self) -> str | None:
        """The current resume token (§6.3): a secret; never log it."""
        return self._hs.resume_token

    @property
    def request_timeout(self) -> float:
        """The default deadline of a request, in seconds."""
        return self.requests.timeout

    @property
    def close_timeout(self) -> float:
        """The default wait for ``session.closed``, in seconds (§6.7)."""
        return self._life.close_timeout

    # -- the door ------------------------------------------------------------------------

    def receive_data(self, data: Iterable[bytes | Message] | bytes, now: float) -> Step:
        """Process what arrived at ``now``: one frame, or a batch of them from one transport
        read, encoded or decoded. A frame the codec refuses is salvaged per
        :func:`~arcp.protocol.client_frames.salvage`: dropped, read as the ``session.error``
        it stands for, or, for a ``job.event``, counted in the sequence (§8.3). With nothing
        arrived it just collects what requests queued."""
        outputs: list[SessionOutput] = []
        append = outputs.append
        receive = self.receive
        for item in (data,) if isinstance(data, bytes) else data:
            if isinstance(item, bytes):
                try:
                    msg = decode(item)
                except DecodeError as exc:
                    out = self._salvaged(item, exc, now)
                    if out is not None:
                        append(out)
                    continue
            else:
                msg = item
            out = receive(msg, now)
            if out is not None:
                append(out)
        frames = self._out.take() if self._out.frames else ()
        return Step(tuple(outputs), frames, self._timers.next_deadline())

    def advance(self, now: float) -> Step:
        """Let time pass to ``now``: do what is due (:meth:`on_timer`)."""
        outputs = self.on_timer(now)
        return Step(tuple(outputs), self._out.take(), self._timers.next_deadline())

    def data_to_send(self) -> list[bytes]:
        """Take the frames queued since the last step, in order (what a step sends)."""
        return self._out.take()

    # -- lifecycle (§6.2, §6.3, §6.7) -----------------------------------------------------

    def start(self, now: float, timeout: float | None = None) -> None:
        """Queue ``session.hello`` (§6.2): :meth:`Lifecycle.start
        <arcp.protocol.client_lifecycle.Lifecycle.start>`."""
        self._life.start(now, timeout)

    def restore(self, session_id: str, resume_token: str, last_event_seq: int) -> None:
        """Take over a session another client left (§6.3): :meth:`Lifecycle.restore
        <arcp.protocol.client_lifecycle.Lifecycle.restore>`."""
        self._life.restore(session_id, resume_token, last_event_seq)

    def resume(self, now: float) -> None:
        """Queue ``session.resume`` on a fresh connection (§6.3): :meth:`Lifecycle.resume
        <arcp.protocol.client_lifecycle.Lifecycle.resume>`."""
        self._life.resume(now)

    def close(self, now: float, reason: str | None = None, timeout: float | None = None) -> None:
        """Queue ``session.close`` (§6.7): :meth:`Lifecycle.close
        <arcp.protocol.client_lifecycle.Lifecycle.close>`."""
        self._life.close(now, reason, timeout)

    def connection_lost(self) -> bool:
        """The transport is gone; True when the session can be resumed (§6.3)."""
        return self._life.connection_lost()

    def fail(self, error: BaseException) -> list[PendingRequest]:
        """End the session; returns the requests that will never be answered."""
        return self._life.fail(error)

    # -- inbound -------------------------------------------------------------------------

    def receive(self, msg: Message, now: float) -> SessionOutput | None:
        """Process one decoded message: the step :meth:`receive_data` takes per message."""
        hb = self._out.heartbeat
        if hb is not None:
            hb.last_received = now
        if type(msg) is JobEventMessage:
            if self._sm.state not in LIVE_STATES:
                return None
            sq = self._seq
            seq = msg.event_seq
            if seq != sq.last + 1:
                out = self._out_of_order(seq)
                if seq != sq.last + 1:
                    return out
            sq.last = seq
            payload = msg.payload
            if type(payload) is ResultChunkEvent:
                self._results.add(msg.job_id, payload.body)
            return msg
        if type(msg) is JobResultMessage or type(msg) is JobErrorMessage:
            return self._on_terminal(msg)
        if isinstance(msg, RESPONSE_TYPES):
            return self._answers.response(msg)
        if isinstance(msg, SessionWelcomeMessage):
            return self._life.welcomed(msg, now)
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

    def _salvaged(self, frame: bytes, exc: DecodeError, now: float) -> SessionOutput | None:
        salvaged = salvage(frame, exc)
        if salvaged is None:
            return None
        if type(salvaged) is SkippedEvent:
            return self._skip_event(salvaged.seq)
        return self.receive(cast(Message, salvaged), now)

    def _skip_event(self, seq: int) -> ConnectionBroken | None:
        """A ``job.event`` that could not be decoded still holds its place in the sequence
        (§8.3): count it, so dropping it is not mistaken for a gap (a gap resumes, and the
        runtime would replay the same event again and again)."""
        if self._sm.state not in LIVE_STATES:
            return None
        if seq != self._seq.last + 1:
            out = self._out_of_order(seq)
            if seq != self._seq.last + 1:
                return out
        self._seq.last = seq
        self.requests.processed(seq)
        return None

    def _out_of_order(self, seq: int) -> ConnectionBroken | None:
        """A duplicate or an accepted loss (``None``), or a gap: resume to fill it (§8.3)."""
        error = self._seq.out_of_order(seq)
        if error is None:
            return None
        fire(self._sm, ClientEvent.BREAK)
        return ConnectionBroken(error)

    def _on_terminal(self, msg: JobResultMessage | JobErrorMessage) -> SessionOutput | None:
        if self._sm.state not in LIVE_STATES:
            return None
        sq = self._seq
        if type(msg) is JobErrorMessage:
            refusal = self._answers.refusal(msg)
            if refusal is not None:
                if msg.event_seq == sq.last + 1:
                    sq.last = msg.event_seq  # it took a place in the sequence: keep gap-free
                return refusal
        seq = msg.event_seq
        if seq != sq.last + 1:
            out = self._out_of_order(seq)
            if seq != sq.last + 1:
                return out
        sq.last = seq
        self._answers.jobs.discard(msg.job_id)
        return job_outcome(msg, self._results)

    def _on_error(self, msg: SessionErrorMessage, now: float) -> SessionOutput | None:
        payload = msg.payload
        error = error_from_payload(payload)
        code, state = error.code, self._sm.state
        if state is ClientState.HANDSHAKING or state is ClientState.RESUMING:
            return self._life.refused(error, now)
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
        out = self._answers.session_error(error, payload.request_id, details, job_id)
        if out is not None:
            return out
        if state is ClientState.CLOSING:
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
        """When :meth:`advance` is next due, or ``None`` for never."""
        return self._timers.next_deadline()

    def on_timer(self, now: float) -> list[SessionOutput]:
        """Do what is due at ``now`` (the step :meth:`advance` takes): fail expired
        requests, end a handshake, resume or close that got no answer, declare heartbeat
        loss, ping, or ack (:meth:`~arcp.protocol.client_timers.Timers.due`)."""
        return self._timers.due(now, self.wall_offset)
