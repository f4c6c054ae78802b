"""Envelope ids and timestamps of the runtime's frames, from a clock the adapter injects (§5).

The core reads no clock: :class:`FrameStamps` is handed the wall clock (milliseconds since
the epoch) by whoever builds the core, and keeps the state that makes ids cheap and
increasing (a block of ids per millisecond, the formatted second) on itself, not in module
globals. A test gives it a fake clock; two cores never share a counter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from random import getrandbits
from typing import Any, Final

import orjson

from arcp.ids import DIGIT_PAIRS, utc_timestamp
from arcp.protocol.replay_buffer import EventItem
from arcp_gen.messages import EVENT_KINDS
from arcp_gen.registry import PROTOCOL_VERSION

__all__ = ["FrameStamps", "WallClock"]

WallClock = Callable[[], int]
"""The wall clock as the adapter reads it: whole milliseconds since the Unix epoch."""

_OPEN: Final = b'{"arcp":"' + PROTOCOL_VERSION.encode() + b'","id":"'
_BYTE_PAIRS: Final = tuple(pair.encode() for pair in DIGIT_PAIRS)
_ID_BLOCK: Final = 1 << 30
_RANDOM_BITS: Final = 50
_EVENT_HEADS: Final = {kind: b'{"kind":"' + kind.encode() + b'","ts":"' for kind in EVENT_KINDS}


class FrameStamps:
    """Mints envelope ids and RFC 3339 timestamps for one runtime core (§5, §8.1)."""

    __slots__ = (
        "_id_count",
        "_id_ms",
        "_id_prefix",
        "_id_prefix_bytes",
        "_id_prefix_value",
        "_ts_bytes",
        "_ts_ms",
        "_ts_prefix",
        "_ts_second",
        "_ts_text",
        "clock",
    )

    def __init__(self, clock: WallClock) -> None:
        self.clock = clock
        """The injected wall clock (milliseconds since the epoch)."""
        self._id_prefix = ""
        self._id_prefix_bytes = b""
        self._id_prefix_value = -1
        self._id_ms = -1
        self._id_count = _ID_BLOCK
        self._ts_ms = -1
        self._ts_second = -1
        self._ts_prefix = ""
        self._ts_text = ""
        self._ts_bytes = b""

    # -- envelope ids (§5) ---------------------------------------------------------------

    def _new_id_block(self, ms: int) -> None:
        """Start a block of ids whose ULID time part is ``ms`` (§5): 10 time characters, 50
        random bits, then a 30-bit count. A block never sorts before the previous one: when
        the clock stepped back (or a block ran out within one millisecond), the new prefix is
        the previous one plus one, so its time part may run a millisecond or so ahead."""
        value = (ms << _RANDOM_BITS) | getrandbits(_RANDOM_BITS)  # ids need not be secret
        if value <= self._id_prefix_value:
            value = self._id_prefix_value + 1
        self._id_prefix_value = value
        prefix = "".join([DIGIT_PAIRS[(value >> shift) & 1023] for shift in range(90, -1, -10)])
        self._id_prefix = prefix
        self._id_prefix_bytes = prefix.encode()
        self._id_ms = ms
        self._id_count = 0

    def frame_id(self) -> str:
        """A unique ULID envelope id, cheaper than :func:`~arcp.ids.new_ulid` (§5).

        Its time part is the millisecond it was made; within one millisecond the last six
        characters count, so ids of a burst share the time part and still increase.
        """
        ms = self.clock()
        if ms != self._id_ms or self._id_count >= _ID_BLOCK:
            self._new_id_block(ms)
        count = self._id_count
        self._id_count = count + 1
        pairs = DIGIT_PAIRS
        return f"{self._id_prefix}{pairs[count >> 20]}{pairs[(count >> 10) & 1023]}{pairs[count & 1023]}"

    # -- timestamps (§5) -------------------------------------------------------------------

    def _stamp(self, ms: int) -> None:
        self._ts_ms = ms
        second = ms // 1000
        if second != self._ts_second:
            self._ts_second = second
            self._ts_prefix = utc_timestamp(datetime.fromtimestamp(second, UTC))[:20]
        self._ts_text = f"{self._ts_prefix}{ms % 1000:03d}Z"
        self._ts_bytes = self._ts_text.encode()

    def timestamp(self) -> str:
        """The current UTC time as RFC 3339 with ``Z`` and milliseconds, cheaply (§5)."""
        ms = self.clock()
        if ms != self._ts_ms:
            self._stamp(ms)
        return self._ts_text

    # -- frames ----------------------------------------------------------------------------

    def event_payload(self, kind: str, body: dict[str, Any]) -> bytes:
        """The encoded payload of one ``kind`` event with ``body``, stamped now (§8.1).

        The same bytes as encoding ``{"kind", "ts", "body"}`` at once, joined from parts so
        the result is exactly its own size: a buffered event holds no spare allocation.
        """
        ms = self.clock()
        if ms != self._ts_ms:
            self._stamp(ms)
        head = _EVENT_HEADS.get(kind) or b'{"kind":' + orjson.dumps(kind) + b',"ts":"'
        return b"".join((head, self._ts_bytes, b'","body":', orjson.dumps(body), b"}"))

    def control_frame(
        self,
        message_type: str,
        payload: dict[str, Any],
        *,
        session_id: str | None = None,
        job_id: str | None = None,
        trace_id: str | None = None,
    ) -> bytes:
        """Encode a control envelope (never carries ``event_seq``, §6.4).

        The result is an exact-size copy: a frame may wait in a queue, and a fresh
        ``orjson.dumps`` result holds a ~4 KiB allocation whatever its length.
        """
        envelope: dict[str, Any] = {
            "arcp": PROTOCOL_VERSION,
            "id": self.frame_id(),
            "type": message_type,
        }
        if session_id is not None:
            envelope["session_id"] = session_id
        if trace_id is not None:
            envelope["trace_id"] = trace_id
        if job_id is not None:
            envelope["job_id"] = job_id
        envelope["payload"] = payload
        return bytes(memoryview(orjson.dumps(envelope)))

    def outbox_frames(
        self,
        entries: Iterable[bytes | int],
        session_part: bytes,
        get: Callable[[int], EventItem | None],
    ) -> list[bytes]:
        """The frames of a session's queued entries, in order: a control frame (bytes) as it
        is; an event seq as the buffered item ``get(seq)`` stamped with that seq, a fresh
        envelope id (as :meth:`frame_id` makes them) and the session's part. An item already
        evicted (``None``) has no frame: the client will see the gap (§8.3).

        ``session_part`` is ``b'","session_id":"<id>"'`` (see
        :func:`~arcp.protocol.event_frames.session_part`).
        """
        frames: list[bytes] = []
        append = frames.append
        join = b"".join
        pairs = _BYTE_PAIRS
        ms = self.clock()  # one clock read per batch: the frames' ULID time
        if ms != self._id_ms:
            self._new_id_block(ms)
        count = self._id_count
        prefix = self._id_prefix_bytes
        for entry in entries:
            if isinstance(entry, bytes):
                append(entry)
                continue
            item = get(entry)
            if item is None:
                continue
            if count >= _ID_BLOCK:
                self._id_count = count
                self._new_id_block(ms)
                count = 0
                prefix = self._id_prefix_bytes
            append(
                join(
                    (
                        _OPEN,
                        prefix,
                        pairs[count >> 20],
                        pairs[(count >> 10) & 1023],
                        pairs[count & 1023],
                        session_part,
                        item[1],
                        b"%d" % entry,
                        b',"payload":',
                        item[2],
                        b"}",
                    )
                )
            )
            count += 1
        self._id_count = count
        return frames
