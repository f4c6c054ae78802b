"""Subscriptions to a job's stream, sans-IO (§7.6, §14 "Cross-session subscription audit").

The rules of a subscription in one place: what it replays (:func:`subscription_replay`),
what ``job.subscribed`` says (:func:`send_subscribed`), how a session is attached to a live
job (:func:`attach`) and how the decision is audited. Job requests apply them to local jobs;
a cluster node applies them to the entries it read of another node's job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from arcp.protocol.job_table import JobRecord
from arcp.protocol.replay_buffer import EventItem
from arcp.protocol.runtime_session import RuntimeSession
from arcp_gen.messages import JobSubscribeMessage
from arcp_gen.models import JobSubscribePayload

__all__ = ["attach", "audit_subscribe", "send_subscribed", "subscription_replay"]

log = logging.getLogger("arcp.runtime")


def attach(session: RuntimeSession, job: JobRecord, replay: list[EventItem]) -> None:
    """Queue ``replay`` (re-stamped in the session's seq space) and stream ``job`` live."""
    for item in replay:
        if session.accepts(item[3]):
            session.push_event(item)
    if not job.terminal:
        job.subscribers[session.session_id] = session
        session.subscriptions.add(job.job_id)
        session.journal.session(session)


def audit_subscribe(
    session: RuntimeSession, job_id: str, owner: str | None, *, allowed: bool
) -> None:
    """Log one subscribe decision: subscriber, target job, target principal, decision (§14
    "Cross-session subscription audit"). ``owner`` is None for a job that does not exist.
    The log is for operators: it names the owner even when the subscriber is refused."""
    log.info(
        "audit: subscribe by principal %r (session %s) to job %s of principal %r: %s",
        session.principal,
        session.session_id,
        job_id,
        owner,
        "allowed" if allowed else "denied",
    )


def subscription_replay(
    session: RuntimeSession,
    job: JobRecord,
    request: JobSubscribePayload,
    logged: Iterable[EventItem],
    last: EventItem | None,
) -> list[EventItem] | None:
    """What a new subscription to ``job`` replays before it goes live (§7.6), or None when
    ``session`` already streams the live job (it gets no second stream).

    ``logged`` are the job's entries, oldest first (any that precede ``from_event_seq`` are
    skipped here); ``last`` is its newest entry. With ``history`` the entries after
    ``from_event_seq`` that the session's features admit are replayed; a job that has ended
    replays at least its terminal message, so a late subscriber still learns the outcome.
    """
    if not job.terminal and (job.origin is session or job.job_id in session.subscriptions):
        return None
    replay: list[EventItem] = []
    if request.history:
        start = request.from_event_seq or 0
        replay = [item for item in logged if item[0] > start and session.accepts(item[3])]
    if job.terminal and not replay and last is not None:
        replay = [last]
    return replay


def send_subscribed(
    session: RuntimeSession, message: JobSubscribeMessage, job: JobRecord, replay: list[EventItem]
) -> None:
    """Queue ``job.subscribed``: the subscriber's authority descriptor for ``job`` (§7.6)."""
    descriptor: dict[str, Any] = {
        "request_id": message.id,
        "job_id": job.job_id,
        "current_status": job.status,
        "agent": job.agent,
        **job.authority_bounds(),
    }
    descriptor.update(
        {
            "parent_job_id": job.parent_job_id,
            "trace_id": job.trace_id,
            # Where live delivery starts, in the job's origin coordinate (§7.6, example 13.3).
            "subscribed_from": job.log.last_origin_seq,
            "replayed": bool(replay) and message.payload.history is True,
        }
    )
    session.control("job.subscribed", descriptor, job_id=job.job_id, trace_id=job.trace_id)
