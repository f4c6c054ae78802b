"""One runtime-side session, sans-IO: seq stamping, replay, resume, heartbeat, ack (§6).

A :class:`RuntimeSession` never touches a socket or a clock. Callers feed it the current
monotonic time, push frames into it, and take the frames to send with :meth:`drain`. Job
events go through the :class:`ReplayBuffer`, which stamps the session's gap-free
``event_seq`` (§8.3) and keeps them for resume (§6.3); control frames (welcome, errors,
pongs, ...) are sent once and never carry a seq (§6.4).

The pending-send queue is a :class:`~arcp.protocol.session_outbox.SessionOutbox`: past
``max_control_bytes`` of unread control frames the session closes its connection (§13.2)
and stays resumable. The session never calls its adapter: what it makes ready is recorded
in its :class:`~arcp.protocol.ready.Ready`.

Flow control (§13.2): the session's *lag* is the number of events the client does not have
yet: past the last acknowledged seq once the client sends ``session.ack`` (§6.5), past the
last sent seq before that or without ``ack``.
When it reaches ``high_water`` the session's :attr:`~RuntimeSession.flow` valve shuts and the
agents feeding it wait; it opens again at half that, or when the session expires.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from arcp.protocol.event_frames import (
    JobEventLog,
    gate_mask,
    session_part,
)
from arcp.protocol.flow import Valve
from arcp.protocol.frame_stamps import FrameStamps
from arcp.protocol.journal import Journal, NoJournal
from arcp.protocol.limits import AttachedSessions
from arcp.protocol.ready import Ready
from arcp.protocol.replay_buffer import EventItem, ReplayBuffer
from arcp.protocol.resume_token import ResumeTokens, hash_resume_token
from arcp.protocol.runtime_liveness import Liveness
from arcp.protocol.session_outbox import SessionOutbox
from arcp.protocol.states import (
    RUNTIME_SESSION,
    RuntimeSessionEvent,
    RuntimeSessionState,
    StateCell,
    fire,
)
from arcp_gen.errors import ARCPError, HeartbeatLostError, ResumeWindowExpiredError
from arcp_gen.features import Feature

__all__ = ["RuntimeSession", "hash_resume_token"]


_ATTACHED = RuntimeSessionState.ATTACHED
_CLOSING = RuntimeSessionState.CLOSING
_OVERFLOWED = RuntimeSessionState.OVERFLOWED


class RuntimeSession:
    """The runtime's state for one ARCP session across every connection it uses (§6)."""

    __slots__ = (  # an idle session is mostly this object: no per-instance dict (issue #18)
        "_ack", "_acked", "_acking", "_back_pressured", "_detached_at", "_gates", "_heartbeat",
        "_part", "_sent_through", "_sm", "_tally", "_tokens", "_welcome_base",
        "back_pressure_threshold", "buffer", "features", "flow", "generation",
        "heartbeat_interval_sec", "high_water", "journal", "liveness", "outbox", "principal",
        "ready", "resume_window_sec", "session_id", "stamps", "subscriptions",
    )  # fmt: skip

    def __init__(
        self,
        *,
        session_id: str,
        principal: str,
        features: Iterable[Feature],
        welcome_base: Mapping[str, Any],
        now: float,
        stamps: FrameStamps,
        resume_window_sec: float = 600,
        heartbeat_interval_sec: float = 30,
        back_pressure_threshold: int = 1000,
        buffer_limit: int = 100_000,
        high_water: int = 50_000,
        max_control_bytes: int = 4 * 1024 * 1024,
        ready: Ready | None = None,
        tally: AttachedSessions | None = None,
    ) -> None:
        self.session_id = session_id
        self.stamps = stamps
        """Envelope ids and timestamps, from the clock the adapter injected into the core."""
        self.principal = principal
        self.features: frozenset[Feature] = frozenset(features)
        self.resume_window_sec = resume_window_sec
        self.heartbeat_interval_sec = heartbeat_interval_sec
        self.back_pressure_threshold = back_pressure_threshold
        self.buffer = ReplayBuffer(buffer_limit)
        self.high_water = high_water
        self.ready = ready if ready is not None else Ready()
        """Where the session records what it made ready for the adapter (its core's)."""
        self.flow = Valve(self.ready)
        """Shut while the lag is at or past ``high_water``: agents feeding the session wait."""
        self.outbox = SessionOutbox(self.ready, max_control_bytes, stamps, session_id)
        self.subscriptions: set[str] = set()
        self._sm: StateCell[RuntimeSessionState, RuntimeSessionEvent] = StateCell(RUNTIME_SESSION)
        self.liveness = Liveness(heartbeat_interval_sec, now)
        """Heartbeat deadlines (§6.4) and idleness (§14)."""
        self.generation = 1
        self.journal: Journal = NoJournal()
        """Where state changes are recorded for the store, when there is one."""
        self._welcome_base = welcome_base  # shared by the runtime's sessions, never changed
        self._tokens = ResumeTokens()
        self._part = session_part(session_id)
        self._acked = 0
        self._sent_through = 0
        self._back_pressured = False
        self._detached_at: float | None = None
        self._gates = gate_mask(self.features)
        self._ack = Feature.ACK in self.features
        self._acking = False  # True once the client acknowledged: lag counts from its acks
        self._heartbeat = Feature.HEARTBEAT in self.features
        self._tally = tally
        """The principal's attached-session count, kept as the session moves (§14)."""
        if tally is not None:
            tally.add(principal, 1)  # a session starts attached

    def __repr__(self) -> str:
        return f"RuntimeSession({self.session_id!r}, principal={self.principal!r})"

    # -- state (§6.3; the table is :data:`arcp.protocol.states.RUNTIME_SESSION`) --------------

    @property
    def state(self) -> RuntimeSessionState:
        """Where the session is: attached, closing, overflowed, detached or expired."""
        return self._sm.state

    def _count(self, delta: int) -> None:
        """Only RESUME (from detached), DETACH and RESTORE change :attr:`attached`."""
        if self._tally is not None:
            self._tally.add(self.principal, delta)

    @property
    def attached(self) -> bool:
        """True while a connection carries the session (even one that is closing)."""
        state = self._sm.state
        return state is _ATTACHED or state is _CLOSING or state is _OVERFLOWED

    @property
    def closing(self) -> bool:
        """True when the connection should close once what is queued is written."""
        state = self._sm.state
        return state is _CLOSING or state is _OVERFLOWED

    @property
    def overflowed(self) -> bool:
        """True once the peer let its queued control frames pass ``max_control_bytes``."""
        return self._sm.state is _OVERFLOWED

    # -- welcome and resume (§6.2, §6.3) -------------------------------------------------

    def welcome(self, request_id: str | None = None) -> None:
        """Queue a ``session.welcome`` carrying a freshly rotated resume token (§6.3)."""
        token = self._tokens.rotate()
        self.journal.session(self)
        payload = dict(self._welcome_base)
        payload.update(
            session_id=self.session_id,
            accepted_at=self.stamps.timestamp(),
            resume_token=token,
            resume_window_sec=math.ceil(self.resume_window_sec),
            # The wire wants whole seconds ≥ 1; sub-second intervals exist for tests only.
            heartbeat_interval_sec=max(1, math.ceil(self.heartbeat_interval_sec)),
        )
        caps = dict(payload.get("capabilities") or {})
        caps["features"] = sorted(f.value for f in self.features)
        payload["capabilities"] = caps
        self.push_control(
            self.stamps.control_frame("session.welcome", payload, session_id=self.session_id)
        )

    @property
    def token_digest(self) -> bytes:
        """The SHA-256 digest of the current resume token (the token itself is never kept)."""
        return self._tokens.digest

    @property
    def detached_since(self) -> float | None:
        """When the session lost its connection (monotonic), None while attached."""
        return self._detached_at

    def restore(
        self,
        *,
        token_digest: bytes,
        acked_seq: int,
        first_seq: int,
        items: list[EventItem],
        subscriptions: Iterable[str],
        detached_at: float,
    ) -> None:
        """Rebuild a session read back from a store: detached, resumable (§6.3)."""
        self._tokens.digest = token_digest
        self._acked = self._sent_through = acked_seq
        self.buffer.restore(first_seq, items)
        self.buffer.set_floor(acked_seq)
        self._acking = acked_seq > 0
        self.subscriptions = set(subscriptions)
        fire(self._sm, RuntimeSessionEvent.RESTORE)
        self._count(-1)
        self._detached_at = detached_at

    def token_matches(self, token: str) -> bool:
        """Constant-time check of a presented resume token against the stored digest."""
        return self._tokens.matches(token)

    def resume(self, token: str, last_event_seq: int, now: float) -> ARCPError | None:
        """Attach a new connection (§6.3): welcome, then every held event after the given seq.

        Returns the error to send instead when the token is wrong or the buffer no longer
        covers ``last_event_seq``; the session is left untouched then.
        """
        if not self.token_matches(token) or self.expired(now):
            return ResumeWindowExpiredError("the session cannot be resumed")
        if not self.buffer.covers(last_event_seq):
            return ResumeWindowExpiredError(
                "the replay buffer no longer covers the requested event_seq",
                details={"first_available_seq": self.buffer.first_seq},
            )
        self._tokens.accept(token)
        self.generation += 1
        if not self.attached:
            self._count(1)
        fire(self._sm, RuntimeSessionEvent.RESUME)
        self.liveness.reset(now)
        self._detached_at = None
        self._acked = max(self._acked, last_event_seq)
        self._sent_through = last_event_seq
        self.buffer.set_floor(self._acked if self._acking else last_event_seq)
        self._relieve()
        self.outbox.clear()
        self.welcome()
        self.outbox.queue.extend(self.buffer.after(last_event_seq))
        return None

    def detach(self, now: float) -> None:
        """The connection is gone; keep buffering for the resume window (§6.3, §6.4)."""
        if self.attached:
            fire(self._sm, RuntimeSessionEvent.DETACH)
            self._count(-1)
            self._detached_at = now
            self.outbox.clear()
            self.outbox.writer = None
            self.journal.session(self)

    def release(self) -> None:
        """The session is gone (expired): nobody waits for its client any more."""
        fire(self._sm, RuntimeSessionEvent.EXPIRE)
        self.flow.open()

    def _relieve(self) -> None:
        """Open the valve once the lag is down to half the high-water mark."""
        buffer = self.buffer
        if self.flow.shut and buffer.last_seq - buffer.floor <= self.high_water // 2:
            self.flow.open()

    @property
    def lag(self) -> int:
        """Events the client does not have yet: unacknowledged with ``ack``, else unsent."""
        return self.buffer.last_seq - self.buffer.floor

    def expired(self, now: float) -> bool:
        """True once the session has been detached for longer than the resume window."""
        return self._detached_at is not None and now - self._detached_at > self.resume_window_sec

    # -- sending -------------------------------------------------------------------------

    def accepts(self, gate: int) -> bool:
        """Whether events behind ``gate`` may be sent on this session: it negotiated every
        feature the gate stands for (§6.2; gates come from the generated metamodel)."""
        return gate & self._gates == gate

    def push_control(self, frame: bytes) -> None:
        """Queue a control frame for the attached connection (dropped while detached, and
        once the queue overflowed and the connection is closing, §13.2)."""
        if self.attached and not self.overflowed and not self.outbox.push_control(frame):
            fire(self._sm, RuntimeSessionEvent.OVERFLOW)

    def control(self, message_type: str, payload: dict[str, Any], **envelope: str | None) -> None:
        """Encode and queue a control message on this session."""
        self.push_control(
            self.stamps.control_frame(message_type, payload, session_id=self.session_id, **envelope)
        )

    def error(self, err: ARCPError, request_id: str | None = None) -> None:
        """Queue ``session.error`` for a failed request (wire-decisions: Request failures)."""
        payload = err.to_payload()
        if request_id is not None:
            payload["request_id"] = request_id
        self.control("session.error", payload)

    def push_event(
        self, item: EventItem, log: JobEventLog | None = None, stored: EventItem | None = None
    ) -> int:
        """Stamp ``item`` with this session's next seq, buffer and queue it; returns the seq.

        ``stored`` replaces ``item`` in the store when ``item`` carries a secret (§9.8.2).

        With ``ack`` negotiated, the event that makes the unacknowledged lag reach the
        threshold is followed by one ``back_pressure`` status on the same job (§6.5). The
        event that makes the lag reach ``high_water`` shuts :attr:`flow` (§13.2).
        """
        buffer = self.buffer
        seq = buffer.append(item)
        if seq - buffer.floor >= self.high_water:
            self.flow.shut = True
        self.journal.event(self, seq, item if stored is None else stored)
        state = self._sm.state  # attached, inlined: this runs once per event
        if state is _ATTACHED or state is _CLOSING or state is _OVERFLOWED:
            queue = self.outbox.queue
            queue.append(seq)
            if len(queue) == 1:
                self.outbox.wake()
        if (
            log is not None
            and self._ack
            and not self._back_pressured
            and seq - self._acked >= self.back_pressure_threshold
        ):
            self._back_pressured = True
            body = {
                "phase": "back_pressure",
                "message": f"{seq - self._acked} events unacknowledged",
            }
            self.push_event(log.local_item(self.stamps.event_payload("status", body)))
        return seq

    @property
    def next_seq(self) -> int:
        """The seq the next pushed event will get."""
        return self.buffer.last_seq + 1

    def drain(self, now: float) -> list[bytes]:
        """Take every queued frame, encoded and ready to write, in order."""
        if not self.outbox.queue:
            return []
        self.liveness.last_sent = now
        frames, last = self.outbox.take(self.stamps, self._part, self.buffer.get)
        if last is not None:
            self._sent_through = last
            if not self._acking:  # the client has them now: the cap may evict them
                self.buffer.set_floor(last)
                self._relieve()
        return frames

    def drain_control(self, now: float) -> list[bytes]:
        """Take only the queued control frames; events stay queued, in order (used while
        the store cannot commit them)."""
        frames = self.outbox.take_control()
        if frames:
            self.liveness.last_sent = now
        return frames

    # -- inbound bookkeeping (§6.4, §6.5) --------------------------------------------------

    def received(self, now: float) -> None:
        """Note that a frame arrived (any frame proves liveness, §6.4); the client has the
        newest welcome, so the token before it is no longer accepted (§6.3)."""
        self.liveness.last_received = now
        self._tokens.settle()

    def ack(self, last_processed_seq: int) -> None:
        """Free events the client has processed (§6.5) and re-arm back-pressure."""
        seq = min(last_processed_seq, self._sent_through)  # never free what was not sent
        if seq <= self._acked:
            return
        self._acked = seq
        self._acking = True
        self.buffer.free_through(seq)
        self.buffer.floor = seq
        self._relieve()
        self.journal.session(self)
        if self.buffer.last_seq - seq < self.back_pressure_threshold // 2 + 1:
            self._back_pressured = False

    @property
    def acked_seq(self) -> int:
        """The highest seq the client acknowledged."""
        return self._acked

    def idle(self, now: float, limit: float) -> bool:
        """True when nothing but heartbeats and acks crossed the connection for ``limit``
        seconds: no request in, no event out (§14, zero-throughput sessions). Costs nothing
        per event (see :meth:`Liveness.idle`)."""
        return self.liveness.idle(now, limit, self.buffer.last_seq, self.attached)

    def disconnect(self) -> None:
        """Let the connection go once what is queued is written; the session stays
        resumable for the resume window (§6.3)."""
        fire(self._sm, RuntimeSessionEvent.DISCONNECT)
        self.outbox.wake()

    def ping(self, nonce: str) -> None:
        """Answer a ``session.ping`` with ``session.pong`` (§6.4)."""
        self.control("session.pong", {"ping_nonce": nonce, "received_at": self.stamps.timestamp()})

    def next_deadline(self) -> float | None:
        """When :meth:`on_deadline` must next run, or None without heartbeats (§6.4)."""
        if not (self._heartbeat and self.attached) or self.closing:
            return None
        return self.liveness.deadline()

    def on_deadline(self, now: float) -> None:
        """Send a ping when idle; after two silent intervals give up the connection (§6.4)."""
        deadline = self.next_deadline()
        if deadline is None or now < deadline:
            return
        if self.liveness.lost(now):
            self.error(HeartbeatLostError("no message from the client for two heartbeat intervals"))
            fire(self._sm, RuntimeSessionEvent.DISCONNECT)
            return
        if self.liveness.ping_due(now):
            nonce = "p_" + secrets.token_hex(8)
            self.control("session.ping", {"nonce": nonce, "sent_at": self.stamps.timestamp()})
            self.liveness.last_sent = now

    def close(self) -> None:
        """``session.close``: acknowledge, then let the connection go (§6.7)."""
        self.control("session.closed", {})
        fire(self._sm, RuntimeSessionEvent.DISCONNECT)
