"""No unbounded wait (issue #14.1): against a runtime that never answers, every public
coroutine of the client ends with a typed error within its deadline, and the session stays
usable (§6-§7; wire-decisions: Request failures and correlation)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from arcp.client import Client, JobHandle, Subscription
from arcp.errors import (
    ARCPException,
    ConnectionLostError,
    RequestTimeoutError,
    ResumeFailedError,
)
from arcp.transport import MemoryTransport, memory_pair
from tests.client.test_client_scripted import Peer

T = 0.2  # every deadline in this file, in seconds
SLACK = 3.0  # what a loaded machine may add before the error surfaces


class Silent(Peer):
    """A runtime that welcomes (or not) and then reads everything and answers nothing."""

    def __init__(self, end: MemoryTransport) -> None:
        super().__init__(end)
        self.seen: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._swallow())

    async def _swallow(self) -> None:
        while True:
            try:
                self.seen.append(orjson.loads(await self.end.recv()))
            except Exception:
                return

    def types(self) -> list[str]:
        return [m["type"] for m in self.seen]

    async def welcome_silently(self) -> None:
        while "session.hello" not in self.types():  # noqa: ASYNC110
            await asyncio.sleep(0)
        await self.send(
            "session.welcome",
            {
                "runtime": {"name": "silent"},
                "resume_token": "rt-1",
                "capabilities": {"features": ["list_jobs", "subscribe", "ack"]},
            },
            session_id="sess_S",
        )


async def bounded(call: Awaitable[Any], limit: float = T) -> BaseException:
    """Await ``call``; it must raise a typed SDK error within ``limit`` plus slack."""
    started = time.monotonic()
    with pytest.raises(ARCPException) as info:
        async with asyncio.timeout(limit + SLACK):  # a hang fails the test, not the suite
            await call
    assert time.monotonic() - started >= limit * 0.9, "the deadline fired early"
    return info.value


async def silent_session(**kw: Any) -> tuple[Client, Silent]:
    mine, theirs = memory_pair()
    peer = Silent(theirs)
    welcome = asyncio.create_task(peer.welcome_silently())
    client = await Client.connect(mine, token="t", request_timeout=T, close_timeout=T, **kw)
    await welcome
    return client, peer


async def test_connect_to_a_runtime_that_never_welcomes() -> None:
    """§6.2: an unanswered session.hello fails connect() with RequestTimeoutError."""
    mine, theirs = memory_pair()
    Silent(theirs)
    error = await bounded(Client.connect(mine, token="t", connect_timeout=T))
    assert isinstance(error, RequestTimeoutError) and error.operation == "session.hello"
    assert isinstance(error, TimeoutError)  # also the standard library's timeout


async def test_connect_to_a_dial_that_never_completes() -> None:
    """Dialling is bounded by connect_timeout too."""

    async def never() -> MemoryTransport:
        await asyncio.Event().wait()
        raise AssertionError

    error = await bounded(Client.connect(never, connect_timeout=T))
    assert isinstance(error, RequestTimeoutError) and error.operation == "connect"


def _accepted_handle(client: Client) -> JobHandle:
    from arcp_gen.models import JobAcceptedPayload

    payload = JobAcceptedPayload.model_validate({"job_id": "job_x", "lease": {}})
    return client._driver.adopt(payload)  # pyright: ignore[reportPrivateUsage]


def _subscription(client: Client) -> Subscription:
    from arcp_gen.models import JobSubscribedPayload

    payload = JobSubscribedPayload.model_validate(
        {
            "job_id": "job_y",
            "current_status": "running",
            "agent": "a@1",
            "lease": {},
            "subscribed_from": 0,
            "replayed": False,
        }
    )
    driver = client._driver  # pyright: ignore[reportPrivateUsage]
    sub = Subscription(driver, payload)
    driver._jobs.streams["job_y"] = sub  # pyright: ignore[reportPrivateUsage]
    return sub


async def _first_page(client: Client) -> None:
    async for _ in client.list_jobs():
        return


# Every public coroutine of the client and its handles, and how to call it against a silent
# runtime. `None` marks one that has nothing to wait for (it only sends).
CALLS: dict[str, Callable[[Client], Awaitable[Any]] | None] = {
    "Client.submit": lambda c: c.submit("echo"),
    "Client.cancel": lambda c: c.cancel("job_z"),
    "Client.subscribe": lambda c: c.subscribe("job_z"),
    "Client.list_jobs": _first_page,
    "Client.close": lambda c: c.close(),
    "Client.ack": None,
    "Client.cancel_running": None,
    "JobHandle.cancel": lambda c: _accepted_handle(c).cancel(),
    "JobHandle.result": lambda c: _accepted_handle(c).result(timeout=T),
    "JobHandle.wait": lambda c: _accepted_handle(c).wait(timeout=T),
    "Subscription.unsubscribe": None,
    "Subscription.result": lambda c: _subscription(c).result(timeout=T),
    "Subscription.wait": lambda c: _subscription(c).wait(timeout=T),
}


def test_every_public_coroutine_is_covered() -> None:
    """The table above names every public coroutine (a new one must be added to it)."""
    found = {
        f"{cls.__name__}.{name}"
        for cls in (Client, JobHandle, Subscription)
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    }
    found |= {"Client.list_jobs"}  # an async iterator, called without await
    assert found <= set(CALLS), found - set(CALLS)


@pytest.mark.parametrize("name", [n for n, call in CALLS.items() if call is not None])
async def test_no_public_coroutine_outlives_its_deadline(name: str) -> None:
    """§7, #14.1: each call ends with RequestTimeoutError within its deadline; the session
    is still usable afterwards (except after close)."""
    client, peer = await silent_session()
    call = CALLS[name]
    assert call is not None
    error = await bounded(call(client))
    assert isinstance(error, RequestTimeoutError), error
    if name == "Client.close":
        assert client.closed
        return
    # Only that request failed: the next one still goes out on the same session.
    submitting = asyncio.create_task(client.submit("echo", timeout=5))
    while peer.types().count("job.submit") < (2 if name == "Client.submit" else 1):  # noqa: ASYNC110
        await asyncio.sleep(0)
    request = next(m for m in reversed(peer.seen) if m["type"] == "job.submit")
    await peer.accept(request, "job_ok", correlate=True)
    assert (await submitting).job_id == "job_ok"
    await bounded(client.close())


async def test_send_only_coroutines_return() -> None:
    """ack and unsubscribe have no answer (§6.5, §7.6): they return once sent."""
    client, peer = await silent_session()
    async with asyncio.timeout(SLACK):
        await client.ack(0)
        sub = _subscription(client)
        await sub.unsubscribe()
        while "job.unsubscribe" not in peer.types():  # noqa: ASYNC110
            await asyncio.sleep(0)
    # cancel_running (cancel_on_exit) waits for each cancel at most its deadline, and
    # swallows the timeouts: leaving must not fail.
    _accepted_handle(client)
    async with asyncio.timeout(T + SLACK):
        await client.cancel_running()
    await bounded(client.close())


async def test_late_answer_to_an_expired_submit_is_not_given_to_the_next() -> None:
    """A job.accepted naming a request that already timed out answers nothing: it must not
    complete a later submit (wire-decisions: correlation)."""
    client, peer = await silent_session()
    await bounded(client.submit("slow"))
    late = next(m for m in peer.seen if m["type"] == "job.submit")
    second = asyncio.create_task(client.submit("echo", timeout=5))
    while peer.types().count("job.submit") < 2:  # noqa: ASYNC110
        await asyncio.sleep(0)
    await peer.accept(late, "job_late", correlate=True)
    await asyncio.sleep(0.05)
    assert not second.done()
    await peer.accept(peer.seen[-1], "job_ok", correlate=True)
    assert (await second).job_id == "job_ok"
    await bounded(client.close())


async def test_async_with_exit_does_not_raise_on_an_unconfirmed_close() -> None:
    """Leaving ``async with`` closes locally and logs a close the runtime never confirmed."""
    mine, theirs = memory_pair()
    peer = Silent(theirs)
    welcome = asyncio.create_task(peer.welcome_silently())
    async with asyncio.timeout(T + SLACK):
        async with Client.connect(mine, token="t", close_timeout=T) as client:
            await welcome
    assert client.closed


async def test_a_resume_nobody_answers_fails_the_jobs_instead_of_looping() -> None:
    """§6.3, #14.2: session.resume unanswered → the legacy hello+resume once on a new
    connection → unanswered too → every handle fails with ResumeFailedError; no more dials."""
    peers: list[Silent] = []

    async def factory() -> MemoryTransport:
        mine, theirs = memory_pair()
        peers.append(Silent(theirs))
        return mine

    async def first() -> None:
        while not peers:  # noqa: ASYNC110
            await asyncio.sleep(0)
        await peers[0].welcome_silently()

    welcome = asyncio.create_task(first())
    client = await Client.connect(factory, token="t", resume_timeout=T)
    await welcome
    handle = _accepted_handle(client)
    peers[0].end.drop()
    error = await bounded(handle.result(), 2 * T)
    assert isinstance(error, ResumeFailedError) and isinstance(error, ConnectionLostError)
    assert [p.types() for p in peers[1:]] == [["session.resume"], ["session.hello"]]
    assert "resume" in peers[2].seen[0]["payload"]
    await asyncio.sleep(2 * T)
    assert len(peers) == 3 and client.closed
