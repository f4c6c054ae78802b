"""How the SQLite store packs buffered events and job-log entries into chunk rows.

A commit appends one row per owner (a session to ``session_chunks``, a job to
``job_chunks``) holding all of that batch's entries of the owner (:func:`pack_chunk`), so
loading a long buffer reads a few rows instead of one per event. :class:`LazyJobLog` hands a
job's log back undecoded until it is first used.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator, Sequence
from itertools import islice, pairwise
from operator import itemgetter, lt
from typing import Any, cast, overload

from arcp.store.base import StoredJobEvent

__all__ = [
    "COUNT",
    "ENTRY",
    "EVENT_SQL",
    "JOB_EVENT_SQL",
    "Chunk",
    "Columns",
    "Entry",
    "LazyJobLog",
    "chunk_rows",
    "chunk_sql",
    "column_rows",
    "grouped_chunks",
    "interleaved",
    "pack_chunk",
    "trim_chunks",
    "unpack_chunk",
]


def chunk_sql(table: str, owner: str) -> tuple[str, str, str, str, str, str]:
    """Statements on one chunk table: insert, trim (delete, select and rewrite a cut chunk),
    forget an owner, read every chunk in commit order."""
    return (
        f"INSERT INTO {table} ({owner}, first_seq, last_seq, data) VALUES (?, ?, ?, ?)",
        # last_seq < ? implies first_seq < ?: the condition lets the index bound the scan
        f"DELETE FROM {table} WHERE {owner} = ? AND first_seq < ? AND last_seq < ?",
        f"SELECT chunk_id, data FROM {table} WHERE {owner} = ? AND first_seq < ?",
        f"UPDATE {table} SET first_seq = ?, data = ? WHERE chunk_id = ?",
        f"DELETE FROM {table} WHERE {owner} = ?",
        f"SELECT {owner}, first_seq, last_seq, data FROM {table} ORDER BY chunk_id",
    )


EVENT_SQL = chunk_sql("session_chunks", "session_id")
JOB_EVENT_SQL = chunk_sql("job_chunks", "job_id")

COUNT = struct.Struct("<I")
ENTRY = struct.Struct("<qqqI")
"""A chunk is ``COUNT`` (the number of entries), then one ``ENTRY`` per entry, then the
payloads one after the other. An entry is three integers and the length of its payload: for
an event ``(seq, origin_seq, head_id)``, for a job-log entry ``(origin_seq, kind, gate)``."""

Entry = tuple[int, int, int, bytes]
"""An entry of a chunk: its seq (``origin_seq`` for a job-log entry), two integers, payload."""

Chunk = tuple[str, int, int, bytes]
"""A row of a chunk table: ``(owner, first_seq, last_seq, data)``."""


def pack_chunk(entries: list[Entry]) -> bytes:
    """One chunk holding ``entries`` (in this order)."""
    pack = ENTRY.pack
    return b"".join(
        [
            COUNT.pack(len(entries)),
            *[pack(a, b, c, len(payload)) for a, b, c, payload in entries],
            *[entry[3] for entry in entries],
        ]
    )


def unpack_chunk(data: bytes) -> list[Entry]:
    """The entries of one chunk, as :func:`pack_chunk` got them."""
    (count,) = COUNT.unpack_from(data)
    pos = end = COUNT.size + count * ENTRY.size
    entries: list[Entry] = []
    for a, b, c, size in ENTRY.iter_unpack(data[COUNT.size : end]):
        end = pos + size
        entries.append((a, b, c, data[pos:end]))
        pos = end
    return entries


def chunk_rows(owned: dict[str, list[Entry]], *, first_wins: bool = False) -> list[Chunk]:
    """One chunk per owner, its entries by seq; of several with one seq the last is kept
    (the first with ``first_wins``)."""
    rows: list[Chunk] = []
    for owner, entries in owned.items():
        if any(a[0] >= b[0] for a, b in pairwise(entries)):  # rare: sort, keep one per seq
            kept = reversed(entries) if first_wins else iter(entries)
            entries = sorted({entry[0]: entry for entry in kept}.values(), key=itemgetter(0))
        rows.append((owner, entries[0][0], entries[-1][0], pack_chunk(entries)))
    return rows


Columns = tuple[list[int], list[bytes]]
"""An owner's entries as columns: their integers, four per entry (the three of the entry,
then the length of its payload, as ``ENTRY`` packs them), and their payloads, in order."""


def column_rows(owned: dict[str, Columns], *, first_wins: bool = False) -> list[Chunk]:
    """:func:`chunk_rows` of entries given as :data:`Columns`: a chunk in entries in seq
    order (the usual case) is packed by one ``struct`` call, with no object per entry."""
    rows: list[Chunk] = []
    for owner, (fields, payloads) in owned.items():
        seqs = fields[0::4]
        if not all(map(lt, seqs, islice(seqs, 1, None))):  # rare: as chunk_rows does
            starts = range(0, len(fields), 4)
            entries = [(*fields[i : i + 3], p) for i, p in zip(starts, payloads, strict=True)]
            rows += chunk_rows({owner: cast(list[Entry], entries)}, first_wins=first_wins)
            continue
        count = len(payloads)
        data = struct.Struct("<I" + "qqqI" * count).pack(count, *fields)
        rows.append((owner, seqs[0], seqs[-1], data + b"".join(payloads)))
    return rows


def interleaved(*columns: list[int]) -> list[int]:
    """Integers given column by column, entry by entry (as ``ENTRY`` packs them)."""
    width = len(columns)
    out = [0] * (width * len(columns[0]))
    for i, column in enumerate(columns):
        out[i::width] = column
    return out


def grouped_chunks(rows: list[Any]) -> dict[str, tuple[list[bytes], bool]]:
    """Chunk rows (in commit order) by owner: their data, and whether any two chunks hold
    seqs out of order (then a seq may be held twice)."""
    owners: dict[str, tuple[list[bytes], bool]] = {}
    last: dict[str, int] = {}
    for owner, first_seq, last_seq, data in rows:
        held = owners.get(owner)
        if held is None:
            owners[owner] = ([data], False)
        else:
            held[0].append(data)
            if first_seq <= last[owner]:
                owners[owner] = (held[0], True)
        last[owner] = max(last_seq, last.get(owner, last_seq))
    return owners


class LazyJobLog(Sequence[StoredJobEvent]):
    """A job's log read back by :meth:`SQLiteStore.load`, decoded from its chunks on first use.

    A restart restores every job, but only a subscriber asking for history reads a log, so
    most are never decoded: the chunks stay as the bytes the query returned.
    """

    __slots__ = ("_chunks", "_entries", "_overlap")

    def __init__(self, chunks: list[bytes], overlap: bool) -> None:
        self._chunks: list[bytes] | None = chunks
        self._overlap = overlap
        self._entries: list[StoredJobEvent] = []

    def _decoded(self) -> list[StoredJobEvent]:
        chunks = self._chunks
        if chunks is None:
            return self._entries
        self._chunks = None
        entries = self._entries
        add = entries.append
        for data in chunks:
            for origin_seq, kind, gate, payload in unpack_chunk(data):
                add(StoredJobEvent(origin_seq, kind, payload, gate))
        if self._overlap:  # seqs out of order across chunks: sort, the earlier chunk wins
            by_origin = {entry.origin_seq: entry for entry in reversed(entries)}
            entries[:] = [by_origin[seq] for seq in sorted(by_origin)]
        return entries

    @overload
    def __getitem__(self, index: int) -> StoredJobEvent: ...
    @overload
    def __getitem__(self, index: slice) -> list[StoredJobEvent]: ...
    def __getitem__(self, index: int | slice) -> StoredJobEvent | list[StoredJobEvent]:
        return self._decoded()[index]

    def __len__(self) -> int:
        return len(self._decoded())

    def __iter__(self) -> Iterator[StoredJobEvent]:
        return iter(self._decoded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self._decoded() == list(cast(Sequence[object], other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like a list

    def __repr__(self) -> str:
        return repr(self._decoded())


def trim_chunks(conn: sqlite3.Connection, statements: tuple[str, ...], trims: list[Any]) -> None:
    """Drop the entries of each ``(owner, first_seq)`` below ``first_seq``: delete the chunks
    wholly below it, rewrite those it cuts through."""
    _, delete, select, update = statements[:4]
    conn.executemany(delete, [(owner, first, first) for owner, first in trims])
    for owner, first in trims:
        for chunk_id, data in conn.execute(select, (owner, first)).fetchall():
            kept = [entry for entry in unpack_chunk(data) if entry[0] >= first]
            conn.execute(update, (kept[0][0], pack_chunk(kept), chunk_id))
