"""The synchronous client (issue #12.7) against our runtime over WebSocket on 127.0.0.1: the
whole API from plain functions, the same deadlines and typed errors as the async client."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from arcp.errors import (
    AgentNotAvailableError,
    JobCancelledError,
    RequestTimeoutError,
)
from arcp.sync import SyncClient
from tests.client.conftest import TOKEN, make_runtime


@pytest.fixture
def url() -> Iterator[str]:
    """Our runtime with the test agents, served on its own loop thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runtime = make_runtime()
    server = asyncio.run_coroutine_threadsafe(runtime.serve_websocket(port=0), loop).result()
    yield server.url
    asyncio.run_coroutine_threadsafe(server.close(grace=1), loop).result(10)
    asyncio.run_coroutine_threadsafe(runtime.aclose(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_the_whole_api_without_asyncio(url: str) -> None:
    """§6-§8 from blocking calls: connect, submit, iterate events, result, cancel,
    list_jobs, subscribe, close."""
    with SyncClient.connect(url, token=TOKEN, request_timeout=10) as client:
        assert client.session_id and any(a.name == "echo" for a in client.agents)
        assert client.submit("echo", {"n": 1}).result(timeout=10) == {"n": 1}

        chatty = client.submit("chatty", {"n": 3})
        kinds = [event.payload.kind for event in chatty]
        assert kinds.count("log") == 3 and chatty.done and chatty.status == "success"

        slow = client.submit("slow", {"sec": 30})
        watched = client.subscribe(slow.job_id)
        listed = {job.job_id: job.status for job in client.list_jobs(status="running")}
        assert listed.get(slow.job_id) == "running"
        slow.cancel()
        with pytest.raises(JobCancelledError):
            slow.result(timeout=10)
        with pytest.raises(JobCancelledError):
            watched.result(timeout=10)

        with pytest.raises(AgentNotAvailableError):
            client.submit("nosuch")
    assert client.closed


def test_deadlines_and_a_running_event_loop(url: str) -> None:
    """result(timeout=) raises RequestTimeoutError and the job goes on; the sync client
    also works while the calling thread runs an event loop (a notebook cell)."""

    async def in_a_notebook() -> Any:
        client = SyncClient.connect(url, token=TOKEN)
        try:
            job = client.submit("slow", {"sec": 30})
            with pytest.raises(RequestTimeoutError):
                job.result(timeout=0.2)
            assert not job.done
            job.cancel()
            return job.status
        finally:
            client.close()

    assert asyncio.run(in_a_notebook()) == "cancelled"
