"""A synchronous ARCP client for scripts and notebooks, over the same core as
:class:`arcp.client.Client` (§6-§8).

Each :class:`SyncClient` runs one asyncio :class:`~arcp.client.Client` on a private
event-loop thread and waits for it; every option, deadline and error is the async client's::

    from arcp.sync import SyncClient

    with SyncClient.connect("ws://127.0.0.1:7777/arcp", token="...") as client:
        job = client.submit("echo", {"hello": "world"})
        for event in job:
            print(event.payload.kind)
        print(job.result(timeout=60))

It works inside a running event loop too (a Jupyter cell): the calls block the caller, not
the client's loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Iterator, Mapping
from concurrent.futures import Future
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, TypeVar

from arcp.client import Client, JobHandle, JobStream, Subscription
from arcp.client.connection import Target
from arcp_gen.messages import JobEventMessage
from arcp_gen.models import AgentInfo, JobStatus, JobSummary, ProgressBody

__all__ = ["SyncClient", "SyncJobHandle", "SyncJobStream", "SyncSubscription"]

T = TypeVar("T")
S = TypeVar("S", bound=JobStream)


class _LoopThread:
    """An event loop running forever on a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="arcp-sync", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for it; Ctrl-C cancels it."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self.loop.shutdown_asyncgens(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class SyncJobStream(Generic[S]):
    """A job's events and outcome (§7.3, §8): iterate for the events, ``result()`` for the end."""

    def __init__(self, stream: S, runner: _LoopThread) -> None:
        self._stream = stream
        self._run = runner.run

    def __repr__(self) -> str:
        return f"{type(self).__name__}(job_id={self.job_id!r}, status={self.status!r})"

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self._stream.job_id

    @property
    def status(self) -> JobStatus:
        """``pending``, ``running``, or the final status once ended (§7.3)."""
        return self._stream.status

    @property
    def progress(self) -> ProgressBody | None:
        """The latest ``progress`` body (§8.2.1), or None."""
        return self._stream.progress

    @property
    def done(self) -> bool:
        """True once the job ended (or the stream was cut off)."""
        return self._stream.done

    @property
    def stream(self) -> S:
        """The asyncio handle underneath."""
        return self._stream

    def __iter__(self) -> Iterator[JobEventMessage]:
        events = self._stream.__aiter__()
        while (event := self._run(_next(events))) is not _END:
            yield event

    def result(self, timeout: float | None = None) -> Any:
        """The job's result, or its typed error; ``timeout`` as in :meth:`JobStream.result`."""
        return self._run(self._stream.result(timeout))

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the job ended, without raising its error."""
        self._run(self._stream.wait(timeout))


class SyncJobHandle(SyncJobStream[JobHandle]):
    """A job this session submitted (§7.1)."""

    def cancel(self, reason: str | None = None, *, timeout: float | None = None) -> None:
        """Cancel the job (§7.4); see :meth:`JobHandle.cancel`."""
        self._run(self._stream.cancel(reason, timeout=timeout))


class SyncSubscription(SyncJobStream[Subscription]):
    """A job observed through ``job.subscribe`` (§7.6)."""

    def unsubscribe(self, *, timeout: float | None = None) -> None:
        """Stop observing (§7.6)."""
        self._run(self._stream.unsubscribe(timeout=timeout))


class SyncClient:
    """A connected ARCP session with blocking methods. Create it with :meth:`connect`."""

    def __init__(self, client: Client, runner: _LoopThread) -> None:
        self._client = client
        self._runner = runner
        self._run = runner.run

    @classmethod
    def connect(cls, target: str | Any, **options: Any) -> SyncClient:
        """Connect like :meth:`arcp.client.Client.connect` (same options: ``token``,
        ``request_timeout``, ``reconnect``, ``ssl``, ...) and wait for the welcome.
        ``target`` is a URL or a connection factory (coroutine function)."""
        runner = _LoopThread()
        try:
            client = runner.run(_open(target, options))
        except BaseException:
            runner.stop()
            raise
        return cls(client, runner)

    def __repr__(self) -> str:
        return f"Sync{self._client!r}"

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._run(self._client.__aexit__(et, e, tb))
        finally:
            self._runner.stop()

    @property
    def client(self) -> Client:
        """The asyncio client underneath (use it only from its own loop)."""
        return self._client

    @property
    def session_id(self) -> str | None:
        """The session id the runtime assigned."""
        return self._client.session_id

    @property
    def agents(self) -> tuple[AgentInfo, ...]:
        """The runtime's agent inventory (§7.5)."""
        return self._client.agents

    @property
    def closed(self) -> bool:
        """True once the client stopped."""
        return self._client.closed

    def submit(self, agent: str, input: Any = None, **options: Any) -> SyncJobHandle:
        """Submit a job (§7.1); options as in :meth:`Client.submit` (``lease``,
        ``idempotency_key``, ``timeout``, ...)."""
        handle = self._run(self._client.submit(agent, input, **options))
        return SyncJobHandle(handle, self._runner)

    def cancel(
        self, job_id: str, reason: str | None = None, *, timeout: float | None = None
    ) -> None:
        """Cancel a job this session submitted (§7.4)."""
        self._run(self._client.cancel(job_id, reason, timeout=timeout))

    def subscribe(
        self,
        job_id: str,
        *,
        history: bool = True,
        from_event_seq: int | None = 0,
        timeout: float | None = None,
    ) -> SyncSubscription:
        """Observe a job (§7.6)."""
        sub = self._run(
            self._client.subscribe(
                job_id, history=history, from_event_seq=from_event_seq, timeout=timeout
            )
        )
        return SyncSubscription(sub, self._runner)

    def list_jobs(
        self,
        status: JobStatus | Iterable[JobStatus] | None = None,
        agent: str | None = None,
        created_after: str | datetime | None = None,
        page_size: int = 100,
        *,
        timeout: float | None = None,
    ) -> Iterator[JobSummary]:
        """Iterate over the jobs this principal may observe, page by page (§6.6)."""
        pages = self._client.list_jobs(
            status, agent, created_after, page_size, timeout=timeout
        ).__aiter__()
        while (job := self._run(_next(pages))) is not _END:
            yield job

    def ack(self, last_processed_seq: int) -> None:
        """Acknowledge events up to ``last_processed_seq`` (§6.5)."""
        self._run(self._client.ack(last_processed_seq))

    def close(self, *, timeout: float | None = None) -> None:
        """Close the session (§6.7) and stop the loop thread; see :meth:`Client.close`."""
        try:
            self._run(self._client.close(timeout=timeout))
        finally:
            self._runner.stop()


async def _open(target: Target, options: Mapping[str, Any]) -> Client:
    return await Client.connect(target, **options)


_END: Any = object()


async def _next(iterator: Any) -> Any:
    """The next item of an async iterator, or ``_END``."""
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return _END
