"""Rebuilding a runtime's sessions and jobs from a store snapshot (§6.3, §7.3).

Sans-IO. Sessions come back detached and resumable with every event they still buffered;
jobs come back with their log, status and budget counters. Jobs that were still running
when the previous process stopped are returned to the caller, which ends them with
``job.error INTERNAL_ERROR`` (retryable, §12) so their clients learn their fate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from arcp.protocol.event_frames import JobEventLog
from arcp.protocol.job_table import JobRecord, stored_fingerprint
from arcp.protocol.records import Snapshot, StoredEvent, StoredJob, StoredJobEvent, StoredSession
from arcp.protocol.replay_buffer import EventItem
from arcp.protocol.runtime_session import RuntimeSession
from arcp.protocol.states import job_status
from arcp_gen.features import Feature

__all__ = ["record_of", "restore_jobs", "restore_sessions", "restored_log"]


def _contiguous(stored: StoredSession, events: list[StoredEvent]) -> tuple[int, list[EventItem]]:
    """The buffer's first seq and entries: the gap-free run that ends at the newest event."""
    held = events
    if events and events[0].seq < stored.first_seq:  # a store may keep a trimmed event
        held = [e for e in events if e.seq >= stored.first_seq]
    if held and held[-1].seq - held[0].seq == len(held) - 1:  # the usual case: no gap
        run = held
    else:
        start = len(held)
        while start > 0 and (start == len(held) or held[start - 1].seq == held[start].seq - 1):
            start -= 1
        run = held[start:]
    if not run:
        return stored.last_seq + 1, []
    return run[0].seq, [(e.origin_seq, e.head, e.payload, e.gate) for e in run]


def _log_entries(stored: Sequence[StoredJobEvent]) -> Iterator[tuple[int, int, bytes, int]]:
    """A job log's stored entries, read only when the log is first used (a generator's body
    runs at the first ``next``)."""
    for entry in stored:
        yield entry.origin_seq, entry.kind, entry.payload, entry.gate


def restore_sessions(
    snapshot: Snapshot,
    make_session: Any,
    now: float,
    wall_now: float,
) -> list[RuntimeSession]:
    """Sessions still inside their resume window, detached (§6.3).

    ``make_session(session_id, principal, features, now)`` builds an empty session the way
    the core does for a new one.
    """
    known = {f.value for f in Feature}
    sessions: list[RuntimeSession] = []
    for stored in snapshot.sessions:
        away = max(0.0, wall_now - (stored.detached_at or wall_now))
        if away > stored.resume_window_sec:
            continue
        features = [Feature(f) for f in stored.features if f in known]
        session: RuntimeSession = make_session(stored.session_id, stored.principal, features, now)
        first_seq, items = _contiguous(stored, snapshot.events.get(stored.session_id, []))
        session.restore(
            token_digest=stored.token_digest,
            acked_seq=stored.acked_seq,
            first_seq=first_seq,
            items=items,
            subscriptions=stored.subscriptions,
            detached_at=now - away,
        )
        sessions.append(session)
    return sessions


def restored_log(
    stored: StoredJob, entries: Sequence[StoredJobEvent] | None, new_log: Any
) -> JobEventLog:
    """The job's log holding ``entries`` (read when first used); ``new_log(job_id,
    trace_id)`` builds an empty :class:`JobEventLog`."""
    log: JobEventLog = new_log(stored.job_id, stored.trace_id)
    if entries is not None:
        log.restore(_log_entries(entries))
    return log


def record_of(
    stored: StoredJob, log: JobEventLog, origin: RuntimeSession | None, finished_at: float | None
) -> JobRecord:
    """A job record rebuilt from its stored form (no live authority: budgets as stored)."""
    log.last_origin_seq = max(log.last_origin_seq, stored.last_origin_seq)
    return JobRecord(
        job_id=stored.job_id,
        principal=stored.principal,
        agent=stored.agent,
        lease=stored.lease,
        lease_constraints=stored.lease_constraints,
        trace_id=stored.trace_id,
        created_at=stored.created_at,
        input=stored.input,
        max_runtime_sec=stored.max_runtime_sec,
        origin=origin,
        origin_session_id=stored.origin_session_id,
        log=log,
        accepted=stored.accepted,
        fingerprint=stored_fingerprint(stored.fingerprint),
        idempotency_key=stored.idempotency_key,
        status=job_status(stored.status),
        finished_at=finished_at,
        parent_job_id=stored.parent_job_id,
        children=list(stored.children),
        announced=True,
        outcome=stored.outcome,
        stored_budget=stored.budget,
    )


def restore_jobs(
    snapshot: Snapshot,
    sessions: dict[str, RuntimeSession],
    new_log: Any,
    now: float,
    wall_now: float,
    window_sec: float,
) -> tuple[list[JobRecord], list[JobRecord]]:
    """Jobs still inside the listing window, linked to their sessions; and those of them
    that were running (§6.6, §7.3).

    ``new_log(job_id, trace_id)`` builds an empty :class:`JobEventLog`.
    """
    jobs: list[JobRecord] = []
    for stored in snapshot.jobs:
        finished_at = None
        if stored.finished_at is not None:
            ago = max(0.0, wall_now - stored.finished_at)
            if ago > window_sec:
                continue
            finished_at = now - ago
        log = restored_log(stored, snapshot.job_events.get(stored.job_id), new_log)
        origin = sessions.get(stored.origin_session_id)
        jobs.append(record_of(stored, log, origin, finished_at))
    by_id = {job.job_id: job for job in jobs}
    for session in sessions.values():
        for job_id in list(session.subscriptions):
            job = by_id.get(job_id)
            if job is None:
                continue  # another node's job, or forgotten: the caller decides
            if job.terminal:
                session.subscriptions.discard(job_id)
            else:
                job.subscribers[session.session_id] = session
    return jobs, [job for job in jobs if not job.terminal]
