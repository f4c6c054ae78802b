"""Per-job views for the application: :class:`JobHandle` (submitted, §7.1) and
:class:`Subscription` (observed, §7.6).

Both are async iterators over the job's ``job.event`` envelopes (§8.1) that end once the job's
terminal message arrived, and both expose ``result()`` (§7.3, §8.4). The client's reader task
appends events with one deque append and at most one future wake-up; nothing here spawns tasks.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

from arcp.client.errors import RequestTimeoutError, UnsubscribedError
from arcp.client.lease import ProvisionedCredential
from arcp.protocol.client_events import JobEnded
from arcp.protocol.states import JOB, StateCell, fire
from arcp_gen.messages import JobEventMessage
from arcp_gen.models import (
    JobAcceptedPayload,
    JobStatus,
    JobSubscribedPayload,
    MetricEvent,
    ProgressBody,
    ProgressEvent,
    StatusEvent,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["JobHandle", "JobStream", "StreamOwner", "Subscription"]

_MARK_EVERY = 32  # while a backlog drains, report consumption every this many events


class StreamOwner(Protocol):
    """What a stream needs from the client that feeds it (the client's driver)."""

    def processed(self, seq: int) -> None:
        """The application consumed events up to ``seq`` (auto-ack, §6.5)."""
        ...

    async def cancel_job(
        self, job_id: str, reason: str | None, timeout: float | None = None
    ) -> None:
        """Send ``job.cancel`` and wait for ``job.cancelled`` (§7.4)."""
        ...

    async def unsubscribe(self, sub: Subscription, timeout: float | None = None) -> None:
        """Send ``job.unsubscribe`` (§7.6)."""
        ...


class JobStream:
    """Events and outcome of one job as seen by this session."""

    def __init__(
        self,
        owner: StreamOwner,
        job_id: str,
        *,
        agent: str | None,
        lease: Mapping[str, Any],
        trace_id: str | None,
        status: JobStatus,
    ) -> None:
        self._owner = owner
        self.job_id = job_id
        self.agent = agent
        self.lease: dict[str, Any] = dict(lease)
        self.trace_id = trace_id
        self._lifecycle: StateCell[JobStatus, JobStatus] = StateCell(JOB, status)
        self.progress: ProgressBody | None = None
        """The latest ``progress`` body (§8.2.1), or None."""
        self.budget: dict[str, float] | None = None
        """Budget counters, kept live from ``cost.budget.remaining`` metrics (§9.6)."""
        self.credentials: tuple[ProvisionedCredential, ...] = ()
        """Provisioned credentials (submitter only, §9.8), kept current through rotations and
        dropped when the job ends; values are secret."""
        self._items: deque[JobEventMessage] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._outcome: JobEnded | BaseException | None = None
        self._ended = asyncio.Event()
        self._iterated = False
        self._autoprocess = False
        self._unmarked = 0
        self._tees: list[JobStream] = []  # same-session subscriptions to this job (§7.6)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(job_id={self.job_id!r}, status={self.status!r})"

    @property
    def status(self) -> JobStatus:
        """``pending``, ``running``, or the final status once ended (§7.3)."""
        return self._lifecycle.state

    @property
    def backlog(self) -> int:
        """Events received and not yet taken by the iterator."""
        return len(self._items)

    @property
    def done(self) -> bool:
        """True once the job ended (or the stream was cut off)."""
        return self._outcome is not None

    # -- fed by the client's reader (the interface the driver uses) ------------------------

    def add_view(self, view: JobStream) -> None:
        """Feed ``view`` (a same-session subscription to this job, §7.6) what this stream
        receives from now on."""
        self._tees.append(view)

    def remove_view(self, view: JobStream) -> bool:
        """Stop feeding ``view``; False when it was not fed by this stream."""
        if view in self._tees:
            self._tees.remove(view)
            return True
        return False

    def feed_event(self, msg: JobEventMessage) -> None:
        """The client's reader hands over one ``job.event`` of this job (§8)."""
        self._items.append(msg)
        payload = msg.payload
        if type(payload) is ProgressEvent:
            self.progress = payload.body
        elif type(payload) is MetricEvent:
            body = payload.body
            if body.name == "cost.budget.remaining" and body.unit is not None:
                self.budget = dict(self.budget or {}, **{body.unit: float(body.value)})
        elif type(payload) is StatusEvent and payload.body.phase == "credential_rotated":
            self._rotated(payload.body.credential_id, payload.body.credential_value)
        if self._lifecycle.state == "pending":
            fire(self._lifecycle, "running")
        if self._autoprocess:
            self._owner.processed(msg.event_seq)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        if self._tees:
            for tee in self._tees:
                tee.feed_event(msg)

    def _rotated(self, credential_id: str | None, value: str | None) -> None:
        if value is not None:  # §9.8.2: only the submitter is sent the new value
            self.credentials = tuple(
                c.rotated(value) if c.id == credential_id else c for c in self.credentials
            )

    def feed_outcome(self, outcome: JobEnded | BaseException) -> None:
        """The job ended (§7.3), or the stream was cut off (``outcome`` is the error)."""
        if self._outcome is not None:
            return
        self._outcome = outcome
        if isinstance(outcome, JobEnded):
            final = outcome.message.payload.final_status
            if JOB.allows(self._lifecycle.state, final):  # a subscription may start terminal
                fire(self._lifecycle, final)
            if self._autoprocess:
                self._owner.processed(outcome.message.event_seq)
        self._ended.set()
        for tee in self._tees:
            tee.feed_outcome(outcome)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- the application's side ------------------------------------------------------------

    def __aiter__(self) -> JobStream:
        self._iterated = True
        return self

    async def __anext__(self) -> JobEventMessage:
        """The next event; ends after the terminal message. Raises ``ConnectionLostError`` or
        ``ResumeWindowExpiredError`` if the stream is cut off before that."""
        while True:
            items = self._items
            if items:
                msg = items.popleft()
                self._unmarked += 1
                if not items or self._unmarked >= _MARK_EVERY:
                    # Acks are rate-limited anyway (§6.5): mark progress in batches.
                    self._unmarked = 0
                    self._owner.processed(msg.event_seq)
                return msg
            outcome = self._outcome
            if outcome is not None:
                if isinstance(outcome, JobEnded):
                    self._owner.processed(outcome.message.event_seq)
                elif not isinstance(outcome, UnsubscribedError):
                    raise outcome  # the stream was cut off before the job ended
                raise StopAsyncIteration
            waiter = self._waiter
            if waiter is None:
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter

    async def result(self, timeout: float | None = None) -> Any:
        """The job's result: inline, or reassembled from ``result_chunk`` events (``str`` for
        utf8, ``bytes`` for base64, §8.4). Raises the typed ``ARCPError`` the job ended with
        (e.g. ``JobCancelledError``). Does not take events from an iterator.

        ``timeout`` (seconds, default none: a job runs as long as it runs) raises
        :class:`~arcp.errors.RequestTimeoutError` when the job has not ended by then; the job
        keeps running and ``result()`` may be awaited again."""
        if not self._iterated:
            # Nobody reads the events: count them as processed so auto-acks keep flowing.
            self._autoprocess = True
            if self._items:
                self._owner.processed(self._items[-1].event_seq)
        await self.wait(timeout)
        outcome = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        if self._autoprocess:
            self._owner.processed(outcome.message.event_seq)
        if outcome.error is not None:
            raise outcome.error
        return outcome.result

    async def wait(self, timeout: float | None = None) -> None:
        """Wait until the job ended, without raising its error; ``timeout`` as in
        :meth:`result`."""
        if timeout is None or self._ended.is_set():
            await self._ended.wait()
            return
        try:
            async with asyncio.timeout(timeout):
                await self._ended.wait()
        except TimeoutError:
            raise RequestTimeoutError("result", timeout) from None


class JobHandle(JobStream):
    """A job this session submitted (§7.1); the only kind that may be cancelled (§7.4)."""

    def __init__(
        self, owner: StreamOwner, accepted: JobAcceptedPayload, trace_id: str | None
    ) -> None:
        super().__init__(
            owner,
            accepted.job_id,
            agent=accepted.agent,
            lease=accepted.lease.model_dump(by_alias=True, exclude_none=True),
            trace_id=accepted.trace_id or trace_id,
            status="pending",
        )
        self.accepted = accepted
        """The typed ``job.accepted`` payload (effective lease, budget, credentials)."""
        self.budget = dict(accepted.budget) if accepted.budget is not None else None
        self.credentials = tuple(
            ProvisionedCredential.from_wire(c) for c in accepted.credentials or ()
        )

    def feed_outcome(self, outcome: JobEnded | BaseException) -> None:
        super().feed_outcome(outcome)
        # §9.8.2: a client must not keep credential values beyond the job's lifetime.
        self.credentials = ()
        if self.accepted.credentials:
            self.accepted = self.accepted.model_copy(update={"credentials": None})

    async def cancel(self, reason: str | None = None, *, timeout: float | None = None) -> None:
        """Send ``job.cancel`` and wait for ``job.cancelled`` or the job's end, whichever
        comes first (§7.4); the job then ends with ``JobCancelledError``. Does nothing if
        the job already ended. Raises a refusal, or ``RequestTimeoutError`` after
        ``timeout`` (default: the client's ``request_timeout``)."""
        if self.done:
            return
        request = asyncio.ensure_future(self._owner.cancel_job(self.job_id, reason, timeout))
        ended = asyncio.ensure_future(self._ended.wait())
        try:
            await asyncio.wait((request, ended), return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            if not request.done():
                request.cancel()  # the job ended: stop waiting for job.cancelled
        if request.done() and not request.cancelled():
            error = request.exception()
            if error is not None and not self.done:
                raise error


class Subscription(JobStream):
    """A job observed through ``job.subscribe`` (§7.6): events and result, no cancel."""

    def __init__(self, owner: StreamOwner, subscribed: JobSubscribedPayload) -> None:
        super().__init__(
            owner,
            subscribed.job_id,
            agent=subscribed.agent,
            lease=subscribed.lease.model_dump(by_alias=True, exclude_none=True),
            trace_id=subscribed.trace_id,
            status=subscribed.current_status,
        )
        self.subscribed = subscribed
        """The typed ``job.subscribed`` payload (the authority descriptor)."""
        self.budget = dict(subscribed.budget) if subscribed.budget is not None else None

    async def unsubscribe(self, *, timeout: float | None = None) -> None:
        """Send ``job.unsubscribe`` (§7.6); iteration ends and ``result()`` raises
        :class:`UnsubscribedError` unless the job already ended. ``timeout`` bounds sending
        it (there is no answer)."""
        if self.done:
            return
        await self._owner.unsubscribe(self, timeout)
        self.feed_outcome(UnsubscribedError(f"unsubscribed from {self.job_id}"))
