"""What runtime nodes sharing one database need from it beyond a :class:`~arcp.store.Store`.

The contract a shared store implements (PostgreSQL: :mod:`arcp.store.postgres_cluster`);
it lives with the stores so a store never imports :mod:`arcp.cluster`, which drives it.

Several runtime processes (nodes) on one database each own some sessions and run some
jobs. A session is owned by one node at a time, the one its client is connected to; a job
runs on the node it was submitted to (its home). The database is the meeting point:

- **notifications** between nodes, on three channels: ``arcp_job`` (payload: a job id; sent
  by the store's commit for every job whose log grew), ``arcp_cancel`` (``JOB_ID REASON``)
  and ``arcp_session`` (``release SESSION_ID NODE`` / ``released SESSION_ID``);
- **ownership hand-over** of a session when its client resumes through another node (§6.3):
  the new node asks, the old one commits what it holds, records how far the session had
  seen each job (its cursors) and hands the session over;
- **reads** of other nodes' jobs and job logs for listing and subscribing (§6.6, §7.6);
- **idempotency keys** claimed atomically across nodes (§7.2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from arcp.store.base import (
    StoredEvent,
    StoredJob,
    StoredJobEvent,
    StoredRevocation,
    StoredSession,
)

__all__ = ["CHANNELS", "ClusterDatabase", "Clustered"]

CHANNELS = ("arcp_job", "arcp_cancel", "arcp_session")
"""The notification channels every node listens on."""


@runtime_checkable
class ClusterDatabase(Protocol):
    """The shared database as one node sees it (``node_id`` names this node)."""

    node_id: str

    async def listen(
        self, deliver: Callable[[str, str], None], resumed: Callable[[], None]
    ) -> None:
        """Call ``deliver(channel, payload)`` for every notification on :data:`CHANNELS`
        until closed; returns once listening has started (then runs in a task). When the
        connection is lost it listens again and calls ``resumed()``: notifications sent
        meanwhile were missed."""
        ...

    async def notify(self, channel: str, payload: str) -> None:
        """Send one notification to every node (this one included)."""
        ...

    async def alive(self) -> None:
        """Record that this node is alive now (every node does so about once a second)."""
        ...

    async def is_alive(self, node_id: str, within_sec: float) -> bool:
        """Whether ``node_id`` said it was alive within the last ``within_sec`` seconds."""
        ...

    # -- sessions (§6.3) --------------------------------------------------------------------

    async def session(self, session_id: str) -> tuple[StoredSession, str] | None:
        """The session and the node owning it, or None when unknown."""
        ...

    async def session_events(self, session_id: str) -> list[StoredEvent]:
        """The session's buffered events, oldest first."""
        ...

    async def hand_over(self, session_id: str, to_node: str, cursors: dict[str, int]) -> None:
        """Make ``to_node`` the owner, store the session's cursors (job id → last job-log
        seq it has seen) and notify ``released SESSION_ID`` — one transaction."""
        ...

    async def take_over(self, session_id: str) -> None:
        """Make this node the owner without the old owner's consent (it did not answer)."""
        ...

    async def cursors(self, session_id: str) -> dict[str, int]:
        """The cursors stored by the last hand-over (empty when none)."""
        ...

    async def take_over_orphans(
        self, silent_sec: float, *, revocations: bool
    ) -> tuple[list[StoredJob], list[StoredRevocation]]:
        """Make this node the home of every unfinished job whose node said nothing for
        ``silent_sec`` seconds, and (when ``revocations``) the owner of that node's pending
        revocations; returns what it took. Atomic: of several nodes asking at once, each
        job goes to one."""
        ...

    async def moved(self, job_ids: list[str]) -> list[str]:
        """Those of ``job_ids`` whose home is no longer this node."""
        ...

    # -- jobs (§6.6, §7.2, §7.6) ---------------------------------------------------------------

    async def job(self, job_id: str) -> StoredJob | None:
        """A job of any node, or None."""
        ...

    async def job_events(self, job_id: str, after: int) -> list[StoredJobEvent]:
        """The job's log entries with ``origin_seq > after``, oldest first."""
        ...

    async def jobs_of_session(self, session_id: str) -> list[StoredJob]:
        """Every job submitted through ``session_id`` (its ``origin_session_id``)."""
        ...

    async def page(
        self,
        principal: str,
        *,
        statuses: frozenset[str] | None,
        agent: str | None,
        created_after: str | None,
        after_job_id: str | None,
        limit: int,
    ) -> list[StoredJob]:
        """Up to ``limit`` of ``principal``'s jobs in job id order after ``after_job_id``;
        ``agent`` matches ``name@version`` exactly or ``name`` alone; ``created_after`` is an
        RFC 3339 string compared as text (§6.6)."""
        ...

    async def claim_key(
        self, principal: str, key: str, fingerprint: bytes, job_id: str
    ) -> tuple[str, bytes] | None:
        """Claim ``(principal, key)`` for ``job_id``: None when this call claimed it, else the
        ``(job_id, fingerprint)`` that holds it (§7.2). Atomic across nodes."""
        ...

    async def release_stale_keys(self, silent_sec: float, *, own: bool) -> int:
        """Drop claims whose job was never written: those of nodes silent for
        ``silent_sec`` and, with ``own``, this node's own (a node killed between claim and
        job row, started again). Returns how many were dropped."""
        ...

    async def release_key(self, principal: str, key: str, job_id: str) -> None:
        """Give up a claim whose job was never created (e.g. the submit was refused)."""
        ...


@runtime_checkable
class Clustered(Protocol):
    """A store that several nodes can share: it hands out its :class:`ClusterDatabase`."""

    def cluster(self) -> ClusterDatabase: ...
