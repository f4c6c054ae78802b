"""How :class:`~arcp.store.postgres.PostgresStore` sends a batch's events (§6.3, §7.6).

psycopg adapts a list parameter element by element in Python: with events sent as seven
arrays (one element per event and column) that adaptation was the largest single cost of a
commit. Events are therefore sent per group of those sharing their owner and their constant
columns (a session, job, head and gate; a job): the integers as one array literal the server
parses, the payloads as one ``bytea``. Each group is stored as one row, a chunk (schema
version 4): the views ``session_events`` and ``job_events`` cut the chunks back into the
rows the readers expect. A batch of thousands of events is a few rows whose parameters
cost a few joins to build.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import Any, Final

from arcp.store.base import (
    GATE,
    HEAD,
    ORIGIN,
    PAYLOAD,
    EventColumns,
    JobEventColumns,
    StoredEvent,
    StoredJobEvent,
)

__all__ = ["INSERT_EVENTS", "INSERT_JOB_EVENTS", "event_groups", "job_event_groups"]

# Only into sessions this node owns (fenced like the session upsert): one chunk per group.
INSERT_EVENTS: Final = b"""
INSERT INTO session_chunks (session_id, job_id, head, gate, first_seq, last_seq, seqs, origins,
    pos, lens, data)
SELECT %(owner)s, %(job)s, %(head)b, %(gate)s, %(first)s, %(last)s, %(seqs)s::int8[],
    %(origins)s::int8[], %(pos)s::int4[], %(lens)s::int4[], %(data)b
WHERE EXISTS (SELECT 1 FROM sessions s WHERE s.session_id = %(owner)s AND s.owner = %(node)s)"""

# Only into jobs whose home this node is; of entries with one origin seq the first stays
# (in a batch here, across chunks in the ``job_events`` view).
INSERT_JOB_EVENTS: Final = b"""
INSERT INTO job_chunks (job_id, first_seq, last_seq, origins, kinds, gates, pos, lens, data)
SELECT %(owner)s, %(first)s, %(last)s, %(origins)s::int8[], %(kinds)s::int2[],
    %(gates)s::int8[], %(pos)s::int4[], %(lens)s::int4[], %(data)b
WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.job_id = %(owner)s AND j.home = %(node)s)"""


def _array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers (``{1,2,3}``), parsed by the server."""
    return "{" + ",".join(map(str, values)) + "}"


def _payloads(payloads: list[bytes]) -> dict[str, Any]:
    """The payloads as one ``bytea`` and the 1-based position and length of each."""
    lens = list(map(len, payloads))
    return {
        "data": b"".join(payloads),
        "pos": _array(accumulate(lens[:-1], initial=1)),
        "lens": _array(lens),
    }


_Group = tuple[list[int], list[int], list[bytes]]
_Groups = dict[tuple[str, str, bytes, int], _Group]


def _groups(events: Sequence[tuple[str, StoredEvent]]) -> _Groups:
    """``events`` by session, job, head and gate: their seqs, origin seqs and payloads."""
    groups: _Groups = {}
    get = groups.get
    for sid, e in events:
        key = (sid, e.job_id, e.head, e.gate)
        group = get(key)
        if group is None:
            group = groups[key] = ([], [], [])
        group[0].append(e.seq)
        group[1].append(e.origin_seq)
        group[2].append(e.payload)
    return groups


def _flat_groups(events: EventColumns) -> _Groups:
    """:func:`_groups` of the journal's flat events, in one pass (no record per event)."""
    flat_list = events.flat
    sids, items = flat_list[0::3], flat_list[2::3]
    heads: list[bytes] = list(map(HEAD, items))
    gates: list[int] = list(map(GATE, items))
    n = len(items)
    if n and sids.count(sids[0]) == n and heads.count(heads[0]) == n and gates.count(gates[0]) == n:
        # one session, one head (the usual batch): column by column
        key = (sids[0], events.job_id(heads[0]), heads[0], gates[0])
        return {key: (flat_list[1::3], list(map(ORIGIN, items)), list(map(PAYLOAD, items)))}
    groups: _Groups = {}
    by_head: dict[tuple[str, bytes, int], _Group] = {}
    flat = iter(flat_list)
    for sid, seq, (origin_seq, head, payload, gate) in zip(flat, flat, flat, strict=True):
        group = by_head.get((sid, head, gate))
        if group is None:
            group = by_head[sid, head, gate] = groups[sid, events.job_id(head), head, gate] = (
                [],
                [],
                [],
            )
        group[0].append(seq)
        group[1].append(origin_seq)
        group[2].append(payload)
    return groups


