"""The asyncio ARCP client (§6-§8), a thin driver around the sans-IO ``ClientSession``.

One reader task reads the transport, feeds the session and routes what comes out: job events
into their handle's queue, responses to the waiting request, terminal messages to handles.
Timers (heartbeat §6.4, auto-ack §6.5) are one ``loop.call_at`` at the session's next
deadline. A dropped connection, a seq gap (§8.3) or ``HEARTBEAT_LOST`` is repaired by dialling
again and sending ``session.resume`` (§6.3); handles see every event exactly once.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from arcp.client.connection import ConnectionFactory, Target, resolve_target
from arcp.client.driver import ClientDriver
from arcp.client.handle import JobHandle, Subscription
from arcp.client.ticket import SessionTicket
from arcp.ids import utc_timestamp
from arcp.protocol.client_session import ALL_FEATURES, ClientSession, ClientState
from arcp.transport.base import Transport
from arcp_gen.errors import ARCPError
from arcp_gen.features import Feature
from arcp_gen.messages import SessionJobsMessage
from arcp_gen.models import AgentInfo, JobSummary, PeerInfo

__all__ = ["Client"]

_log = logging.getLogger("arcp.client")

_RECONNECTING = frozenset({ClientState.BROKEN, ClientState.DETACHED, ClientState.RESUMING})


class _Connect:
    """``Client.connect(...)``: await it for a client, or use it as ``async with``."""

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


class Client(ClientDriver):
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
        reconnect: bool = True,
        heartbeat: bool = True,
        connect_timeout: float = 30.0,
        cancel_on_exit: bool = False,
    ) -> _Connect:
        """Open a transport to ``target`` and complete the handshake (§6.2).

        ``target`` is a ``ws://``/``wss://`` URL, a connected transport, or a
        :data:`ConnectionFactory`; only URLs and factories can reconnect. ``features``
        defaults to all 11 flags; ``heartbeat=False`` leaves out ``heartbeat``. Raises the
        runtime's ``ARCPError`` (e.g. ``UnauthenticatedError``) if the handshake fails.
        ``cancel_on_exit`` sets :attr:`cancel_on_exit`.
        """
        if isinstance(features, str):  # never iterate a string: "heartbeat" is not 9 features
            raise TypeError("features must be a collection of feature names, not a string")
        wanted = set(ALL_FEATURES if features is None else (Feature(f) for f in features))
        if not heartbeat:
            wanted.discard(Feature.HEARTBEAT)

        async def open_client() -> Client:
            if client_version is None:
                import arcp

                version = arcp.__version__
            else:
                version = client_version
            transport, factory = resolve_target(target)
            if transport is None:
                assert factory is not None
                transport = await factory()
            session = ClientSession(
                token=token,
                features=wanted,
                client_name=client_name,
                client_version=version,
                auto_ack=auto_ack,
            )
            client = cls(session, transport, factory if reconnect else None)
            client.cancel_on_exit = cancel_on_exit
            await client._handshake(connect_timeout)  # pyright: ignore[reportPrivateUsage]
            return client

        return _Connect(open_client)

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
        reconnect: bool = True,
        connect_timeout: float = 30.0,
        cancel_on_exit: bool = False,
    ) -> _Connect:
        """Continue, in this process, the session a :class:`SessionTicket` describes (§6.3).

        Sends ``session.resume`` with the ticket's token and ``last_event_seq``; the runtime
        replays what the session missed. The ticket's jobs get their :class:`JobHandle`
        back (:meth:`job`), with the cancel authority of the submitting session (§7.4,
        §7.7). Raises ``ResumeWindowExpiredError`` when the runtime no longer holds the
        session or its events.
        """
        wanted = set(ALL_FEATURES if features is None else (Feature(f) for f in features))

        async def open_client() -> Client:
            import arcp

            transport, factory = resolve_target(target)
            if transport is None:
                assert factory is not None
                transport = await factory()
            session = ClientSession(
                features=wanted,
                client_name=client_name,
                client_version=client_version or arcp.__version__,
                auto_ack=auto_ack,
            )
            session.restore(ticket.session_id, ticket.resume_token, ticket.last_event_seq)
            client = cls(session, transport, factory if reconnect else None)
            client.cancel_on_exit = cancel_on_exit
            for accepted in ticket.jobs:
                client._streams[accepted.job_id] = JobHandle(client, accepted, accepted.trace_id)  # pyright: ignore[reportPrivateUsage]
            await client._take_over(connect_timeout)  # pyright: ignore[reportPrivateUsage]
            return client

        return _Connect(open_client)

    def __init__(
        self, session: ClientSession, transport: Transport, factory: ConnectionFactory | None
    ) -> None:
        super().__init__(session, transport, factory)
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

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.cancel_on_exit:
            await self.cancel_running()
        await self.close()

    async def cancel_running(self, reason: str | None = None) -> None:
        """Cancel every job this session submitted that has not ended (§7.4)."""
        running = [s for s in self._streams.values() if isinstance(s, JobHandle) and not s.done]
        for handle in running:
            with contextlib.suppress(ARCPError, ConnectionError):
                await handle.cancel(reason or "the client left with cancel_on_exit")

    def job(self, job_id: str) -> JobHandle | None:
        """The handle of a job this session submitted (or resumed with), if it is running or
        ended recently; None otherwise."""
        stream = self._streams.get(job_id) or self._finished.get(job_id)
        return stream if isinstance(stream, JobHandle) else None

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
            s.accepted.model_copy(update={"credentials": None})
            for s in self._streams.values()
            if isinstance(s, JobHandle) and not s.done
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
    ) -> JobHandle:
        """Submit a job (§7.1) and return its handle once ``job.accepted`` arrived.

        Raises the runtime's error, e.g. ``AgentNotAvailableError`` or ``DuplicateKeyError``.
        """
        trace = trace_id or _new_trace_id()
        handle = await self._request(
            lambda now: self._session.submit(
                agent,
                input,
                now=now,
                lease=lease,
                lease_constraints=lease_constraints,
                idempotency_key=idempotency_key,
                max_runtime_sec=max_runtime_sec,
                trace_id=trace,
            ),
            trace,
        )
        assert isinstance(handle, JobHandle)
        return handle

    async def cancel(self, job_id: str, reason: str | None = None) -> None:
        """Cancel a job this session submitted (§7.4); returns on ``job.cancelled``."""
        await self._cancel_job(job_id, reason)

    async def subscribe(
        self, job_id: str, *, history: bool = True, from_event_seq: int | None = 0
    ) -> Subscription:
        """Observe a job, replaying buffered history after ``from_event_seq`` (§7.6)."""
        return await self._subscribe(
            job_id,
            lambda now: self._session.subscribe(
                job_id,
                now,
                history=history,
                from_event_seq=from_event_seq if history else None,
            ),
        )

    def list_jobs(
        self,
        status: str | Iterable[str] | None = None,
        agent: str | None = None,
        created_after: str | datetime | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[JobSummary]:
        """Iterate over the jobs this principal may observe, page by page (§6.6)."""
        self._session.require(Feature.LIST_JOBS, "list_jobs")
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
        return self._pages(filter_, page_size)

    async def _pages(self, filter_: dict[str, Any], page_size: int) -> AsyncIterator[JobSummary]:
        cursor: str | None = None
        while True:
            msg = await self._request(self._page_request(filter_, page_size, cursor))
            assert isinstance(msg, SessionJobsMessage)
            for job in msg.payload.jobs:
                yield job
            cursor = msg.payload.next_cursor
            if not cursor:
                return

    def _page_request(
        self, filter_: dict[str, Any], page_size: int, cursor: str | None
    ) -> Callable[[float], str]:
        return lambda now: self._session.list_jobs(
            now, filter=filter_, limit=page_size, cursor=cursor
        )

    async def ack(self, last_processed_seq: int) -> None:
        """Tell the runtime every event up to ``last_processed_seq`` was processed (§6.5)."""
        self._check_usable()
        self._session.ack(last_processed_seq, self._loop.time())
        await self._flush()


def _new_trace_id() -> str:
    """A fresh W3C trace-id (32 lowercase hex) for a job that was given none (§11)."""
    return os.urandom(16).hex()
