"""The asyncio half of the client: reader task, routing, timers, reconnect-and-resume (§6.3).

:class:`ClientDriver` owns the transport and the one reader task. It feeds what arrives (all
frames of one transport read at once), the passing of time and its requests' frames through
the sans-IO :class:`~arcp.protocol.client_session.ClientSession`'s one door, and carries out
each :class:`~arcp.protocol.client_step.Step` in one place (:meth:`ClientDriver._execute`):
send its frames, route its outputs, arm the timer at its deadline. The public
request API is :class:`arcp.client.Client`, which owns one driver and talks to it through its
public methods. Job streams talk to it through :class:`~arcp.client.handle.StreamOwner`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from arcp.client.connection import ConnectionFactory, ReconnectPolicy, redial
from arcp.client.errors import (
    ConnectionLostError,
    ReconnectFailedError,
    RequestTimeoutError,
)
from arcp.client.handle import JobHandle, Subscription
from arcp.client.routing import JobRouter
from arcp.protocol.client_events import (
    ConnectionBroken,
    JobEnded,
    RequestFailed,
    Response,
    SessionClosed,
    SessionFailed,
    SessionOutput,
    SubscriptionDropped,
    Welcomed,
)
from arcp.protocol.client_session import ClientSession, ClientState
from arcp.protocol.client_step import Step
from arcp.transport.base import Transport, TransportClosed
from arcp_gen.messages import (
    JobAcceptedMessage,
    JobEventMessage,
    JobSubscribedMessage,
)
from arcp_gen.models import JobAcceptedPayload

__all__ = ["ClientDriver"]

_log = logging.getLogger("arcp.client")

_BATCH = 64  # frames fed to the session at once; the loop gets a turn between batches


class ClientDriver:
    """Runs one :class:`ClientSession` over a transport that may be replaced on reconnect."""

    def __init__(
        self,
        session: ClientSession,
        transport: Transport,
        factory: ConnectionFactory | None,
        policy: ReconnectPolicy | None = None,
    ) -> None:
        self._session = session
        self._transport = transport
        self._factory = factory
        self._policy = policy or ReconnectPolicy()
        self._loop = asyncio.get_running_loop()
        self._jobs = JobRouter(self)
        self._waiters: dict[str, tuple[asyncio.Future[Any], str | None]] = {}
        self._send_lock = asyncio.Lock()
        self._outgoing: list[bytes] = []  # frames of steps taken, in order, not yet sent
        self._processed = session.requests.processed
        self._reader: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._welcome: asyncio.Future[None] = self._loop.create_future()
        self._closed_ack = asyncio.Event()
        self._close_timed_out = False
        self._closing = False
        self._closed_by_runtime = False
        self._down = False
        self._failure: BaseException | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def closed(self) -> bool:
        """True once the client stopped (closed, or the session could not continue)."""
        return self._down

    @property
    def session(self) -> ClientSession:
        """The sans-IO session this driver runs."""
        return self._session

    @property
    def transport(self) -> Transport:
        """The current transport (replaced on every reconnect)."""
        return self._transport

    def now(self) -> float:
        """The loop's monotonic clock: the ``now`` the session is fed."""
        return self._loop.time()

    # -- the client's jobs -----------------------------------------------------------------

    def handle(self, job_id: str) -> JobHandle | None:
        """The handle of a job this session submitted, running or recently ended."""
        return self._jobs.handle(job_id)

    def running_handles(self) -> list[JobHandle]:
        """The handles of submitted jobs that have not ended, oldest first."""
        return self._jobs.running_handles()

    def adopt(self, accepted: JobAcceptedPayload) -> JobHandle:
        """A handle for a job submitted by the session this client took over (§6.3)."""
        return self._jobs.adopt(accepted)

    # -- lifecycle -------------------------------------------------------------------------

    async def handshake(self, timeout: float | None) -> None:
        """Send ``session.hello`` and wait for the welcome; the session core fails the
        handshake at its deadline (``RequestTimeoutError``)."""
        self._session.start(self._loop.time(), timeout)
        await self._await_welcome("the handshake did not complete")

    async def take_over(self) -> None:
        """Continue a session another client left (§6.3): ``session.resume`` first (the
        legacy form once if unanswered); the session core bounds each attempt."""
        self._session.resume(self._loop.time())
        await self._await_welcome("the session could not be resumed")

    async def _await_welcome(self, failure: str) -> None:
        """Send what the core queued, start reading, and wait for the welcome; on any
        failure the client shuts down with ``failure`` and the error is re-raised."""
        try:
            await self.flush()
            self._reader = asyncio.create_task(self._read_loop(), name="arcp-client-reader")
            await asyncio.shield(self._welcome)
        except BaseException as exc:
            await self._shutdown(ConnectionLostError(f"{failure} ({type(exc).__name__})"))
            raise

    async def close(self, *, timeout: float | None = None) -> None:
        """Close the session (§6.7): ``session.close``, wait for ``session.closed``, close the
        transport. Jobs keep running on the runtime. Idempotent.

        Raises :class:`~arcp.errors.RequestTimeoutError` when the runtime did not confirm
        within ``timeout`` (default: the client's ``close_timeout``); the client is closed
        either way."""
        if self._down:
            return
        if not self._closing:
            self._closing = True
            if self._session.state is ClientState.OPEN:
                self._session.close(self._loop.time(), timeout=timeout)
                await self.flush()
                await self._closed_ack.wait()
        await self._shutdown(ConnectionLostError("the client was closed"))
        if self._close_timed_out:
            self._close_timed_out = False
            limit = self._session.close_timeout if timeout is None else timeout
            raise RequestTimeoutError("session.close", limit)

    async def _shutdown(self, error: BaseException) -> None:
        if self._down:
            return
        self._down = True
        self._failure = self._failure or error
        self._cancel_timer()
        if not self._welcome.done():
            self._welcome.set_exception(error)
            self._welcome.exception()  # retrieved by handshake; silence the loop's warning
        for future, _ in list(self._waiters.values()):
            if not future.done():
                future.set_exception(error)
        self._jobs.fail_all(error)
        self._session.fail(error)
        self._closed_ack.set()
        with contextlib.suppress(Exception):
            await self._transport.close()
        reader = self._reader
        if reader is not None and reader is not asyncio.current_task() and not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()

    def check_usable(self) -> None:
        if self._down or self._closing:
            raise ConnectionLostError("the client is closed")

    # -- requests --------------------------------------------------------------------------

    async def request(self, build: Callable[[float], str], trace_id: str | None = None) -> Any:
        """Send one request and wait for its answer; the session core fails it with
        ``RequestTimeoutError`` at its deadline, and the timer below fires then."""
        self.check_usable()
        request_id = build(self._loop.time())
        future: asyncio.Future[Any] = self._loop.create_future()
        self._waiters[request_id] = (future, trace_id)
        try:
            await self.flush()
            return await future
        finally:
            self._waiters.pop(request_id, None)
            if future.cancelled() or not future.done():
                self._session.requests.forget(request_id)  # the caller gave up (cancelled)

    async def cancel_job(
        self, job_id: str, reason: str | None, timeout: float | None = None
    ) -> None:
        await self.request(lambda now: self._session.requests.cancel(job_id, now, reason, timeout))

    async def subscribe(self, job_id: str, build: Callable[[float], str]) -> Subscription:
        self._jobs.early.setdefault(job_id, [])
        try:
            sub = await self.request(build)
        finally:
            self._jobs.early.pop(job_id, None)
        assert isinstance(sub, Subscription)
        return sub

    async def unsubscribe(self, sub: Subscription, timeout: float | None = None) -> None:
        """``job.unsubscribe`` has no answer (§7.6): only sending it can take time."""
        self.check_usable()
        if self._jobs.unsubscribed(sub):
            return  # a view of a job this session receives anyway: detached locally only
        self._session.requests.unsubscribe(sub.job_id, self._loop.time())
        limit = self._session.request_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                await self.flush()
        except TimeoutError:
            raise RequestTimeoutError("job.unsubscribe", limit) from None

    def processed(self, seq: int) -> None:
        """The application consumed events up to ``seq``; an ack may become due (§6.5)."""
        if self._processed(seq):
            self._arm(self._session.next_deadline())

    async def flush(self) -> None:
        """Send what requests and lifecycle calls made the session queue (a step with
        nothing arrived)."""
        await self._execute(self._session.receive_data((), self._loop.time()))

    # -- carrying out a step ---------------------------------------------------------------

    async def _execute(self, step: Step, *, taken: bool = False) -> None:
        """Carry out one step of the session, the only place that does: queue its frames and
        arm the timer at its deadline (:meth:`_take`, unless ``taken``), send, then act on
        its outputs in order: an event to its job's stream (the hot path), anything else
        through :meth:`_dispatch`."""
        if not taken:
            self._take(step)
        if self._outgoing:
            await self._send()
        for out in step.outputs:
            if type(out) is JobEventMessage:
                self._jobs.route(out)
            else:
                await self._dispatch(out)
                if type(out) is Response or type(out) is RequestFailed:
                    # Let the requester run now, before the outputs behind its answer (a
                    # job's first events, say) are routed.
                    await asyncio.sleep(0)
        if self._outgoing:
            await self._send()

    def _route_events(self, step: Step) -> bool:
        """Carry out, without a coroutine, a step that sends nothing and holds job events
        only (the hot path); False, having done nothing, for any other step."""
        if step.frames or self._outgoing:
            return False
        outputs = step.outputs
        for out in outputs:
            if type(out) is not JobEventMessage:
                return False
        self._arm(step.deadline)
        route = self._jobs.route
        for out in outputs:
            route(cast(JobEventMessage, out))
        return True

    def _take(self, step: Step) -> None:
        """The synchronous half of :meth:`_execute`: queue the frames (in step order) and arm
        the timer."""
        if step.frames:
            self._outgoing += step.frames
        self._arm(step.deadline)

    async def _send(self) -> None:
        """Send every queued frame, in order, under the send lock."""
        async with self._send_lock:
            frames, self._outgoing = self._outgoing, []
            if not frames:
                return
            transport = self._transport
            try:
                if len(frames) == 1:
                    await transport.send(frames[0])
                else:
                    send_many = getattr(transport, "send_many", None)
                    if send_many is not None:
                        await send_many(frames)
                    else:
                        for frame in frames:
                            await transport.send(frame)
            except TransportClosed:
                _log.debug("send failed: the transport is closed")

    # -- reading and routing ---------------------------------------------------------------

    async def _read_loop(self) -> None:
        # What arrived goes through the session's door in batches: the frames that already
        # arrived are taken at once where the transport offers `recv_ready`, so a backlog
        # costs no coroutine per frame, and fed _BATCH at a time, yielding to the loop
        # between batches so consumers drain the decoded events before more pile up (a pile
        # of live events makes every GC pass slower). `recv` and `ready` are re-read after a
        # reconnect.
        receive = self._session.receive_data
        execute = self._execute
        route_events = self._route_events
        now = self._loop.time
        recv, ready = self._receivers()
        count = 0
        try:
            while True:
                frames = ready() if ready is not None else None
                if not frames:
                    try:
                        frames = (await recv(),)
                    except TransportClosed:
                        if await self._connection_lost():
                            recv, ready = self._receivers()
                            continue
                        return
                if len(frames) <= _BATCH:
                    step = receive(frames, now())
                    if not route_events(step):
                        await execute(step)
                    count += len(frames)
                    if count >= _BATCH:
                        count = 0
                        await asyncio.sleep(0)
                    continue
                for start in range(0, len(frames), _BATCH):
                    await execute(receive(frames[start : start + _BATCH], now()))
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.exception("the client reader failed")
            await self._shutdown(ConnectionLostError(f"the client reader failed: {exc!r}"))

    def _receivers(
        self,
    ) -> tuple[Callable[[], Awaitable[bytes]], Callable[[], Sequence[bytes]] | None]:
        """The transport's ``recv`` and, where offered, its ``recv_ready`` (the frames that
        already arrived, taken without waiting)."""
        transport = self._transport
        ready: Callable[[], Sequence[bytes]] | None = getattr(transport, "recv_ready", None)
        recv: Callable[[], Awaitable[bytes]] = transport.recv
        return recv, ready

    async def _dispatch(self, out: SessionOutput) -> None:
        if isinstance(out, Response):
            self._on_response(out)
        elif isinstance(out, RequestFailed):
            entry = self._waiters.get(out.request_id)
            if entry is not None and not entry[0].done():
                entry[0].set_exception(out.error)
        elif isinstance(out, JobEnded):
            self._jobs.ended(out)
        elif isinstance(out, SubscriptionDropped):
            self._jobs.dropped(out)
        elif isinstance(out, Welcomed):
            self._on_welcomed(out)
        elif isinstance(out, ConnectionBroken):
            _log.warning("connection broken (%s); resuming", out.error)
            await self._send()
            drop = getattr(self._transport, "drop", None)  # an abrupt cut, where offered
            if callable(drop):
                drop()
            else:
                await self._transport.close()
        elif isinstance(out, SessionFailed):
            # Before the welcome the error is raised from connect(): no need to log it loudly.
            level = logging.WARNING if self._welcome.done() else logging.DEBUG
            _log.log(level, "session failed: %s: %s", type(out.error).__name__, out.error)
            await self._shutdown(out.error)
        elif isinstance(out, SessionClosed):
            self._close_timed_out = out.timed_out
            if not self._closing:
                self._closing = True
                self._closed_by_runtime = True
                _log.info("the runtime closed the session")
            self._closed_ack.set()

    def _on_response(self, out: Response) -> None:
        entry = self._waiters.get(out.request_id)
        msg = out.message
        result: Any = msg
        if isinstance(msg, JobAcceptedMessage):
            trace_id = entry[1] if entry is not None else None
            result = self._jobs.accepted(msg, trace_id, wanted=entry is not None)
        elif isinstance(msg, JobSubscribedMessage) and entry is not None:
            result = self._jobs.subscribed(msg)
        if entry is not None and not entry[0].done():
            entry[0].set_result(result)

    def _on_welcomed(self, out: Welcomed) -> None:
        if not self._welcome.done():  # the first welcome: a new session, or a taken-over one
            self._welcome.set_result(None)
        if out.resumed:
            _log.info("session resumed at event_seq %d", self._session.last_event_seq)
            for request_id in out.interrupted:
                entry = self._waiters.get(request_id)
                if entry is not None and not entry[0].done():
                    entry[0].set_exception(
                        ConnectionLostError(
                            "the connection dropped while the request was in flight; "
                            "it was not repeated"
                        )
                    )

    async def _connection_lost(self) -> bool:
        """The transport closed: reconnect and resume if possible; False to stop reading."""
        self._cancel_timer()
        if self._closing or self._down:
            why = (
                "the runtime closed the session"
                if self._closed_by_runtime
                else "the client was closed"
            )
            await self._shutdown(ConnectionLostError(why))
            return False
        if not self._session.connection_lost() or self._factory is None:
            await self._shutdown(ConnectionLostError("the connection to the runtime was lost"))
            return False
        self._arm(self._session.next_deadline())  # requests keep their deadlines while we dial
        transport = await self._redial(self._factory)
        if transport is None:
            return False
        self._transport = transport
        self._session.resume(self._loop.time())
        await self.flush()
        return True

    async def _redial(self, factory: ConnectionFactory) -> Transport | None:
        """Dial again under the reconnect policy; on giving up, end the client with
        :class:`ReconnectFailedError` and return None."""
        transport, attempts = await redial(factory, self._policy, self._loop.time)
        if transport is None:
            await self._shutdown(
                ReconnectFailedError(f"could not reconnect to the runtime ({attempts} attempts)")
            )
        return transport

    # -- timers (§6.4, §6.5, request deadlines) -----------------------------------------------

    def _arm(self, deadline: float | None) -> None:
        """Have :meth:`_on_timer` run at ``deadline`` (a step's), or never."""
        if deadline is None:
            self._cancel_timer()
            return
        if self._timer is not None and self._timer_at <= deadline:
            return
        self._cancel_timer()
        self._timer_at = deadline
        self._timer = self._loop.call_at(max(deadline, 0.0), self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = math.inf

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        if self._down:
            return
        step = self._session.advance(self._loop.time())
        self._take(step)  # now, so its frames keep their place before later steps'
        if step.outputs or self._outgoing:
            self._spawn(self._execute(step, taken=True))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
