"""Encode-once job events and their per-session envelopes (§5, §8.1).

A job event's payload is encoded exactly once. Each session that receives it splices the
same payload bytes into its own envelope, with its own ``session_id``, envelope ``id`` and
``event_seq`` (§8.3), so re-stamping an event for a subscriber costs one bytes join.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from itertools import starmap
from random import getrandbits
from typing import Any, Final

import orjson

from arcp.ids import DIGIT_PAIRS, utc_timestamp
from arcp.protocol.replay_buffer import EventItem
from arcp_gen.features import Feature
from arcp_gen.messages import EVENT_KINDS
from arcp_gen.metamodel import EVENT_GATES, GATE_FEATURES
from arcp_gen.registry import PROTOCOL_VERSION

__all__ = [
    "GATE_NONE",
    "ByteAccount",
    "JobEventLog",
    "control_frame",
    "event_gate",
    "event_payload",
    "event_timestamp",
    "frame_id",
    "gate_mask",
    "outbox_frames",
    "session_part",
]

GATE_NONE: Final = 0
"""An event every session receives (vendor kinds and the ungated spec kinds)."""


def event_gate(kind: str) -> int:
    """The gate bits of an event ``kind``, from the generated metamodel (§6.2): e.g. a
    ``progress`` event reaches only sessions that negotiated ``progress`` (§8.2.1)."""
    return EVENT_GATES.get(kind, GATE_NONE)


def gate_mask(features: Iterable[Feature]) -> int:
    """The gate bits a session with these negotiated ``features`` accepts (§6.2)."""
    chosen = set(features)
    mask = GATE_NONE
    for bit, feature in GATE_FEATURES.items():
        if feature in chosen:
            mask |= bit
    return mask


_OPEN: Final = b'{"arcp":"' + PROTOCOL_VERSION.encode() + b'","id":"'
_MESSAGE_TYPES: Final = ("job.event", "job.result", "job.error")

_BYTE_PAIRS: Final = tuple(pair.encode() for pair in DIGIT_PAIRS)
_ID_BLOCK: Final = 1 << 30
_RANDOM_BITS: Final = 50
_id_prefix = ""
_id_prefix_bytes = b""
_id_prefix_value = -1
_id_ms = -1
_id_count = _ID_BLOCK


def _new_id_block(ms: int) -> None:
    """Start a block of ids whose ULID time part is ``ms`` (§5): 10 time characters, 50
    random bits, then a 30-bit count. A block never sorts before the previous one: when the
    clock stepped back (or a block ran out within one millisecond), the new prefix is the
    previous one plus one, so its time part may run a millisecond or so ahead."""
    global _id_prefix, _id_prefix_bytes, _id_prefix_value, _id_ms, _id_count
    value = (ms << _RANDOM_BITS) | getrandbits(_RANDOM_BITS)  # ids need not be secret
    if value <= _id_prefix_value:
        value = _id_prefix_value + 1
    _id_prefix_value = value
    _id_prefix = "".join([DIGIT_PAIRS[(value >> shift) & 1023] for shift in range(90, -1, -10)])
    _id_prefix_bytes = _id_prefix.encode()
    _id_ms = ms
    _id_count = 0


def frame_id() -> str:
    """A unique ULID envelope id, cheaper than :func:`new_ulid` for hot paths (§5).

    Its time part is the millisecond it was made; within one millisecond the last six
    characters count, so ids of a burst share the time part and still increase.
    """
    global _id_count
    ms = time.time_ns() // 1_000_000
    if ms != _id_ms or _id_count >= _ID_BLOCK:
        _new_id_block(ms)
    count = _id_count
    _id_count = count + 1
    return f"{_id_prefix}{DIGIT_PAIRS[count >> 20]}{DIGIT_PAIRS[(count >> 10) & 1023]}{DIGIT_PAIRS[count & 1023]}"


_ts_ms = -1
_ts_second = -1
_ts_prefix = ""
_ts_text = ""
_ts_bytes = b""


def _stamp(ms: int) -> None:
    global _ts_ms, _ts_second, _ts_prefix, _ts_text, _ts_bytes
    _ts_ms = ms
    second = ms // 1000
    if second != _ts_second:
        _ts_second = second
        _ts_prefix = utc_timestamp(datetime.fromtimestamp(second, UTC))[:20]
    _ts_text = f"{_ts_prefix}{ms % 1000:03d}Z"
    _ts_bytes = _ts_text.encode()


def event_timestamp() -> str:
    """The current UTC time as RFC 3339 with ``Z`` and milliseconds, cheaply (§5)."""
    ms = int(time.time() * 1000)
    if ms != _ts_ms:
        _stamp(ms)
    return _ts_text


_EVENT_HEADS: Final = {kind: b'{"kind":"' + kind.encode() + b'","ts":"' for kind in EVENT_KINDS}


def event_payload(kind: str, body: dict[str, Any]) -> bytes:
    """The encoded payload of one ``kind`` event with ``body``, stamped now (§8.1).

    The same bytes as encoding ``{"kind", "ts", "body"}`` at once, joined from parts so the
    result is exactly its own size: a buffered event holds no spare allocation.
    """
    ms = int(time.time() * 1000)
    if ms != _ts_ms:
        _stamp(ms)
    head = _EVENT_HEADS.get(kind) or b'{"kind":' + orjson.dumps(kind) + b',"ts":"'
    return b"".join((head, _ts_bytes, b'","body":', orjson.dumps(body), b"}"))


def control_frame(
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
    envelope: dict[str, Any] = {"arcp": PROTOCOL_VERSION, "id": frame_id(), "type": message_type}
    if session_id is not None:
        envelope["session_id"] = session_id
    if trace_id is not None:
        envelope["trace_id"] = trace_id
    if job_id is not None:
        envelope["job_id"] = job_id
    envelope["payload"] = payload
    return bytes(memoryview(orjson.dumps(envelope)))


def outbox_frames(
    entries: Iterable[bytes | int], session_part: bytes, get: Callable[[int], EventItem | None]
) -> list[bytes]:
    """The frames of a session's queued entries, in order: a control frame (bytes) as it
    is; an event seq as the buffered item ``get(seq)`` stamped with that seq, a fresh
    envelope id (as :func:`frame_id` makes them) and the session's part. An item already
    evicted (``None``) has no frame: the client will see the gap (§8.3).

    ``session_part`` is ``b'","session_id":"<id>"'`` (see :func:`session_part`).
    """
    global _id_count
    frames: list[bytes] = []
    append = frames.append
    join = b"".join
    pairs = _BYTE_PAIRS
    ms = time.time_ns() // 1_000_000  # one clock read per batch: the frames' ULID time
    if ms != _id_ms:
        _new_id_block(ms)
    for entry in entries:
        if isinstance(entry, bytes):
            append(entry)
            continue
        item = get(entry)
        if item is None:
            continue
        if _id_count >= _ID_BLOCK:
            _new_id_block(ms)
        count = _id_count
        _id_count = count + 1
        append(
            join(
                (
                    _OPEN,
                    _id_prefix_bytes,
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
    return frames


def session_part(session_id: str) -> bytes:
    """The pre-encoded session fragment spliced into every event frame of a session."""
    return b'","session_id":' + orjson.dumps(session_id)


class ByteAccount:
    """Bytes one principal's jobs hold in memory: inputs and logged events and results
    (§14, ``Limits.max_retained_bytes_per_principal``)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class JobEventLog:
    """One job's encoded events in origin order, bounded like the replay buffer (§7.6).

    ``origin_seq`` values are the seqs the submitting session assigned; while the job has
    no live submitting session the log keeps counting on its own. ``size`` is the bytes of
    the payloads it holds, also added to ``account`` (its principal's) once it has one.
    """

    __slots__ = ("_items", "_stored", "account", "heads", "last_origin_seq", "size")

    def __init__(self, job_id: str, trace_id: str, limit: int) -> None:
        ids = b',"trace_id":' + orjson.dumps(trace_id) + b',"job_id":' + orjson.dumps(job_id)
        self.heads: tuple[bytes, bytes, bytes] = tuple(  # type: ignore[assignment]
            b',"type":"' + t.encode() + b'"' + ids + b',"event_seq":' for t in _MESSAGE_TYPES
        )
        self._items: deque[EventItem] = deque(maxlen=limit)
        self._stored: Iterable[tuple[int, int, bytes, int]] | None = None
        self.last_origin_seq = 0
        self.size = 0
        self.account: ByteAccount | None = None

    @property
    def items(self) -> deque[EventItem]:
        """The logged entries, oldest first (entries read back from a store included)."""
        stored = self._stored
        if stored is not None:
            self._stored = None
            for item in starmap(self.item, stored):
                self._append(item)
        return self._items

    def _append(self, item: EventItem) -> None:
        """Log ``item``, evicting the oldest entry at the limit; keep ``size`` exact."""
        items = self._items
        delta = len(item[2])
        if len(items) == items.maxlen:
            delta -= len(items[0][2])
        items.append(item)
        self.size += delta
        account = self.account
        if account is not None:
            account.value += delta

    def restore(self, stored: Iterable[tuple[int, int, bytes, int]]) -> None:
        """Entries read back from a store, as ``(origin_seq, kind, payload, gate)`` (``kind``:
        0 event, 1 result, 2 error), oldest first and older than any entry recorded later.

        ``stored`` is read only when the log is first used: most restored logs never are
        (only a subscriber asking for history reads one), so a restart does not pay for them.
        """
        self._stored = stored

    def event_item(self, origin_seq: int, payload: bytes, gate: int = GATE_NONE) -> EventItem:
        """Record a ``job.event`` with the given origin seq and return its entry."""
        item = (origin_seq, self.heads[0], payload, gate)
        items = self.items if self._stored is not None else self._items
        delta = len(payload)  # _append, inlined: this is the per-event path
        if len(items) == items.maxlen:
            delta -= len(items[0][2])
        items.append(item)
        self.size += delta
        account = self.account
        if account is not None:
            account.value += delta
        self.last_origin_seq = origin_seq
        return item

    def terminal_item(self, origin_seq: int, payload: bytes, *, error: bool) -> EventItem:
        """Record the job's terminal ``job.result``/``job.error`` and return its entry."""
        item = (origin_seq, self.heads[2 if error else 1], payload, GATE_NONE)
        if self._stored is not None:
            self.items  # noqa: B018  (read the stored entries back first)
        self._append(item)
        self.last_origin_seq = origin_seq
        return item

    def item(self, origin_seq: int, kind: int, payload: bytes, gate: int) -> EventItem:
        """An entry of this job read back from a store (``kind``: 0 event, 1 result, 2 error),
        not recorded in the log."""
        return (origin_seq, self.heads[kind], payload, gate)

    def local_item(self, payload: bytes) -> EventItem:
        """A ``job.event`` for one session only (e.g. back-pressure), not kept in the log."""
        return (0, self.heads[0], payload, GATE_NONE)

    def after(self, origin_seq: int) -> Iterator[EventItem]:
        """Logged entries with origin seq greater than ``origin_seq``, oldest first."""
        return (item for item in self.items if item[0] > origin_seq)

    @property
    def first_origin_seq(self) -> int:
        """The origin seq of the oldest entry still logged (0 when empty)."""
        return self.items[0][0] if self.items else 0
