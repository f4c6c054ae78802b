"""Every deadline of a client session (wire-decisions: no unbounded wait): each request's,
the lifecycle's (the handshake, a resume attempt or a close waits for one answer under one
:class:`~arcp.protocol.client_lifecycle.Phase` deadline, §6.2, §6.3, §6.7), the heartbeat's (§6.4) and the ack schedule's
(§6.5). :class:`Timers` says when the next one is due and does what is due.
"""

from __future__ import annotations

import logging
import math

from arcp.ids import new_id, wall_timestamp
from arcp.protocol.client_calls import ClientRequests
from arcp.protocol.client_events import (
    ConnectionBroken,
    RequestFailed,
    SessionOutput,
)
from arcp.protocol.client_handshake import Negotiation
from arcp.protocol.client_lifecycle import PHASED, Lifecycle
from arcp.protocol.client_liveness import AckScheduler
from arcp.protocol.client_outbox import Outbox
from arcp.protocol.states import ClientEvent, ClientState, StateCell, fire
from arcp.sdk_errors import RequestTimeoutError
from arcp_gen.errors import HeartbeatLostError
from arcp_gen.features import Feature

__all__ = ["Timers"]

_log = logging.getLogger("arcp.client")


class Timers:
    """The deadlines of one client session; it shares the session's state, outbox,
    negotiation, ack schedule and requests."""

    __slots__ = ("_acks", "_hs", "_life", "_out", "_requests", "_sm")

    def __init__(
        self,
        sm: StateCell[ClientState, ClientEvent],
        out: Outbox,
        hs: Negotiation,
        acks: AckScheduler,
        requests: ClientRequests,
        life: Lifecycle,
    ) -> None:
        self._sm = sm
        self._out = out
        self._hs = hs
        self._acks = acks
        self._requests = requests
        self._life = life

    def _acking(self) -> bool:
        return self._requests.auto_ack and Feature.ACK in self._hs.features

    def next_deadline(self) -> float | None:
        """When :meth:`due` must next run, or ``None`` for never (read on every step: the
        states are told apart by identity, the cheapest test)."""
        state = self._sm.state
        out = self._out
        deadline = out.requests.next_deadline()
        if state is ClientState.OPEN or state is ClientState.CLOSING:
            hb = out.heartbeat
            if hb is not None:
                deadline = min(deadline, hb.deadline())
            due = self._acks.due_at
            if due is not None and due < deadline and self._acking():
                deadline = due
            if state is ClientState.CLOSING:
                deadline = min(deadline, self._life.phase.deadline)
        elif state is ClientState.HANDSHAKING or state is ClientState.RESUMING:
            deadline = min(deadline, self._life.phase.deadline)
        elif (
            state is ClientState.IDLE or state is ClientState.CLOSED or state is ClientState.FAILED
        ):
            return None
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
        if sm.state in PHASED and now >= self._life.phase.deadline:
            outputs.append(self._life.expired())
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
