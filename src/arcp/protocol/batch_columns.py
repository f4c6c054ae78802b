"""A batch's appended events as the journal recorded them: flat, no record per event (§6.3, §7.6).

The journal notes each buffered event as three list items (session id, seq, item) and each
job-log entry as two (job id, item), where an item is the
:data:`~arcp.protocol.replay_buffer.EventItem` ``(origin_seq, head, payload, gate)`` shared
with the session's replay buffer. :class:`EventColumns` and :class:`JobEventColumns` hand
those lists to a store as they are: a store that knows the layout (SQLite, PostgreSQL) reads
``flat`` in one pass; any other reads the usual ``(owner, record)`` pairs, built on first use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any, Generic, TypeVar, overload

from arcp.protocol.records import StoredEvent, StoredJobEvent

__all__ = [
    "GATE",
    "HEAD",
    "ORIGIN",
    "PAYLOAD",
    "EventColumns",
    "JobEventColumns",
    "job_id_of_head",
]

_JOB_ID = b'"job_id":"'

ORIGIN, HEAD, PAYLOAD, GATE = (itemgetter(i) for i in range(4))
"""The fields of an item ``(origin_seq, head, payload, gate)``, as ``operator.itemgetter``s
(to read a column of items with ``map``)."""


def job_id_of_head(head: bytes) -> str:
    """The job id inside an event's pre-encoded envelope middle (see ``event_frames``)."""
    start = head.find(_JOB_ID) + len(_JOB_ID)
    return head[start : head.index(b'"', start)].decode()


T = TypeVar("T")


class _Columns(Sequence[tuple[str, T]], Generic[T]):
    """Pairs ``(owner, record)`` read from ``flat`` on first use."""

    __slots__ = ("_pairs", "flat")

    def __init__(self, flat: list[Any]) -> None:
        self.flat = flat
        self._pairs: list[tuple[str, T]] | None = None

    def _built(self) -> list[tuple[str, T]]:
        raise NotImplementedError

    def _list(self) -> list[tuple[str, T]]:
        pairs = self._pairs
        if pairs is None:
            pairs = self._pairs = self._built()
        return pairs

    @overload
    def __getitem__(self, index: int) -> tuple[str, T]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[str, T]]: ...
    def __getitem__(self, index: int | slice) -> tuple[str, T] | list[tuple[str, T]]:
        return self._list()[index]

    def __iter__(self) -> Iterator[tuple[str, T]]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self._list() == list(other)  # pyright: ignore[reportUnknownArgumentType]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like a list

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._list()!r})"


class EventColumns(_Columns[StoredEvent]):
    """``Batch.events``: ``flat`` holds three items per event, the session id, the seq and
    the item; :meth:`job_id` names the job of a head (it is written inside the head)."""

    __slots__ = ("_job_ids",)

    def __init__(self, flat: list[Any]) -> None:
        super().__init__(flat)
        self._job_ids: dict[bytes, str] = {}

    def __len__(self) -> int:
        return len(self.flat) // 3

    def job_id(self, head: bytes) -> str:
        """The job every event with ``head`` belongs to."""
        job_id = self._job_ids.get(head)
        if job_id is None:
            job_id = self._job_ids[head] = job_id_of_head(head)
        return job_id

    def _built(self) -> list[tuple[str, StoredEvent]]:
        flat = iter(self.flat)
        job_id = self.job_id
        return [
            (sid, StoredEvent(seq, job_id(item[1]), item[0], item[1], item[2], item[3]))
            for sid, seq, item in zip(flat, flat, flat, strict=True)
        ]


class JobEventColumns(_Columns[StoredJobEvent]):
    """``Batch.job_events``: ``flat`` holds two items per entry, the job id and the item;
    ``kinds`` maps every head of the batch's jobs to the entry kind it stands for (0 event,
    1 result, 2 error)."""

    __slots__ = ("kinds",)

    def __init__(self, flat: list[Any], kinds: dict[bytes, int]) -> None:
        super().__init__(flat)
        self.kinds = kinds

    def __len__(self) -> int:
        return len(self.flat) // 2

    def _built(self) -> list[tuple[str, StoredJobEvent]]:
        flat = iter(self.flat)
        kinds = self.kinds
        return [
            (jid, StoredJobEvent(item[0], kinds[item[1]], item[2], item[3]))
            for jid, item in zip(flat, flat, strict=True)
        ]
