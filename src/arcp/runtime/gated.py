"""The agent-facing authority operations of :class:`JobContext` (§9, §10, §11).

Every operation that needs authority — tool calls, filesystem and network guards, model use,
delegation — goes through :meth:`GatedOperations.authorize`, which runs the job's one gate
(expiry, then budget, then coverage; §9.3-§9.7) before anything is dispatched. A denial is
emitted as a ``tool_result`` error the agent can handle, then raised into the agent as the
typed ``ARCPError``; an agent that does not handle it ends the job with ``job.error``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

from arcp.ids import new_id
from arcp.protocol.authority import JobAuthority
from arcp.protocol.event_frames import GATE_NONE
from arcp.protocol.lease import Lease
from arcp_gen.errors import ARCPError, InternalError, LeaseExpiredError

if TYPE_CHECKING:
    from arcp.protocol.job_table import JobRecord
    from arcp.runtime.credentials import IssuedCredential
    from arcp.runtime.delegation import ChildJob, JobHost

__all__ = ["GatedOperations"]

log = logging.getLogger("arcp.runtime")

T = TypeVar("T")
_UNSET: Final = object()
_EMPTY: Final = JobAuthority(Lease())


class GatedOperations:
    """Mixin: authority-bearing operations for an agent, all through one gate (§9.3)."""

    _job: JobRecord
    _host: JobHost | None
    _span_id: str

    def _event(self, kind: str, body: dict[str, Any], gate: int = GATE_NONE) -> bool:
        raise NotImplementedError

    # -- trace context (§11) ---------------------------------------------------------------

    @property
    def traceparent(self) -> str:
        """A W3C ``traceparent`` for this job, to forward to tools and sub-agents (§11)."""
        return f"00-{self._job.trace_id}-{self._span_id}-01"

    @staticmethod
    def _new_span_id() -> str:
        return secrets.token_hex(8)

    # -- authority state ---------------------------------------------------------------------

    @property
    def budget(self) -> dict[str, float] | None:
        """The job's current budget counters, or None without ``cost.budget`` (§9.6)."""
        return self._job.budget()

    @property
    def parent_job_id(self) -> str | None:
        """The delegating job, when this job is a delegated child (§10)."""
        return self._job.parent_job_id

    @property
    def credentials(self) -> tuple[IssuedCredential, ...]:
        """The job's provisioned credentials (§9.8); their values are secret."""
        return self._host.credentials(self._job) if self._host is not None else ()

    # -- the gate (§9.3) ---------------------------------------------------------------------

    async def authorize(self, namespace: str, target: str, *, call_id: str | None = None) -> None:
        """Check ``namespace`` on ``target`` through the gate; on denial emit a ``tool_result``
        error (``call_id``, or a fresh one) and raise it. An expired lease also ends the job
        with ``job.error LEASE_EXPIRED`` (§9.5)."""
        job = self._job
        authority = job.authority or _EMPTY
        try:
            authority.gate(namespace, target, asyncio.get_running_loop().time())
        except ARCPError as err:
            log.info("audit: job %s denied %s: %s", job.job_id, namespace, err.code.value)
            await self._deny(call_id, err)
            if isinstance(err, LeaseExpiredError) and self._host is not None:
                self._host.expire(job)
            raise

    async def _deny(self, call_id: str | None, err: ARCPError) -> None:
        body = {"call_id": call_id or new_id("call"), "error": err.to_payload()}
        if self._event("tool_result", body):
            await asyncio.sleep(0)

    async def check_read(self, path: str) -> None:
        """Authorize reading ``path`` (``fs.read``; ``..`` never escapes a grant, §9.2)."""
        await self.authorize("fs.read", path)

    async def check_write(self, path: str) -> None:
        """Authorize writing ``path`` (``fs.write``, §9.2)."""
        await self.authorize("fs.write", path)

    async def check_fetch(self, url: str) -> None:
        """Authorize fetching ``url`` (``net.fetch``, §9.2)."""
        await self.authorize("net.fetch", url)

    async def use_model(self, model: str) -> None:
        """Authorize invoking ``model`` (``model.use``, §9.7)."""
        await self.authorize("model.use", model)

    # -- tool calls (§8.2, §9.3) ------------------------------------------------------------

    @overload
    async def tool_call(self, tool: str, args: Any = None) -> str: ...

    @overload
    async def tool_call(self, tool: str, args: Any, fn: Callable[[Any], Awaitable[T] | T]) -> T: ...

    async def tool_call(
        self, tool: str, args: Any = None, fn: Callable[[Any], Any] | None = None
    ) -> Any:
        """Emit ``tool_call``, check ``tool.call`` on ``tool``, then dispatch.

        With ``fn``: call ``fn(args)``, emit its ``tool_result`` and return what it returned
        (a raised error becomes a ``tool_result`` error and propagates). Without ``fn``:
        return the ``call_id`` and report the outcome with :meth:`tool_result` yourself.
        """
        if not isinstance(tool, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"the tool name must be a string, not {type(tool).__name__}")
        call_id = new_id("call")
        if self._event("tool_call", {"tool": tool, "args": args, "call_id": call_id}):
            await asyncio.sleep(0)
        await self.authorize("tool.call", tool, call_id=call_id)
        if fn is None:
            return call_id
        try:
            result = fn(args)
            if inspect.isawaitable(result):
                result = await result
        except ARCPError as err:
            await self._deny(call_id, err)
            raise
        except Exception:
            log.warning("tool %s failed in job %s", tool, self._job.job_id, exc_info=True)
            await self._deny(call_id, InternalError("the tool failed"))
            raise
        if self._event("tool_result", {"call_id": call_id, "result": result}):
            await asyncio.sleep(0)
        return result

    async def tool_result(
        self, call_id: str, result: Any = _UNSET, *, error: ARCPError | None = None
    ) -> None:
        """A ``tool_result`` event carrying exactly one of ``result`` or ``error``."""
        if (error is None) == (result is _UNSET):
            raise ValueError("tool_result takes exactly one of result or error")
        body: dict[str, Any] = {"call_id": call_id}
        if error is not None:
            body["error"] = error.to_payload()
        else:
            body["result"] = result
        if self._event("tool_result", body):
            await asyncio.sleep(0)

    # -- delegation (§10) --------------------------------------------------------------------

    async def delegate(
        self,
        agent: str,
        input: Any = None,
        *,
        lease: Mapping[str, Iterable[str]] | None = None,
        lease_constraints: Mapping[str, Any] | None = None,
    ) -> ChildJob:
        """Start ``agent`` as a child job under a subset of this job's lease (§9.4, §10).

        Checks ``agent.delegate`` on the agent name, then the subset rules
        (``LEASE_SUBSET_VIOLATION``); the child's budget is carved out of what this job has
        left and its expiry is inherited. Emits ``delegate`` on this job.
        """
        call_id = new_id("call")
        await self.authorize("agent.delegate", agent.split("@", 1)[0], call_id=call_id)
        if self._host is None:
            raise InternalError("this job context cannot delegate")
        try:
            return await self._host.delegate(self._job, agent, input, lease, lease_constraints)
        except ARCPError as err:
            log.info("audit: job %s delegation refused: %s", self._job.job_id, err.code.value)
            await self._deny(call_id, err)
            raise

    # -- credentials (§9.8.2) ----------------------------------------------------------------

    async def rotate_credentials(self) -> None:
        """Re-issue the job's credentials; the submitter gets ``status credential_rotated``."""
        if self._host is not None:
            await self._host.rotate_credentials(self._job)
