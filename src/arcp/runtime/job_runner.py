"""Running agents as asyncio tasks: lifecycle, lease watchdog, credentials, delegation (§7-§10).

:class:`JobRunner` starts one task per job. Around the agent it issues the job's credential
before ``job.accepted`` (§9.8.2), arms the ``max_runtime_sec`` timer (§7.3) and the lease
expiry watchdog (§9.5), and at any terminal state revokes credentials, cancels live children
and gives their unspent budget back to the parent (§10). It is the :class:`JobHost` every
:class:`JobContext` talks to.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, cast

from arcp.codec import check_numbers
from arcp.protocol.job_table import JobRecord
from arcp.protocol.lease import pattern_list
from arcp.protocol.runtime_core import RuntimeCore
from arcp.runtime.context import JobContext
from arcp.runtime.credentials import CredentialRequest, IssuedCredential
from arcp.runtime.delegation import ChildJob
from arcp.runtime.revocation import CredentialKeeper
from arcp_gen.errors import (
    ARCPError,
    InternalError,
    InvalidRequestError,
    JobCancelledError,
    JobTimeoutError,
    LeaseExpiredError,
)

__all__ = ["JobRunner"]

log = logging.getLogger("arcp.runtime")

Agent = Callable[[Any, JobContext], Awaitable[Any]]


class JobRunner:
    """One task per job, with its timers, credentials and children (§7.3, §9.5, §9.8, §10)."""

    def __init__(
        self,
        core: RuntimeCore[Agent],
        keeper: CredentialKeeper | None,
        *,
        max_result_chunk_bytes: int,
        max_result_bytes: int,
        pump: Callable[[], None] = lambda: None,
    ) -> None:
        """``pump`` takes what the core made ready (writers to wake, a commit to schedule):
        the runner calls it after everything it feeds the core."""
        self.core = core
        self.pump = pump
        self.keeper = keeper
        self.running: dict[str, tuple[asyncio.Task[None], JobContext]] = {}
        self._max_chunk = max_result_chunk_bytes
        self._max_result = max_result_bytes

    # -- start and stop -------------------------------------------------------------------

    def start(
        self, job: JobRecord, handler: Agent, finished: asyncio.Future[None] | None = None
    ) -> None:
        """Run ``handler`` for ``job`` in a new task."""
        ctx = JobContext(
            self.core,
            job,
            max_result_chunk_bytes=self._max_chunk,
            max_result_bytes=self._max_result,
            host=self,
            pump=self.pump,
        )
        task = asyncio.create_task(self._run(job, handler, ctx), name=f"arcp-job-{job.job_id}")
        # A done-callback, not a finally: a task cancelled before it ever ran has no finally.
        task.add_done_callback(lambda _: self._reap(job, finished))
        self.running[job.job_id] = (task, ctx)

    def _reap(self, job: JobRecord, finished: asyncio.Future[None] | None) -> None:
        self.running.pop(job.job_id, None)
        refused = self.core.jobs.jobs.get(job.job_id) is not job  # never accepted
        if not job.terminal and not refused:  # died before reporting (cancelled unstarted)
            err = JobCancelledError("the job was stopped", retryable=False)
            self.core.fail(job, err, "cancelled", asyncio.get_running_loop().time(), time.time())
        self._ended(job)
        self.pump()
        if finished is not None and not finished.done():
            finished.set_result(None)

    def stop(self, job: JobRecord) -> None:
        """The job reached a terminal state early: stop its agent."""
        running = self.running.get(job.job_id)
        if running is not None:
            task, ctx = running
            ctx.mark_cancelled()
            task.cancel()

    def _timeout(self, job: JobRecord) -> None:
        now = asyncio.get_running_loop().time()
        limit = job.max_runtime_sec
        err = JobTimeoutError(f"the job exceeded max_runtime_sec ({limit:g} s)")
        if self.core.fail(job, err, "timed_out", now, time.time()):
            self.stop(job)
        self.pump()

    def expire(self, job: JobRecord) -> None:
        """End ``job`` with ``job.error LEASE_EXPIRED`` (§9.5), logged for audit (§14)."""
        loop = asyncio.get_running_loop()
        authority = job.authority
        if authority is not None and not authority.expired(loop.time()):
            left = authority.seconds_left(loop.time()) or 0.0
            loop.call_later(left, self.expire, job)  # woke early: re-arm
            return
        err = LeaseExpiredError("The lease expired during execution.", retryable=False)
        if self.core.fail(job, err, "error", loop.time(), time.time()):
            log.warning("audit: job %s ended: its lease expired", job.job_id)
            self.stop(job)
        self.pump()

    # -- the job task -----------------------------------------------------------------------

    async def _run(self, job: JobRecord, handler: Agent, ctx: JobContext) -> None:
        loop = asyncio.get_running_loop()
        core = self.core
        timers: list[asyncio.TimerHandle] = []
        try:
            if (
                job.needs_credentials
                and job.parent_job_id is None
                and not await self._provision(job)
            ):
                return
            if job.max_runtime_sec is not None:
                timers.append(loop.call_later(job.max_runtime_sec, self._timeout, job))
            left = job.authority.seconds_left(loop.time()) if job.authority else None
            if left is not None:
                timers.append(loop.call_later(left, self.expire, job))
            core.mark_running(job)
            self.pump()
            await self._call(job, handler, ctx)
        finally:
            for timer in timers:
                timer.cancel()
            self.pump()

    async def _call(self, job: JobRecord, handler: Agent, ctx: JobContext) -> None:
        loop = asyncio.get_running_loop()
        core = self.core
        try:
            result = await handler(job.input, ctx)
        except asyncio.CancelledError:
            err = JobCancelledError("the job was stopped", retryable=False)
            core.fail(job, err, "cancelled", loop.time(), time.time())
        except ARCPError as err:
            core.fail(job, err, "error", loop.time(), time.time())
        except Exception:
            log.exception("agent %s failed in job %s", job.agent, job.job_id)
            core.fail(
                job,
                InternalError("the agent failed unexpectedly"),
                "error",
                loop.time(),
                time.time(),
            )
        else:
            self._complete(job, ctx, result, loop.time())

    def _complete(self, job: JobRecord, ctx: JobContext, result: Any, now: float) -> None:
        stream = ctx.result_stream
        if stream is not None and stream.failed:
            err = InternalError(
                "the streamed result exceeds the runtime's size limit"  # retryable, as §12 says
            )
            self.core.fail(job, err, "error", now, time.time())
            return
        outcome = stream.finish() if stream is not None else {"result": result}
        try:
            if stream is None:  # NaN or Infinity would go out as null (RFC 8259 has neither)
                check_numbers(result, "result")
            self.core.succeed(job, outcome, now, time.time())
        except (TypeError, InvalidRequestError):
            log.warning("job %s returned a result that is not JSON", job.job_id)
            self.core.fail(
                job, InternalError("the agent's result is not JSON"), "error", now, time.time()
            )

    def _ended(self, job: JobRecord) -> None:
        """Terminal housekeeping: revoke credentials, stop children, return budget (§9.8, §10)."""
        now = asyncio.get_running_loop().time()
        for child_id in job.children:
            child = self.core.jobs.jobs.get(child_id)
            if child is not None and not child.terminal:
                err = JobCancelledError("the parent job ended", retryable=False)
                if self.core.fail(child, err, "cancelled", now, time.time()):
                    self.stop(child)
                if self.keeper is not None:
                    self.keeper.release(child_id)  # at once, not when its task unwinds
        if self.keeper is not None:
            self.keeper.release(job.job_id)
        if job.parent_job_id is not None:
            parent = self.core.jobs.jobs.get(job.parent_job_id)
            if parent is not None and parent.authority and job.authority:
                parent.authority.reclaim(job.authority)
                self._announce_budget(parent)

    def _announce_budget(self, job: JobRecord) -> None:
        """``cost.budget.remaining`` for every currency after a carve or a reclaim (§9.6)."""
        budget = job.budget()
        for currency, left in (budget or {}).items():
            body = {"name": "cost.budget.remaining", "value": left, "unit": currency}
            self.core.event(job, "metric", body)

    async def ended_tasks(self) -> None:
        """Wait for the tasks of jobs that already reached a terminal state to unwind."""
        while True:
            ending = [
                task
                for job_id, (task, _) in self.running.items()
                if not task.done()
                and ((job := self.core.jobs.jobs.get(job_id)) is None or job.terminal)
            ]
            if not ending:
                break
            await asyncio.wait(ending)
        await asyncio.sleep(0)  # let the tasks' done-callbacks run

    # -- credentials (§9.8) -------------------------------------------------------------------

    def _request(self, job: JobRecord) -> CredentialRequest:
        authority = job.authority
        assert authority is not None
        return CredentialRequest(
            job_id=job.job_id,
            lease=authority.lease,
            budget=dict(authority.budget.remaining) if authority.budget is not None else {},
            expires_at=authority.expiry.expires_at if authority.expiry is not None else None,
            parent_job_id=job.parent_job_id,
        )

    async def _provision(self, job: JobRecord) -> bool:
        """Issue the job's credential, then send ``job.accepted``; refuse the submit if not."""
        assert self.keeper is not None
        try:
            credential = await self.keeper.issue(self._request(job))
        except Exception as exc:
            log.error("no credential for job %s: %s", job.job_id, type(exc).__name__)
            self.core.refuse(job, InternalError("the runtime could not provision a credential"))
            return False
        job.accepted["credentials"] = [credential.to_wire()]
        self.core.accept(job)
        return True

    def credentials(self, job: JobRecord) -> tuple[IssuedCredential, ...]:
        """The job's live credentials."""
        return self.keeper.of(job.job_id) if self.keeper is not None else ()

    async def rotate_credentials(self, job: JobRecord) -> None:
        """Rotate the job's credentials; ``status credential_rotated`` to the submitter only."""
        if self.keeper is None or job.terminal:
            return
        for fresh in await self.keeper.rotate(job.job_id):
            body = {"phase": "credential_rotated", "credential_id": fresh.id}
            redacted = self.core.stamps.event_payload("status", body)
            full = self.core.stamps.event_payload(
                "status", dict(body, credential_value=fresh.value)
            )
            self.core.emit_private(job, full, redacted)
            self.pump()

    # -- delegation (§10) -----------------------------------------------------------------------

    async def delegate(
        self,
        parent: JobRecord,
        agent: str,
        input: Any,
        lease: Mapping[str, Iterable[str]] | None,
        lease_constraints: Mapping[str, Any] | None,
    ) -> ChildJob:
        """Create, announce and start a child job under a subset of ``parent``'s lease."""
        loop = asyncio.get_running_loop()
        core = self.core
        if parent.terminal or parent.authority is None:
            raise JobCancelledError("the job already ended", retryable=False)
        ref, handler = core.agents.resolve(agent)
        request = _lease_request(lease)
        derived = parent.authority.derive(
            request, lease_constraints, now=loop.time(), wall_now=time.time()
        )
        child = core.spawn_child(parent, ref, input, derived, time.time())
        child.needs_credentials = parent.needs_credentials
        credentials: tuple[IssuedCredential, ...] = ()
        if self.keeper is not None and child.needs_credentials:
            try:
                credentials = (await self.keeper.issue(self._request(child)),)
            except Exception as exc:
                log.error("no credential for child %s: %s", child.job_id, type(exc).__name__)
                core.jobs.remove(child)
                parent.children.remove(child.job_id)
                parent.authority.reclaim(derived.authority)
                raise InternalError("the runtime could not provision a credential") from None
        body: dict[str, Any] = {"child_job_id": child.job_id, "agent": ref, "lease": child.lease}
        if child.lease_constraints is not None:
            body["lease_constraints"] = child.lease_constraints
        core.event(parent, "delegate", body)
        if derived.authority.budget is not None:
            self._announce_budget(parent)
        self.pump()
        log.info("job %s delegated to %s (%s)", parent.job_id, child.job_id, ref)
        finished: asyncio.Future[None] = loop.create_future()
        self.start(child, handler, finished)
        return ChildJob(child, finished, credentials)


def _lease_request(lease: object) -> Mapping[str, Any] | None:
    """A delegated lease as a request object, validated and never coerced: a namespace given
    a string is refused, not split into one-character patterns (§9.2, §10)."""
    if lease is None:
        return None
    if not isinstance(lease, Mapping):
        raise InvalidRequestError(
            "the delegated lease must be an object of namespace to pattern list",
            details={"field": "lease_request"},
        )
    items = cast(Mapping[Any, Any], lease).items()
    return {ns: pattern_list(str(ns), patterns) for ns, patterns in items}
