"""A runtime session's pending sends, sans-IO: the queue its writer drains (§6.4, §13.2).

Control frames are queued as bytes and events as their seq, so the replay buffer itself is
the send queue for events. Control frames queued for a peer that does not read are
bounded (``max_control_bytes``, §13.2). The queue never calls its writer: when it goes
from empty to non-empty (or must be looked at again: overflow, disconnect) it adds its
writer's connection key to :attr:`Ready.writers <arcp.protocol.ready.Ready.writers>`,
which the adapter takes after feeding the core.
"""

from __future__ import annotations

from collections.abc import Callable

from arcp.protocol.frame_stamps import FrameStamps
from arcp.protocol.limits import CONNECTION_OVERHEAD, not_reading
from arcp.protocol.ready import Ready
from arcp.protocol.replay_buffer import EventItem

__all__ = ["SessionOutbox"]


class SessionOutbox:
    """The frames and event seqs waiting for the session's connection, in order."""

    __slots__ = (
        "_session_id",
        "_stamps",
        "control_bytes",
        "max_control_bytes",
        "queue",
        "ready",
        "writer",
    )

    def __init__(
        self, ready: Ready, max_control_bytes: int, stamps: FrameStamps, session_id: str
    ) -> None:
        self._stamps = stamps
        self._session_id = session_id
        self.queue: list[int | bytes] = []  # a list: an empty deque costs 600 B a session
        self.ready = ready
        self.writer: int | None = None
        """The key of the connection that sends this queue, None while detached."""
        self.max_control_bytes = max_control_bytes
        self.control_bytes = 0

    def __repr__(self) -> str:
        return f"SessionOutbox({len(self.queue)} queued, writer={self.writer})"

    def __len__(self) -> int:
        return len(self.queue)

    def wake(self) -> None:
        """Have the writer look at the queue again (it may have to close)."""
        writer = self.writer
        if writer is not None:
            self.ready.writers.add(writer)

    def clear(self) -> None:
        """Forget everything queued (the connection is gone or replaced)."""
        self.queue.clear()
        self.control_bytes = 0

    def push_control(self, frame: bytes) -> bool:
        """Queue a control frame; False when it passed ``max_control_bytes``: then one
        ``session.error INTERNAL_ERROR`` is queued instead and the connection must close
        (§13.2). The writer looks when the queue was empty, or at once on overflow."""
        queued = self.control_bytes + len(frame) + CONNECTION_OVERHEAD
        self.control_bytes = queued
        fits = queued <= self.max_control_bytes
        if not fits:
            err = not_reading(queued, self.max_control_bytes)
            frame = self._stamps.control_frame(
                "session.error", err.to_payload(), session_id=self._session_id
            )
        queue = self.queue
        queue.append(frame)
        if not fits or len(queue) == 1:
            self.wake()
        return fits

    def take(
        self, stamps: FrameStamps, part: bytes, get: Callable[[int], EventItem | None]
    ) -> tuple[list[bytes], int | None]:
        """Every queued frame, encoded and ready to write, and the last event seq among them."""
        queue = self.queue
        if not queue:
            return [], None
        entries = list(queue)
        queue.clear()
        self.control_bytes = 0
        frames = stamps.outbox_frames(entries, part, get)
        for entry in reversed(entries):
            if type(entry) is int:
                return frames, entry
        return frames, None

    def take_control(self) -> list[bytes]:
        """Only the queued control frames; events stay queued, in order."""
        queue = self.queue
        frames = [entry for entry in queue if type(entry) is bytes]
        if frames:
            events = [entry for entry in queue if type(entry) is int]
            queue.clear()
            queue.extend(events)
            self.control_bytes = 0
        return frames  # pyright: ignore[reportReturnType]
