"""A job's life after acceptance, sans-IO: its events, its fan-out and its end (§7.3, §8, §10).

:class:`JobLifecycle` is the one place that changes a job once it exists: it stamps and
fans each event out to the submitting session and every subscriber (§8.3), drops a
subscriber that fell too far behind (§13.2), announces or withdraws a job, creates a
delegated child (§10) and ends a job with its terminal message (§7.3). Requests
(:mod:`~arcp.protocol.job_requests`) and the runtime's agents use it; it calls back into
neither, and records every change in the job table's journal (a no-op without a store).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from arcp.ids import new_id, wall_timestamp
from arcp.protocol.authority import ChildAuthority
from arcp.protocol.event_frames import GATE_NONE, JobEventLog
from arcp.protocol.frame_stamps import FrameStamps
from arcp.protocol.job_table import JobRecord, JobTable
from arcp.protocol.runtime_session import RuntimeSession
from arcp.protocol.states import advance_job
from arcp_gen.errors import ARCPError, InternalError

__all__ = ["JobLifecycle"]

log = logging.getLogger("arcp.runtime")


class JobLifecycle:
    """Events, fan-out and terminal messages of the jobs in one :class:`JobTable`."""

    def __init__(self, jobs: JobTable, stamps: FrameStamps, buffer_limit: int) -> None:
        self.jobs = jobs
        self.stamps = stamps
        self.buffer_limit = buffer_limit
        """A job log's bound, like the session buffers'."""

    def new_job_log(self, job_id: str, trace_id: str) -> JobEventLog:
        """An empty event log for a new job, bounded like the session buffers."""
        return JobEventLog(job_id, trace_id, self.buffer_limit)

    def event(self, job: JobRecord, kind: str, body: dict[str, Any], gate: int = GATE_NONE) -> bool:
        """Encode one event of ``kind`` with ``body`` (§8.1) and send it to every session that
        sees ``job`` (§8.3). Returns False (and drops the event) once the job is terminal."""
        return self.emit(job, self.stamps.event_payload(kind, body), gate)

    def emit(self, job: JobRecord, payload: bytes, gate: int = GATE_NONE) -> bool:
        """Send one encoded ``job.event`` payload to every session that sees ``job`` (§8.3).

        The payload is kept by replay buffers and the job log: pass exact-size bytes (as
        :meth:`~arcp.protocol.frame_stamps.FrameStamps.event_payload` builds them), not a fresh
        ``orjson.dumps`` result, which holds a ~4 KiB allocation whatever its length.
        Returns False (and drops the event) once the job is terminal.
        """
        if job.finished_at is not None:
            return False
        log_ = job.log
        origin = job.origin
        if origin is not None and origin.accepts(gate):
            item = log_.event_item(origin.next_seq, payload, gate)
            origin.push_event(item, log_)
        else:
            item = log_.event_item(
                log_.last_origin_seq + (1 if origin is None else 0), payload, gate
            )
        self.jobs.journal.job_event(job, item)
        lagging: list[RuntimeSession] | None = None
        for sub in job.subscribers.values():
            if sub.accepts(gate):
                sub.push_event(item, log_)
                if sub.flow.shut:
                    lagging = [sub] if lagging is None else [*lagging, sub]
        if lagging is not None:
            self._drop_subscribers(job, lagging)
        return True

    def _drop_subscribers(self, job: JobRecord, lagging: list[RuntimeSession]) -> None:
        """Unsubscribe sessions that fell ``high_water`` events behind, with an error (§13.2):
        a subscriber never throttles someone else's job and is never starved silently."""
        for sub in lagging:
            job.subscribers.pop(sub.session_id, None)
            sub.subscriptions.discard(job.job_id)
            self.jobs.journal.session(sub)
            log.warning(
                "session %s fell %d events behind job %s: unsubscribed",
                sub.session_id,
                sub.lag,
                job.job_id,
            )
            err = InternalError(
                "the subscriber fell too far behind and was unsubscribed; subscribe again",
                details={"job_id": job.job_id, "lag": sub.lag},
            )
            sub.control("session.error", err.to_payload(), job_id=job.job_id)

    def emit_private(self, job: JobRecord, full: bytes, redacted: bytes) -> bool:
        """Emit an event whose secret-bearing form only the submitting session sees (§9.8.2).

        Subscribers, the job log (history replay) and every other session get ``redacted``.
        """
        if job.finished_at is not None:
            return False
        log_ = job.log
        origin = job.origin
        seq = origin.next_seq if origin is not None else log_.last_origin_seq + 1
        item = log_.event_item(seq, redacted)
        self.jobs.journal.job_event(job, item)
        if origin is not None:
            origin.push_event((item[0], item[1], full, item[3]), log_, stored=item)
        for sub in job.subscribers.values():
            sub.push_event(item, log_)
        lagging = [sub for sub in job.subscribers.values() if sub.flow.shut]
        if lagging:
            self._drop_subscribers(job, lagging)
        return True

    def accept(self, job: JobRecord) -> None:
        """Queue the job's ``job.accepted`` to its submitting session and to idempotent
        retries that arrived meanwhile (§7.1, §7.2)."""
        job.announced = True
        if job.origin is not None:
            job.origin.control(
                "job.accepted", job.accepted, job_id=job.job_id, trace_id=job.trace_id
            )
        for session, request_id in job.waiting:
            payload = dict(job.accepted, request_id=request_id)
            session.control("job.accepted", payload, job_id=job.job_id, trace_id=job.trace_id)
        job.waiting.clear()

    def refuse(self, job: JobRecord, err: ARCPError) -> None:
        """Withdraw a job that could not be accepted (e.g. no credential): ``session.error``."""
        self.jobs.remove(job)
        if job.origin is not None:
            job.origin.error(err, job.accepted.get("request_id"))
        for session, request_id in job.waiting:
            session.error(err, request_id)
        job.waiting.clear()

    def spawn_child(
        self, parent: JobRecord, agent: str, input: Any, derived: ChildAuthority, wall_now: float
    ) -> JobRecord:
        """Create a delegated job: same principal and trace, ``parent_job_id`` set (§10, §11)."""
        job_id = new_id("job")
        accepted: dict[str, Any] = {
            "job_id": job_id,
            "agent": agent,
            "lease": derived.lease_wire,
            "accepted_at": wall_timestamp(wall_now),
            "trace_id": parent.trace_id,
        }
        if derived.lease_constraints is not None:
            accepted["lease_constraints"] = derived.lease_constraints
        budget = derived.authority.budget_wire()
        if budget is not None:
            accepted["budget"] = budget
        child = JobRecord(
            job_id=job_id,
            principal=parent.principal,
            agent=agent,
            lease=derived.lease_wire,
            lease_constraints=derived.lease_constraints,
            trace_id=parent.trace_id,
            created_at=accepted["accepted_at"],
            input=input,
            max_runtime_sec=None,
            origin=None,
            origin_session_id=parent.origin_session_id,
            log=self.new_job_log(job_id, parent.trace_id),
            accepted=accepted,
            authority=derived.authority,
            parent_job_id=parent.job_id,
        )
        self.jobs.add(child)
        parent.children.append(job_id)
        return child

    def mark_running(self, job: JobRecord) -> None:
        """The agent started (§7.3)."""
        if job.status == "pending":
            advance_job(job, "running")
            self.jobs.journal.job(job)

    def succeed(self, job: JobRecord, outcome: dict[str, Any], now: float, wall_now: float) -> bool:
        """End ``job`` with ``job.result`` (``outcome`` holds result or result_id/size)."""
        payload = {"final_status": "success", **outcome, "completed_at": wall_timestamp(wall_now)}
        return self._finish(job, "success", payload, error=False, now=now)

    def fail(
        self, job: JobRecord, err: ARCPError, final_status: str, now: float, wall_now: float
    ) -> bool:
        """End ``job`` with ``job.error`` carrying ``err`` (§7.3, §12)."""
        payload = err.to_payload()
        payload.update(final_status=final_status, completed_at=wall_timestamp(wall_now))
        return self._finish(job, final_status, payload, error=True, now=now)

    def _finish(
        self, job: JobRecord, status: str, payload: dict[str, Any], *, error: bool, now: float
    ) -> bool:
        if job.terminal:
            return False
        # May raise TypeError: nothing changed yet. An exact-size copy, as for events: the
        # terminal entry stays in the job log and the buffers as long as the job is kept.
        data = bytes(memoryview(orjson.dumps(payload)))
        if self.jobs.jobs.get(job.job_id) is job:
            self.jobs.ended(job)
        advance_job(job, status)
        job.finished_at = now
        job.outcome = (error, payload)
        origin = job.origin
        origin_seq = origin.next_seq if origin is not None else job.log.last_origin_seq + 1
        item = job.log.terminal_item(origin_seq, data, error=error)
        self.jobs.journal.job_event(job, item)
        if origin is not None:
            origin.push_event(item)
        for sub in job.subscribers.values():
            sub.push_event(item)
            sub.subscriptions.discard(job.job_id)
        job.subscribers.clear()
        return True
