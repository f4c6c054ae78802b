"""Every deadline of a client session (wire-decisions: no unbounded wait): each request's,
the lifecycle's (the handshake, a resume attempt or a close waits for one answer under one
:class:`Phase` deadline, §6.2, §6.3, §6.7), the heartbeat's (§6.4) and the ack schedule's
(§6.5). :class:`Timers` says when the next one is due and does what is due.
"""

from __future__ import annotations

import logging
import math
from typing import Final

from arcp.ids import new_id, wall_timestamp
from arcp.protocol.client_calls import ClientRequests
from arcp.protocol.client_events import (
    ConnectionBroken,
    RequestFailed,
    SessionClosed,
    SessionFailed,
    SessionOutput,
)
from arcp.protocol.client_handshake import Negotiation
from arcp.protocol.client_liveness import AckScheduler, check_timeout
from arcp.protocol.client_outbox import Outbox
from arcp.protocol.states import ClientEvent, ClientState, StateCell, fire
from arcp.sdk_errors import RequestTimeoutError, ResumeFailedError
from arcp_gen.errors import HeartbeatLostError
from arcp_gen.features import Feature

__all__ = ["PHASED", "Phase", "Timers", "phase_expired"]

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


class Timers:
    """The deadlines of one client session; it shares the session's state, outbox,
    negotiation, ack schedule and requests."""

    __slots__ = ("_acks", "_hs", "_out", "_requests", "_sm", "phase")

    def __init__(
        self,
        sm: StateCell[ClientState, ClientEvent],
        out: Outbox,
        hs: Negotiation,
        acks: AckScheduler,
        requests: ClientRequests,
    ) -> None:
        self._sm = sm
        self._out = out
        self._hs = hs
        self._acks = acks
        self._requests = requests
        self.phase = Phase()

    def _acking(self) -> bool:
        return self._requests.auto_ack and Feature.ACK in self._hs.features

    def next_deadline(self) -> float | None:
        """When :meth:`due` must next run, or ``None`` for never."""
        state = self._sm.state
        if state is ClientState.IDLE or state is ClientState.CLOSED or state is ClientState.FAILED:
            return None
        deadline = self._out.requests.next_deadline()
        if state in PHASED:
            deadline = min(deadline, self.phase.deadline)
        if state is ClientState.OPEN or state is ClientState.CLOSING:
            if self._out.heartbeat is not None:
                deadline = min(deadline, self._out.heartbeat.deadline())
            due = self._acks.due_at
            if due is not None and self._acking():
                deadline = min(deadline, due)
        return None if deadline == math.inf else deadline

    def due(self, now: float, wall_offset: float) -> list[SessionOutput]:
        """Do what is due at ``now``: fail expired requests, end a handshake, resume or
        close that got no answer, declare heartbeat loss, ping (dated ``now +
        wall_offset``), or ack."""
        sm, out = self._sm, self._out
        outputs: list[SessionOutput] = [
            RequestFailed(r.request_id, r.kind, RequestTimeoutError(r.kind, r.timeout))
            for r in out.requests.expire(now)
        ]
        if sm.state in PHASED and now >= self.phase.deadline:
            self.phase.clear()
            outputs.append(phase_expired(sm, self._hs, self.phase.timeout))
        if sm.state is not ClientState.OPEN and sm.state is not ClientState.CLOSING:
            return outputs
        hb = out.heartbeat
        if hb is not None:
            if hb.lost(now):
                error = HeartbeatLostError(
                    "no message from the runtime for two heartbeat intervals"
                )
                out.queue("session.error", error.to_payload(), now)
                fire(sm, ClientEvent.BREAK)
                outputs.append(ConnectionBroken(error))
                return outputs
            if hb.ping_due(now):
                ping = {"nonce": new_id("p"), "sent_at": wall_timestamp(now + wall_offset)}
                out.queue("session.ping", ping, now)
        if self._acking():
            seq = self._acks.take(now)
            if seq is not None:
                out.queue("session.ack", {"last_processed_seq": seq}, now)
        return outputs
