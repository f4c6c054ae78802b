"""How :class:`~arcp.store.postgres.PostgresStore` sends a batch's events (§6.3, §7.6).

psycopg adapts a list parameter element by element in Python: with events sent as seven
arrays (one element per event and column) that adaptation was the largest single cost of a
commit. Events are therefore sent per group of those sharing their owner and their constant
columns (a session, job, head and gate; a job): the integers as one array literal the server
parses, the payloads as one ``bytea`` that the server cuts with ``substring``. A batch of
thousands of events is a few statements whose parameters cost a few joins to build.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import Any, Final

from arcp.store.base import StoredEvent, StoredJobEvent

__all__ = ["INSERT_EVENTS", "INSERT_JOB_EVENTS", "event_groups", "job_event_groups"]

# Only into sessions this node owns (fenced like the session upsert).
INSERT_EVENTS: Final = b"""
INSERT INTO session_events (session_id, seq, job_id, origin_seq, head, payload, gate)
SELECT %(owner)s, u.seq, %(job)s, u.origin_seq, %(head)b, substring(%(data)b FROM u.pos FOR u.len),
    %(gate)s
FROM unnest(%(seqs)s::int8[], %(origins)s::int8[], %(pos)s::int4[], %(lens)s::int4[])
    AS u(seq, origin_seq, pos, len)
WHERE EXISTS (SELECT 1 FROM sessions s WHERE s.session_id = %(owner)s AND s.owner = %(node)s)
ON CONFLICT (session_id, seq) DO UPDATE SET job_id = excluded.job_id,
    origin_seq = excluded.origin_seq, head = excluded.head, payload = excluded.payload,
    gate = excluded.gate"""

# Only into jobs whose home this node is; of entries with one origin seq the first stays.
INSERT_JOB_EVENTS: Final = b"""
INSERT INTO job_events (job_id, origin_seq, kind, payload, gate)
SELECT %(owner)s, u.origin_seq, u.kind, substring(%(data)b FROM u.pos FOR u.len), u.gate
FROM unnest(%(origins)s::int8[], %(kinds)s::int2[], %(gates)s::int8[], %(pos)s::int4[],
    %(lens)s::int4[]) AS u(origin_seq, kind, gate, pos, len)
WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.job_id = %(owner)s AND j.home = %(node)s)
ON CONFLICT (job_id, origin_seq) DO NOTHING"""


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


def event_groups(
    events: Sequence[tuple[str, StoredEvent]], gone: set[str], node: str
) -> list[dict[str, Any]]:
    """Parameters of one ``INSERT_EVENTS`` per group of ``events`` (those of sessions in
    ``gone`` left out); of events with one seq in a session the last one wins."""
    groups: dict[tuple[str, str, bytes, int], _Group] = {}
    get = groups.get
    for sid, e in events:
        key = (sid, e.job_id, e.head, e.gate)
        group = get(key)
        if group is None:
            group = groups[key] = ([], [], [])
        group[0].append(e.seq)
        group[1].append(e.origin_seq)
        group[2].append(e.payload)
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
            "seqs": _array(group[0]),
            "origins": _array(group[1]),
            **_payloads(group[2]),
        }
        for key, group in groups.items()
    ]


def job_event_groups(
    entries: Sequence[tuple[str, StoredJobEvent]], gone: set[str], node: str
) -> list[dict[str, Any]]:
    """Parameters of one ``INSERT_JOB_EVENTS`` per job of ``entries`` (jobs in ``gone`` left
    out); of entries with one origin seq in a job the first one stays."""
    logs: dict[str, list[StoredJobEvent]] = {}
    for jid, e in entries:
        log = logs.get(jid)
        if log is None:
            log = logs[jid] = []
        log.append(e)
    params: list[dict[str, Any]] = []
    for jid, log in logs.items():
        if jid in gone:
            continue
        origins = [e.origin_seq for e in log]
        if len(set(origins)) < len(origins):  # rare: keep the first of each origin seq
            firsts: dict[int, StoredJobEvent] = {}
            for e in log:
                firsts.setdefault(e.origin_seq, e)
            log = list(firsts.values())
            origins = [e.origin_seq for e in log]
        params.append(
            {
                "owner": jid,
                "node": node,
                "origins": _array(origins),
                "kinds": _array(e.kind for e in log),
                "gates": _array(e.gate for e in log),
                **_payloads([e.payload for e in log]),
            }
        )
    return params
