"""A store held in this process's memory: outlives a :class:`~arcp.Runtime`, not the process.

It is what the contract tests measure the durable stores against, and it lets one process
stop a runtime and start another on the same state (a restart without a disk).
"""

from __future__ import annotations

import copy
from dataclasses import replace

from arcp.store.base import (
    JOB_STATE_FIELDS,
    Batch,
    Snapshot,
    StoredEvent,
    StoredJob,
    StoredJobEvent,
    StoredRevocation,
    StoredSession,
)

__all__ = ["MemoryStore"]


class MemoryStore:
    """Dictionaries behind the :class:`~arcp.store.Store` protocol."""

    commits_inline = True
    """:meth:`commit` never suspends (the runtime keeps garbage collection off across it)."""

    def __init__(self) -> None:
        self._sessions: dict[str, StoredSession] = {}
        self._events: dict[str, dict[int, StoredEvent]] = {}
        self._jobs: dict[str, StoredJob] = {}
        self._job_events: dict[str, dict[int, StoredJobEvent]] = {}
        self._revocations: dict[str, StoredRevocation] = {}

    def __repr__(self) -> str:
        return f"MemoryStore(sessions={len(self._sessions)}, jobs={len(self._jobs)})"

    async def open(self) -> None:
        """Nothing to create."""

    async def close(self) -> None:
        """Nothing to release; the state stays for the next runtime in this process."""

    async def commit(self, batch: Batch) -> None:
        """Apply ``batch`` (see :class:`Batch` for the order)."""
        # The caller may reuse its objects: copy them. Events hold only immutable values,
        # so a shallow copy suffices for them (a deep one costs ~100 µs per event).
        # A job held already takes only its state from the new record (see Batch): its
        # input and the rest fixed at submit are neither copied nor replaced.
        events, job_events, jobs = batch.events, batch.job_events, batch.jobs
        batch = copy.deepcopy(replace(batch, events=[], job_events=[], jobs={}))
        batch.events = [(sid, copy.copy(event)) for sid, event in events]
        batch.job_events = [(jid, copy.copy(entry)) for jid, entry in job_events]
        for job_id, job in jobs.items():
            held_job = self._jobs.get(job_id)
            if held_job is None:
                batch.jobs[job_id] = copy.deepcopy(job)
            else:
                state = {name: getattr(job, name) for name in JOB_STATE_FIELDS}
                batch.jobs[job_id] = replace(held_job, **copy.deepcopy(state))
        self._sessions.update(batch.sessions)
        self._jobs.update(batch.jobs)
        for session_id, event in batch.events:
            self._events.setdefault(session_id, {})[event.seq] = event
        for job_id, entry in batch.job_events:
            self._job_events.setdefault(job_id, {}).setdefault(entry.origin_seq, entry)
        for session in batch.sessions.values():
            held = self._events.get(session.session_id, {})
            for seq in [s for s in held if s < session.first_seq]:
                del held[seq]
        for job in batch.jobs.values():
            logged = self._job_events.get(job.job_id, {})
            for seq in [s for s in logged if s < job.first_origin_seq]:
                del logged[seq]
        for session_id in batch.forget_sessions:
            self._sessions.pop(session_id, None)
            self._events.pop(session_id, None)
        for job_id in batch.forget_jobs:
            self._jobs.pop(job_id, None)
            self._job_events.pop(job_id, None)
        for revocation in batch.revocations_added:
            self._revocations.setdefault(revocation.credential_id, revocation)
        for credential_id in batch.revocations_done:
            self._revocations.pop(credential_id, None)

    async def load(self) -> Snapshot:
        """A deep copy of everything held."""
        return copy.deepcopy(
            Snapshot(
                sessions=list(self._sessions.values()),
                events={
                    sid: [held[s] for s in sorted(held)]
                    for sid, held in self._events.items()
                    if held and sid in self._sessions
                },
                jobs=sorted(self._jobs.values(), key=lambda job: job.job_id),
                job_events={
                    jid: [logged[s] for s in sorted(logged)]
                    for jid, logged in self._job_events.items()
                    if logged and jid in self._jobs
                },
                revocations=list(self._revocations.values()),
            )
        )
