"""A read-only view of one job's record: what agents and parents may know about it."""

from __future__ import annotations

from typing import Any

from arcp.protocol.job_table import JobRecord

__all__ = ["JobView"]


class JobView:
    """The observable facts of a job (§6.6, §7.6): id, resolved agent, lease, constraints."""

    _job: JobRecord

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self._job.job_id

    @property
    def agent(self) -> str:
        """The resolved ``name@version`` (§7.5)."""
        return self._job.agent

    @property
    def lease(self) -> dict[str, list[str]]:
        """The effective lease (§9.1; for a child, the delegated subset, §9.4)."""
        return self._job.lease

    @property
    def lease_constraints(self) -> dict[str, Any] | None:
        """The effective constraints, when any (§9.5; a child's include inherited expiry)."""
        return self._job.lease_constraints
