"""Jobs running on another node, as the sessions here see them (§7.6, §8.3). Sans-IO.

A :class:`Mirror` stands for one remote job. Each session here that observes the job (as
its submitter after a resume through this node, or as a subscriber) has a cursor: the last
entry of the job's log it was given, in the job's origin coordinate. New log entries read
from the database are re-stamped into each observer's own ``event_seq`` space, gap-free,
exactly as a local job's events are; the job's terminal entry ends the observation.
"""

from __future__ import annotations

from arcp.protocol.event_frames import JobEventLog
from arcp.protocol.runtime_session import RuntimeSession
from arcp.store.base import StoredJobEvent

__all__ = ["Mirror"]


class Mirror:
    """One remote job and the local sessions that observe it."""

    __slots__ = ("job_id", "log", "observers", "stale")

    def __init__(self, job_id: str, trace_id: str) -> None:
        self.job_id = job_id
        self.log = JobEventLog(job_id, trace_id, 0)  # only its pre-encoded heads are used
        self.observers: dict[str, tuple[RuntimeSession, int]] = {}
        self.stale = False
        """Set when the job's log grew while a read was under way: read again."""

    def __repr__(self) -> str:
        return f"Mirror({self.job_id!r}, observers={len(self.observers)})"

    def observe(self, session: RuntimeSession, cursor: int) -> None:
        """Deliver the job's entries after ``cursor`` to ``session`` from now on."""
        self.observers[session.session_id] = (session, cursor)
        session.subscriptions.add(self.job_id)
        session.journal.session(session)

    def forget(self, session_id: str) -> int | None:
        """Stop delivering to a session; returns its cursor (None if it was not observing)."""
        held = self.observers.pop(session_id, None)
        return None if held is None else held[1]

    @property
    def low(self) -> int:
        """The smallest cursor: entries after it are still owed to someone."""
        return min((cursor for _, cursor in self.observers.values()), default=0)

    def deliver(self, entries: list[StoredJobEvent]) -> None:
        """Push ``entries`` (oldest first) to every observer that has not had them yet."""
        for entry in entries:
            item = self.log.item(entry.origin_seq, entry.kind, entry.payload, entry.gate)
            for session_id, (session, cursor) in list(self.observers.items()):
                if self.job_id not in session.subscriptions:  # job.unsubscribe (§7.6)
                    del self.observers[session_id]
                    continue
                if entry.origin_seq <= cursor:
                    continue
                if session.accepts(entry.gate):
                    session.push_event(item)
                if entry.kind != 0:  # job.result / job.error: nothing follows (§7.3)
                    del self.observers[session_id]
                    session.subscriptions.discard(self.job_id)
                    session.journal.session(session)
                else:
                    self.observers[session_id] = (session, entry.origin_seq)
