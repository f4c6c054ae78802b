"""The asyncio ARCP client (§6-§8): the request API over a :class:`ClientDriver`, which runs
the sans-IO ``ClientSession``.

One reader task reads the transport, feeds the session and routes what comes out: job events
into their handle's queue, responses to the waiting request, terminal messages to handles.
Timers (heartbeat §6.4, auto-ack §6.5) are one ``loop.call_at`` at the session's next
deadline. A dropped connection, a seq gap (§8.3) or ``HEARTBEAT_LOST`` is repaired by dialling
again and sending ``session.resume`` (§6.3); handles see every event exactly once.

No call waits forever: every request has a deadline (``request_timeout`` per client, ``timeout=``
per call) and fails with :class:`~arcp.errors.RequestTimeoutError` when it passes, leaving the
session usable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl as _ssl
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from arcp._version import __version__
from arcp.client.connection import ConnectionFactory, ReconnectPolicy, Target, resolve_target
from arcp.client.driver import ClientDriver
from arcp.client.handle import JobHandle, Subscription
from arcp.client.ticket import SessionTicket
from arcp.ids import utc_timestamp
from arcp.protocol.client_liveness import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RESUME_TIMEOUT,
)
from arcp.protocol.client_session import ALL_FEATURES, ClientSession, ClientState
from arcp.sdk_errors import RequestTimeoutError
from arcp.transport.base import Transport
from arcp_gen.errors import ARCPException
from arcp_gen.features import Feature
from arcp_gen.messages import SessionJobsMessage
from arcp_gen.models import AgentInfo, JobStatus, JobSummary, PeerInfo

__all__ = ["Client", "Connecting"]

_log = logging.getLogger("arcp.client")

_RECONNECTING = frozenset({ClientState.BROKEN, ClientState.DETACHED, ClientState.RESUMING})


class Connecting:
    """What :meth:`Client.connect` returns: await it for a :class:`Client`, or use it as
    ``async with`` (the client is closed on exit)."""

    def __init__(self, open_client: Callable[[], Coroutine[Any, Any, Client]]) -> None:
        self._open = open_client
        self._client: Client | None = None

    def __await__(self) -> Generator[Any, None, Client]:
        return self._open().__await__()

    async def __aenter__(self) -> Client:
        self._client = await self._open()
        return self._client

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.__aexit__(et, e, tb)


class Client:
    """A connected ARCP session. Create it with :meth:`connect`."""

    @classmethod
    def connect(
        cls,
        target: Target,
        *,
        token: str | None = None,
        features: Iterable[Feature] | None = None,
        client_name: str = "arcp-python",
        client_version: str | None = None,
        auto_ack: bool = True,
        reconnect: bool | ReconnectPolicy = True,
        heartbeat: bool = True,
        connect_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        resume_timeout: float = DEFAULT_RESUME_TIMEOUT,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        ssl: _ssl.SSLContext | None = None,
        cancel_on_exit: bool = False,
    ) -> Connecting:
        """Open a transport to ``target`` and complete the handshake (§6.2).

        ``target`` is a ``ws://``/``wss://`` URL, a connected transport, or a
        :data:`ConnectionFactory`; only URLs and factories can reconnect. ``features``
        defaults to all 11 flags; ``heartbeat=False`` leaves out ``heartbeat``.

        Deadlines, in seconds (``math.inf`` for none): ``connect_timeout`` for dialling and
        for the welcome, ``request_timeout`` the default of every request's ``timeout=``,
        ``resume_timeout`` for each resume attempt (§6.3), ``close_timeout`` for
        ``session.closed``. ``reconnect`` is False, True (the default
        :class:`ReconnectPolicy`) or a policy. ``ssl`` is the TLS context for ``wss://``.

        Raises the runtime's ``ARCPError`` (e.g. ``UnauthenticatedError``) if the handshake
        fails, :class:`~arcp.errors.RequestTimeoutError` if it gets no answer in time.
        ``cancel_on_exit`` sets :attr:`cancel_on_exit`.
        """
        if isinstance(features, str):  # never iterate a string: "heartbeat" is not 9 features
            raise TypeError("features must be a collection of feature names, not a string")
        wanted = set(ALL_FEATURES if features is None else (Feature(f) for f in features))
        if not heartbeat:
            wanted.discard(Feature.HEARTBEAT)
        policy = reconnect if isinstance(reconnect, ReconnectPolicy) else ReconnectPolicy()
        transport, factory = resolve_target(target, ssl=ssl)

        async def open_client() -> Client:
            session = ClientSession(
                token=token,
                features=wanted,
                client_name=client_name,
                client_version=client_version or _version(),
                auto_ack=auto_ack,
                request_timeout=request_timeout,
                handshake_timeout=connect_timeout,
                resume_timeout=resume_timeout,
                close_timeout=close_timeout,
                wall_offset=_wall_offset(),
            )
            opened = await _dial(transport, factory, connect_timeout)
            client = cls(session, opened, factory if reconnect else None, policy)
            client.cancel_on_exit = cancel_on_exit
            await client._driver.handshake(None)
            return client

        return Connecting(open_client)

    @classmethod
    def resume(
        cls,
        target: Target,
        ticket: SessionTicket,
        *,
        features: Iterable[Feature] | None = None,
        client_name: str = "arcp-python",
        client_version: str | None = None,
        auto_ack: bool = True,
        reconnect: bool | ReconnectPolicy = True,
        connect_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        resume_timeout: float = DEFAULT_RESUME_TIMEOUT,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        ssl: _ssl.SSLContext | None = None,
        cancel_on_exit: bool = False,
    ) -> Connecting:
        """Continue, in this process, the session a :class:`SessionTicket` describes (§6.3).

        Sends ``session.resume`` with the ticket's token and ``last_event_seq``; the runtime
        replays what the session missed. The ticket's jobs get their :class:`JobHandle`
        back (:meth:`job`), with the cancel authority of the submitting session (§7.4,
        §7.7). Raises ``ResumeWindowExpiredError`` when the runtime no longer holds the
        session or its events, ``ResumeFailedError`` when it answers no form of resume
        within ``resume_timeout``. Other options as in :meth:`connect`.
        """
        wanted = set(ALL_FEATURES if features is None else (Feature(f) for f in features))
        policy = reconnect if isinstance(reconnect, ReconnectPolicy) else ReconnectPolicy()
        transport, factory = resolve_target(target, ssl=ssl)

        async def open_client() -> Client:
            opened = await _dial(transport, factory, connect_timeout)
            session = ClientSession(
                features=wanted,
                client_name=client_name,
                client_version=client_version or _version(),
                auto_ack=auto_ack,
                request_timeout=request_timeout,
                handshake_timeout=connect_timeout,
                resume_timeout=resume_timeout,
                close_timeout=close_timeout,
                wall_offset=_wall_offset(),
            )
            session.restore(ticket.session_id, ticket.resume_token, ticket.last_event_seq)
            client = cls(session, opened, factory if reconnect else None, policy)
            client.cancel_on_exit = cancel_on_exit
            for accepted in ticket.jobs:
                client._driver.adopt(accepted)
            await client._driver.take_over()
            return client

        return Connecting(open_client)

    def __init__(
        self,
        session: ClientSession,
        transport: Transport,
        factory: ConnectionFactory | None,
        policy: ReconnectPolicy | None = None,
    ) -> None:
        self._session = session
        self._driver = ClientDriver(session, transport, factory, policy)
        self.cancel_on_exit = False
        """What leaving ``async with`` does to jobs this session submitted that still run:
        ``False`` (the default) leaves them running on the runtime, resumable within the
        resume window (§6.7; see :meth:`session_ticket`); ``True`` cancels each (§7.4) and
        waits for the runtime's confirmation before closing."""

    def __repr__(self) -> str:
        features = ",".join(sorted(f.value for f in self.features))
        return (
            f"Client(session_id={self.session_id!r}, state={self._session.state.value!r}, "
            f"features=[{features}])"
        )

    async def __aenter__(self) -> Client:
        return self

    @property
    def closed(self) -> bool:
        """True once the client stopped (closed, or the session could not continue)."""
        return self._driver.closed

    async def close(self, *, timeout: float | None = None) -> None:
        """Close the session (§6.7): ``session.close``, wait for ``session.closed``, close the
        transport. Jobs keep running on the runtime. Idempotent.

        Raises :class:`~arcp.errors.RequestTimeoutError` when the runtime did not confirm
        within ``timeout`` (default: the client's ``close_timeout``); the client is closed
        either way."""
        await self._driver.close(timeout=timeout)

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._exit()

    async def _exit(self) -> None:
        """Leave ``async with``: cancel running jobs if :attr:`cancel_on_exit`, close, and
        only log a close the runtime did not confirm (it is closed on our side either way)."""
        if self.cancel_on_exit:
            await self.cancel_running()
        try:
            await self.close()
        except RequestTimeoutError as exc:
            _log.warning("%s; the connection was closed anyway", exc)

    async def cancel_running(self, reason: str | None = None) -> None:
        """Cancel every job this session submitted that has not ended (§7.4)."""
        for handle in self._driver.running_handles():
            with contextlib.suppress(ARCPException):  # refused, timed out, or gone
                await handle.cancel(reason or "the client left with cancel_on_exit")

    def job(self, job_id: str) -> JobHandle | None:
        """The handle of a job this session submitted (or resumed with), if it is running or
        ended recently; None otherwise."""
        return self._driver.handle(job_id)

    def session_ticket(self) -> SessionTicket:
        """What another process needs to continue this session with :meth:`resume` (§6.3):
        the session id, the current resume token (a secret), the last ``event_seq`` seen and
        the submitted jobs that have not ended. Close this client (or let it go) before the
        ticket is used: the runtime hands the session to the newest connection."""
        token = self._session.resume_token
        session_id = self._session.session_id
        if token is None or session_id is None:
            raise RuntimeError("the session has no resume token yet")
        jobs = tuple(
            h.accepted.model_copy(update={"credentials": None})
            for h in self._driver.running_handles()
        )
        return SessionTicket(session_id, token, self._session.last_event_seq, jobs)

    @property
    def reconnecting(self) -> bool:
        """True while the connection is down and the client is resuming the session (§6.3)."""
        return self._session.state in _RECONNECTING

    # -- session facts (§6.2) --------------------------------------------------------------

    @property
    def session_id(self) -> str | None:
        """The session id the runtime assigned."""
        return self._session.session_id

    @property
    def features(self) -> frozenset[Feature]:
        """The effective feature set (hello ∩ welcome, §6.2)."""
        return self._session.features

    @property
    def agents(self) -> tuple[AgentInfo, ...]:
        """The runtime's agent inventory from the welcome (§7.5)."""
        return self._session.agents

    @property
    def runtime_info(self) -> PeerInfo | None:
        """The runtime's name and version."""
        return self._session.runtime_info

    @property
    def last_event_seq(self) -> int:
        """The highest ``event_seq`` received (§8.3)."""
        return self._session.last_event_seq

    # -- requests --------------------------------------------------------------------------

    async def submit(
        self,
        agent: str,
        input: Any = None,
        *,
        lease: Mapping[str, list[str]] | None = None,
        lease_constraints: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        max_runtime_sec: float | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
    ) -> JobHandle:
        """Submit a job (§7.1) and return its handle once ``job.accepted`` arrived.

        Raises the runtime's error, e.g. ``AgentNotAvailableError`` or ``DuplicateKeyError``,
        or ``RequestTimeoutError`` after ``timeout`` (default ``request_timeout``); a submit
        that timed out may still have started a job: use ``idempotency_key`` to retry it.
        """
        trace = trace_id or _new_trace_id()
        handle = await self._driver.request(
            lambda now: self._session.requests.submit(
                agent,
                input,
                now=now,
                lease=lease,
                lease_constraints=lease_constraints,
                idempotency_key=idempotency_key,
                max_runtime_sec=max_runtime_sec,
                trace_id=trace,
                timeout=timeout,
            ),
            trace,
        )
        assert isinstance(handle, JobHandle)
        return handle

    async def cancel(
        self, job_id: str, reason: str | None = None, *, timeout: float | None = None
    ) -> None:
        """Cancel a job this session submitted (§7.4); returns on ``job.cancelled``.
        Raises the refusal (``PermissionDeniedError``, ``JobNotFoundError``) or
        ``RequestTimeoutError`` after ``timeout`` (default ``request_timeout``)."""
        await self._driver.cancel_job(job_id, reason, timeout)

    async def subscribe(
        self,
        job_id: str,
        *,
        history: bool = True,
        from_event_seq: int | None = 0,
        timeout: float | None = None,
    ) -> Subscription:
        """Observe a job, replaying buffered history after ``from_event_seq`` (§7.6).
        ``timeout`` (default ``request_timeout``) bounds the wait for ``job.subscribed``."""
        return await self._driver.subscribe(
            job_id,
            lambda now: self._session.requests.subscribe(
                job_id,
                now,
                history=history,
                from_event_seq=from_event_seq if history else None,
                timeout=timeout,
            ),
        )

    def list_jobs(
        self,
        status: JobStatus | Iterable[JobStatus] | None = None,
        agent: str | None = None,
        created_after: str | datetime | None = None,
        page_size: int = 100,
        *,
        timeout: float | None = None,
    ) -> AsyncIterator[JobSummary]:
        """Iterate over the jobs this principal may observe, page by page (§6.6).
        ``timeout`` (default ``request_timeout``) bounds the wait for each page."""
        self._session.requests.require(Feature.LIST_JOBS, "list_jobs")
        filter_: dict[str, Any] = {}
        if status is not None:
            filter_["status"] = [status] if isinstance(status, str) else list(status)
        if agent is not None:
            filter_["agent"] = agent
        if created_after is not None:
            filter_["created_after"] = (
                utc_timestamp(created_after)
                if isinstance(created_after, datetime)
                else created_after
            )
        return self._pages(filter_, page_size, timeout)

    async def _pages(
        self, filter_: dict[str, Any], page_size: int, timeout: float | None
    ) -> AsyncIterator[JobSummary]:
        cursor: str | None = None
        while True:
            msg = await self._driver.request(
                self._page_request(filter_, page_size, cursor, timeout)
            )
            assert isinstance(msg, SessionJobsMessage)
            for job in msg.payload.jobs:
                yield job
            cursor = msg.payload.next_cursor
            if not cursor:
                return

    def _page_request(
        self, filter_: dict[str, Any], page_size: int, cursor: str | None, timeout: float | None
    ) -> Callable[[float], str]:
        return lambda now: self._session.requests.list_jobs(
            now, filter=filter_, limit=page_size, cursor=cursor, timeout=timeout
        )

    async def ack(self, last_processed_seq: int) -> None:
        """Tell the runtime every event up to ``last_processed_seq`` was processed (§6.5)."""
        self._driver.check_usable()
        self._session.requests.ack(last_processed_seq, self._driver.now())
        await self._driver.flush()


async def _dial(
    transport: Transport | None, factory: ConnectionFactory | None, timeout: float
) -> Transport:
    """The connected transport: ``transport`` itself, or a new one from ``factory`` within
    ``timeout`` (:class:`~arcp.errors.RequestTimeoutError` past it)."""
    if transport is not None:
        return transport
    assert factory is not None
    try:
        async with asyncio.timeout(timeout):
            return await factory()
    except TimeoutError:
        raise RequestTimeoutError("connect", timeout) from None


def _version() -> str:
    return __version__


def _new_trace_id() -> str:
    """A fresh W3C trace-id (32 lowercase hex) for a job that was given none (§11)."""
    return os.urandom(16).hex()


def _wall_offset() -> float:
    """UTC epoch seconds minus the event loop's clock: what the sans-IO session adds to the
    ``now`` it is given to date pings and pongs (§6.4)."""
    return time.time() - asyncio.get_running_loop().time()
