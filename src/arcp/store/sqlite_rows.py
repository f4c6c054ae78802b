"""The rows the SQLite store writes for sessions, jobs and job logs, and reads back (§6, §7).

JSON columns hold orjson-encoded UTF-8 bytes; SQL NULL stands for None. A job's row is
written whole once (:data:`INSERT_JOB`, which never overwrites a held job's submit fields);
later writes set only its state (:data:`UPDATE_JOB`, ``JOB_STATE_FIELDS``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from orjson import loads

from arcp.store.base import (
    GATE,
    HEAD,
    JOB_STATE_FIELDS,
    ORIGIN,
    PAYLOAD,
    EventColumns,
    JobEventColumns,
    StoredEvent,
    StoredJob,
    StoredJobEvent,
    StoredSession,
)
from arcp.store.sqlite_chunks import (
    Chunk,
    Columns,
    column_rows,
    interleaved,
)

__all__ = [
    "INSERT_JOB",
    "JOB_COLUMNS",
    "SELECT_JOBS",
    "SELECT_SESSIONS",
    "SESSION_COLUMNS",
    "UPDATE_JOB",
    "UPSERT_SESSION",
    "event_columns",
    "job_of_row",
    "job_row",
    "job_state",
    "log_rows",
    "session_row",
    "upsert",
]

SESSION_COLUMNS = [
    "session_id", "principal", "features", "token_digest", "resume_window_sec", "first_seq",
    "last_seq", "acked_seq", "detached_at", "subscriptions",
]  # fmt: skip
JOB_COLUMNS = [
    "job_id", "principal", "agent", "lease", "lease_constraints", "trace_id", "created_at",
    "input", "max_runtime_sec", "origin_session_id", "accepted", "fingerprint",
    "idempotency_key", "status", "finished_at", "parent_job_id", "children", "budget",
    "outcome", "first_origin_seq", "last_origin_seq",
]  # fmt: skip


def upsert(table: str, columns: list[str], updated: list[str] | None = None) -> str:
    """``INSERT ... ON CONFLICT DO UPDATE`` of ``updated`` (default: every column but the
    key): keeps the row (and its rowid, hence its order)."""
    marks = ", ".join("?" * len(columns))
    updates = ", ".join(f"{c} = excluded.{c}" for c in (updated or columns[1:]))
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        f" ON CONFLICT ({columns[0]}) DO UPDATE SET {updates}"
    )


UPSERT_SESSION = upsert("sessions", SESSION_COLUMNS)
# A job's row is written whole once; later writes set only its state (JOB_STATE_FIELDS):
# a job known to be in the file gets the UPDATE, whose row leaves its input unencoded.
INSERT_JOB = upsert("jobs", JOB_COLUMNS, list(JOB_STATE_FIELDS))
UPDATE_JOB = f"UPDATE jobs SET {', '.join(f'{c} = ?' for c in JOB_STATE_FIELDS)} WHERE job_id = ?"
SELECT_SESSIONS = f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions ORDER BY rowid"
SELECT_JOBS = f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs ORDER BY job_id"


def session_row(s: StoredSession) -> tuple[Any, ...]:
    """The parameters of :data:`UPSERT_SESSION`."""
    return (
        s.session_id, s.principal, orjson.dumps(s.features), s.token_digest,
        s.resume_window_sec, s.first_seq, s.last_seq, s.acked_seq, s.detached_at,
        orjson.dumps(s.subscriptions),
    )  # fmt: skip


def _dump(value: Any) -> bytes | None:
    """JSON bytes of ``value``; SQL NULL for None (nullable columns only)."""
    return None if value is None else orjson.dumps(value)


def _load(raw: bytes | None) -> Any:
    return None if raw is None else orjson.loads(raw)


def job_of_row(row: Any) -> StoredJob:
    """A job back from its row: JSON decoded, ``outcome`` as the ``(is_error, payload)`` tuple."""
    outcome = _load(row[18])
    return StoredJob(
        row[0], row[1], row[2], loads(row[3]), _load(row[4]), row[5], row[6], loads(row[7]),
        row[8], row[9], loads(row[10]), row[11], row[12], row[13], row[14], row[15],
        loads(row[16]), _load(row[17]), None if outcome is None else (outcome[0], outcome[1]),
        row[19], row[20],
    )  # fmt: skip


def job_state(j: StoredJob) -> tuple[Any, ...]:
    """The parameters of ``UPDATE_JOB``: the job's state columns, then its id."""
    return (
        orjson.dumps(j.accepted), j.status, j.finished_at, orjson.dumps(j.children),
        _dump(j.budget), _dump(j.outcome), j.first_origin_seq, j.last_origin_seq, j.job_id,
    )  # fmt: skip