def event_groups(
    events: Sequence[tuple[str, StoredEvent]], gone: set[str], node: str
) -> list[dict[str, Any]]:
    """Parameters of one ``INSERT_EVENTS`` per group of ``events`` (those of sessions in
    ``gone`` left out); of events with one seq in a session the last one wins."""
    groups = _flat_groups(events) if isinstance(events, EventColumns) else _groups(events)
    if gone:
        groups = {key: group for key, group in groups.items() if key[0] not in gone}
    seqs: dict[str, list[int]] = {}
    for key, group in groups.items():
        seqs.setdefault(key[0], []).extend(group[0])
    if any(len(set(held)) < len(held) for held in seqs.values()):  # rare: one seq twice
        latest = {(sid, e.seq): e for sid, e in events if sid not in gone}
        return event_groups([(key[0], e) for key, e in latest.items()], set(), node)
    return [
        {
            "owner": key[0],
            "job": key[1],
            "head": key[2],
            "gate": key[3],
            "node": node,
            "first": min(group[0]),
            "last": max(group[0]),
            "seqs": _array(group[0]),
            "origins": _array(group[1]),
            **_payloads(group[2]),
        }
        for key, group in groups.items()
    ]


_Log = tuple[list[int], list[int], list[int], list[bytes]]


def _logs(entries: Sequence[tuple[str, StoredJobEvent]]) -> dict[str, _Log]:
    """``entries`` by job: their origin seqs, kinds, gates and payloads."""
    logs: dict[str, _Log] = {}
    if isinstance(entries, JobEventColumns):  # the journal's flat entries: one pass
        kinds = entries.kinds
        jids, items = entries.flat[0::2], entries.flat[1::2]
        if jids and jids.count(jids[0]) == len(jids):  # one job (usual): column by column
            return {
                jids[0]: (
                    list(map(ORIGIN, items)),
                    list(map(kinds.__getitem__, map(HEAD, items))),
                    list(map(GATE, items)),
                    list(map(PAYLOAD, items)),
                )
            }
        flat = iter(entries.flat)
        for jid, (origin_seq, head, payload, gate) in zip(flat, flat, strict=True):
            log = logs.get(jid)
            if log is None:
                log = logs[jid] = ([], [], [], [])
            log[0].append(origin_seq)
            log[1].append(kinds[head])
            log[2].append(gate)
            log[3].append(payload)
        return logs
    for jid, e in entries:
        log = logs.get(jid)
        if log is None:
            log = logs[jid] = ([], [], [], [])
        log[0].append(e.origin_seq)
        log[1].append(e.kind)
        log[2].append(e.gate)
        log[3].append(e.payload)
    return logs


def job_event_groups(
    entries: Sequence[tuple[str, StoredJobEvent]], gone: set[str], node: str
) -> list[dict[str, Any]]:
    """Parameters of one ``INSERT_JOB_EVENTS`` per job of ``entries`` (jobs in ``gone`` left
    out); of entries with one origin seq in a job the first one stays."""
    params: list[dict[str, Any]] = []
    for jid, log in _logs(entries).items():
        if jid in gone:
            continue
        origins = log[0]
        if len(set(origins)) < len(origins):  # rare: keep the first of each origin seq
            firsts: dict[int, int] = {}
            for i, origin in enumerate(origins):
                firsts.setdefault(origin, i)
            kept = list(firsts.values())
            origins, kinds, gates, payloads = log
            log = (
                [origins[i] for i in kept],
                [kinds[i] for i in kept],
                [gates[i] for i in kept],
                [payloads[i] for i in kept],
            )
            origins = log[0]
        params.append(
            {
                "owner": jid,
                "first": min(origins),
                "last": max(origins),
                "node": node,
                "origins": _array(origins),
                "kinds": _array(log[1]),
                "gates": _array(log[2]),
                **_payloads(log[3]),
            }
        )
    return params
