"""Encode-once job events and their per-session envelopes (§5, §8.1).

A job event's payload is encoded exactly once. Each session that receives it splices the
same payload bytes into its own envelope, with its own ``session_id``, envelope ``id`` and
``event_seq`` (§8.3), so re-stamping an event for a subscriber costs one bytes join. The ids
and timestamps come from :class:`~arcp.protocol.frame_stamps.FrameStamps` (an injected
clock); this module holds no state of its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from itertools import starmap
from typing import Final

import orjson

from arcp.protocol.replay_buffer import EventItem
from arcp_gen.features import Feature
from arcp_gen.metamodel import EVENT_GATES, GATE_FEATURES

__all__ = [
    "GATE_NONE",
    "ByteAccount",
    "JobEventLog",
    "event_gate",
    "gate_mask",
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


_MESSAGE_TYPES: Final = ("job.event", "job.result", "job.error")


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