def job_row(j: StoredJob) -> tuple[Any, ...]:
    """The parameters of ``INSERT_JOB``: every column."""
    return (
        j.job_id, j.principal, j.agent, orjson.dumps(j.lease), _dump(j.lease_constraints),
        j.trace_id, j.created_at, orjson.dumps(j.input), j.max_runtime_sec,
        j.origin_session_id, orjson.dumps(j.accepted), j.fingerprint, j.idempotency_key,
        j.status, j.finished_at, j.parent_job_id, orjson.dumps(j.children), _dump(j.budget),
        _dump(j.outcome), j.first_origin_seq, j.last_origin_seq,
    )  # fmt: skip


def event_columns(
    events: Sequence[tuple[str, StoredEvent]], head_id: Callable[[tuple[str, bytes, int]], int]
) -> dict[str, Columns]:
    """A batch's events by session as chunk columns; ``head_id`` gives (or stores) the id of
    a ``(job_id, head, gate)``. The journal's flat events are read in one pass, those of a
    batch with one session (the usual case) column by column."""
    if isinstance(events, EventColumns):
        flat = events.flat
        sids = flat[0::3]
        if sids and sids.count(sids[0]) == len(sids):
            items = flat[2::3]
            keys = list(zip(map(HEAD, items), map(GATE, items), strict=True))
            local = {(h, g): head_id((events.job_id(h), h, g)) for h, g in set(keys)}
            payloads: list[bytes] = list(map(PAYLOAD, items))
            origins: list[int] = list(map(ORIGIN, items))
            head_ids = list(map(local.__getitem__, keys))
            fields = interleaved(flat[1::3], origins, head_ids, list(map(len, payloads)))
            return {sids[0]: (fields, payloads)}
        triples = iter(flat)
        records = (
            (sid, seq, origin_seq, events.job_id(head), head, payload, gate)
            for sid, seq, (origin_seq, head, payload, gate) in zip(
                triples, triples, triples, strict=True
            )
        )
    else:
        records = (
            (sid, e.seq, e.origin_seq, e.job_id, e.head, e.payload, e.gate) for sid, e in events
        )
    owned: dict[str, Columns] = {}
    last: tuple[str, bytes, int] | None = None
    current = 0
    for sid, seq, origin_seq, job_id, head, payload, gate in records:
        # events come in runs of one head: compare identities before hashing anything
        if last is None or head is not last[1] or gate != last[2] or job_id != last[0]:
            last = (job_id, head, gate)
            current = head_id(last)
        columns = owned.get(sid)
        if columns is None:
            columns = owned[sid] = ([], [])
        columns[0].extend((seq, origin_seq, current, len(payload)))
        columns[1].append(payload)
    return owned


def log_rows(job_events: Sequence[tuple[str, StoredJobEvent]]) -> list[Chunk]:
    """``job_chunks`` rows of a batch's job-log entries (the first of one origin seq stays)."""
    logs: dict[str, Columns] = {}
    if isinstance(job_events, JobEventColumns):  # the journal's flat entries: one pass
        kinds = job_events.kinds
        flat = job_events.flat
        jids = flat[0::2]
        if jids and jids.count(jids[0]) == len(jids):  # one job (the usual case): column by column
            items = flat[1::2]
            payloads: list[bytes] = list(map(PAYLOAD, items))
            origins: list[int] = list(map(ORIGIN, items))
            gates: list[int] = list(map(GATE, items))
            kind_of = list(map(kinds.__getitem__, map(HEAD, items)))
            fields = interleaved(origins, kind_of, gates, list(map(len, payloads)))
            return column_rows({jids[0]: (fields, payloads)}, first_wins=True)
        columns: Columns = ([], [])
        last: str | None = None
        pairs = iter(flat)
        for jid, (origin_seq, head, payload, gate) in zip(pairs, pairs, strict=True):
            if jid != last:
                last = jid
                columns = logs.get(jid) or logs.setdefault(jid, ([], []))
            columns[0].extend((origin_seq, kinds[head], gate, len(payload)))
            columns[1].append(payload)
        return column_rows(logs, first_wins=True)
    for jid, e in job_events:
        held = logs.get(jid)
        if held is None:
            held = logs[jid] = ([], [])
        payload = e.payload
        held[0].extend((e.origin_seq, e.kind, e.gate, len(payload)))
        held[1].append(payload)
    return column_rows(logs, first_wins=True)
