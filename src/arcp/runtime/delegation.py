"""Delegated child jobs as the parent agent sees them (§10).

:meth:`JobContext.delegate` returns a :class:`ChildJob`: the child's id, effective lease and
budget, its credentials (if any, §9.8.2), and ``await child.result()`` for its outcome.
:class:`JobHost` is what a job context needs from the runtime that hosts it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from arcp.protocol.job_table import JobRecord
from arcp.runtime.credentials import IssuedCredential
from arcp.runtime.job_view import JobView
from arcp_gen.errors import error_from_payload

__all__ = ["ChildJob", "JobHost"]


class ChildJob(JobView):
    """A job this job delegated to (§10): ``await child.result()`` gives its result."""

    def __init__(
        self,
        job: JobRecord,
        finished: asyncio.Future[None],
        credentials: tuple[IssuedCredential, ...] = (),
    ) -> None:
        self._job = job
        self._finished = finished
        self.credentials = credentials
        """The child's provisioned credentials (§9.8.2); values are secret."""

    def __repr__(self) -> str:
        return f"ChildJob({self.job_id!r}, agent={self.agent!r}, status={self.status!r})"

    @property
    def status(self) -> str:
        """``pending``, ``running`` or the final status (§7.3)."""
        return self._job.status

    @property
    def budget(self) -> dict[str, float] | None:
        """The child's current budget counters, or None (§9.6)."""
        return self._job.budget()

    async def wait(self) -> None:
        """Wait until the child ended, without raising its error."""
        await asyncio.shield(self._finished)

    async def result(self) -> Any:
        """The child's result; raises the typed ``ARCPError`` it ended with."""
        await self.wait()
        outcome = self._job.outcome
        if outcome is None:  # the runtime stopped before the child could report
            raise error_from_payload({"code": "INTERNAL_ERROR", "message": "the child vanished"})
        is_error, payload = outcome
        if is_error:
            raise error_from_payload(payload)
        return payload.get("result")


class JobHost(Protocol):
    """What a :class:`JobContext` asks of the runtime hosting it."""

    async def delegate(
        self,
        parent: JobRecord,
        agent: str,
        input: Any,
        lease: Mapping[str, Iterable[str]] | None,
        lease_constraints: Mapping[str, Any] | None,
    ) -> ChildJob: ...

    async def rotate_credentials(self, job: JobRecord) -> None: ...

    def credentials(self, job: JobRecord) -> tuple[IssuedCredential, ...]: ...

    def expire(self, job: JobRecord) -> None: ...
