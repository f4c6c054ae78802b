"""One transport connection on the runtime side, sans-IO (§4, §6.1).

A connection starts unbound; ``session.hello`` or ``session.resume`` binds it to a
:class:`RuntimeSession`. Until then its own small queue carries the errors it earns; that
queue is bounded (``max_preamble_bytes``): a peer that floods it without reading is closed
(§13.2, §14).
A resume on another connection supersedes this one: the session's ``generation`` moves on
and this connection's writer stops and closes.

The connection never calls its adapter: when its writer must look again it adds its
:attr:`~RuntimeConnection.key` to :attr:`Ready.writers <arcp.protocol.ready.Ready.writers>`.
"""

from __future__ import annotations

from arcp.protocol.frame_stamps import FrameStamps
from arcp.protocol.limits import CONNECTION_OVERHEAD, not_reading
from arcp.protocol.ready import Ready
from arcp.protocol.runtime_session import RuntimeSession
from arcp_gen.errors import ARCPError

__all__ = ["RuntimeConnection"]


class RuntimeConnection:
    """Connection-level state: the bound session (if any) and pre-session frames."""

    def __init__(
        self,
        max_preamble_bytes: int = 64 * 1024,
        *,
        stamps: FrameStamps,
        ready: Ready | None = None,
    ) -> None:
        self.stamps = stamps
        """Envelope ids of the frames sent before a session exists (the core's stamps)."""
        self.session: RuntimeSession | None = None
        self.generation = 0
        self.preamble: list[bytes] = []
        self.max_preamble_bytes = max_preamble_bytes
        self._preamble_bytes = 0
        self._overflowed = False
        self._closing = False
        self.ready = ready if ready is not None else Ready()
        """Where the connection records that its writer must look again (its core's)."""
        self.key = self.ready.new_key()
        """This connection's name in :attr:`Ready.writers`."""

    def bind(self, session: RuntimeSession) -> None:
        """Attach to ``session``; its frames now flow through this connection."""
        self.session = session
        self.generation = session.generation
        session.outbox.writer = self.key
        if session.outbox:
            session.outbox.wake()

    @property
    def current(self) -> bool:
        """True while this connection is the one its session sends through."""
        session = self.session
        return session is not None and session.attached and session.generation == self.generation

    @property
    def closing(self) -> bool:
        """True when the transport should close once what is queued is written."""
        if self._closing:
            return True
        if self.session is None:
            return False
        return not self.current or self.session.closing

    @property
    def overflowed(self) -> bool:
        """True once the peer let its queue of replies overflow: stop reading from it."""
        if self._overflowed:
            return True
        session = self.session
        return session is not None and session.overflowed and self.current

    def close_after_flush(self) -> None:
        """Close the transport after writing what is queued (e.g. after UNAUTHENTICATED)."""
        self._closing = True
        self._wake()

    def error(self, err: ARCPError, request_id: str | None = None) -> None:
        """Queue ``session.error`` on the session, or on the connection before one exists."""
        if self.current:
            assert self.session is not None
            self.session.error(err, request_id)
            return
        if self._overflowed:
            return
        payload = err.to_payload()
        if request_id is not None:
            payload["request_id"] = request_id
        frame = self.stamps.control_frame("session.error", payload)
        self._preamble_bytes += len(frame) + CONNECTION_OVERHEAD
        if self._preamble_bytes > self.max_preamble_bytes:
            self._overflowed = self._closing = True
            err = not_reading(self._preamble_bytes, self.max_preamble_bytes, "max_preamble_bytes")
            frame = self.stamps.control_frame("session.error", err.to_payload())
        self.preamble.append(frame)
        self._wake()

    def take(self, now: float) -> list[bytes]:
        """Every frame ready to write on this connection, in order."""
        frames = list(self.preamble)
        self.preamble.clear()
        self._preamble_bytes = 0
        if self.current:
            assert self.session is not None
            frames.extend(self.session.drain(now))
        return frames

    def take_control(self, now: float) -> list[bytes]:
        """The control frames ready to write, in order; queued events stay queued."""
        frames = list(self.preamble)
        self.preamble.clear()
        self._preamble_bytes = 0
        if self.current:
            assert self.session is not None
            frames.extend(self.session.drain_control(now))
        return frames

    def _wake(self) -> None:
        self.ready.writers.add(self.key)
