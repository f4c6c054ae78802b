"""The asyncio ARCP client (§6-§8), a thin driver around the sans-IO ``ClientSession``.

One reader task reads the transport, feeds the session and routes what comes out: job events
into their handle's queue, responses to the waiting request, terminal messages to handles.
Timers (heartbeat §6.4, auto-ack §6.5) are one ``loop.call_at`` at the session's next
deadline. A dropped connection, a seq gap (§8.3) or ``HEARTBEAT_LOST`` is repaired by dialling
again and sending ``session.resume`` (§6.3); handles see every event exactly once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from arcp.client.connection import ConnectionFactory, Target, resolve_target
from arcp.client.driver import ClientDriver
from arcp.client.handle import JobHandle, Subscription
from arcp.ids import utc_timestamp
from arcp.protocol.client_session import ALL_FEATURES, ClientSession
from arcp.transport.base import Transport
from arcp_gen.features import Feature
from arcp_gen.messages import SessionJobsMessage
from arcp_gen.models import AgentInfo, JobSummary, PeerInfo

__all__ = ["Client"]

_log = logging.getLogger("arcp.client")


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
            await self._client.close()


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
    ) -> _Connect:
        """Open a transport to ``target`` and complete the handshake (§6.2).

        ``target`` is a ``ws://``/``wss://`` URL, a connected transport, or a
        :data:`ConnectionFactory`; only URLs and factories can reconnect. ``features``
        defaults to all 11 flags; ``heartbeat=False`` leaves out ``heartbeat``. Raises the
        runtime's ``ARCPError`` (e.g. ``UnauthenticatedError``) if the handshake fails.
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
            await client._handshake(connect_timeout)  # pyright: ignore[reportPrivateUsage]
            return client

        return _Connect(open_client)

    def __init__(
        self, session: ClientSession, transport: Transport, factory: ConnectionFactory | None
    ) -> None:
        super().__init__(session, transport, factory)

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
        await self.close()

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
