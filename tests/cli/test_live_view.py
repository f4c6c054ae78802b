"""The live display in a terminal (issue 12 item 5): rate and ETA from live events only, log
lines through rich inside the display, a "reconnecting…" state. Real client, real runtime."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from rich.console import Console

from arcp.cli.live import JobView
from arcp.cli.logs import HANDLER, install
from arcp.cli.options import Output
from arcp.client import Client
from arcp.runtime import JobContext, Runtime
from arcp.transport import MemoryTransport, memory_pair

GATE: dict[str, asyncio.Event] = {}


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    rt = Runtime()

    @rt.agent("burst")
    async def burst(input: Any, ctx: JobContext) -> Any:  # pyright: ignore[reportUnusedFunction]
        for i in range(1, 101):  # history: 100 steps at once
            await ctx.progress(i, total=110, units="steps")
        await GATE["go"].wait()
        for i in range(101, 111):  # live: 10 steps at ~10 per second
            await asyncio.sleep(0.1)
            await ctx.progress(i, total=110, units="steps")
        return 110

    yield rt
    await rt.aclose()


def _terminal() -> tuple[Output, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, stderr=True)
    return Output(rich=True, console=console), buffer


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


class _Dial:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.ends: list[MemoryTransport] = []
        self.hold = asyncio.Event()
        self.hold.set()
        self.tasks: list[asyncio.Task[None]] = []

    async def __call__(self) -> MemoryTransport:
        await self.hold.wait()
        mine, theirs = memory_pair()
        self.ends.append(theirs)
        self.tasks.append(asyncio.create_task(self.rt.serve(theirs)))
        return mine


async def test_rate_counts_live_events_not_replayed_history(runtime: Runtime) -> None:
    """§7.6 history arrives in a burst: 100 replayed steps must not make the rate ~1000/s."""
    GATE["go"] = asyncio.Event()
    dial = _Dial(runtime)
    async with Client.connect(dial) as submitter, Client.connect(dial) as watcher:
        job = await submitter.submit("burst")
        async for event in job:
            if event.event_seq == 100:
                break
        sub = await watcher.subscribe(job.job_id, history=True)
        out, _ = _terminal()
        with JobView(out, sub, history=True) as view:
            GATE["go"].set()
            async for event in sub:
                view.event(event)
            rate = view.rate
        assert view.events == 110
        assert rate is not None
        assert 2 < rate < 30, rate  # ~10 steps/s live; the burst would make it hundreds


async def test_log_lines_go_into_the_live_display(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    """While the display runs, a log record is printed by rich on its console (above the
    display), not written to stderr where it would tear the display."""
    install(logging.WARNING)
    try:
        async with Client.connect(_Dial(runtime)) as client:
            GATE["go"] = asyncio.Event()
            job = await client.submit("burst")
            out, buffer = _terminal()
            with JobView(out, job):
                logging.getLogger("arcp.client").warning("reconnect failed (TestError)")
            GATE["go"].set()
            await job.result()
        logging.getLogger("arcp.client").warning("after the display")
    finally:
        logging.getLogger().removeHandler(HANDLER)
    assert "reconnect failed (TestError)" in _plain(buffer.getvalue())
    err = capsys.readouterr().err
    assert "reconnect failed" not in err
    assert "after the display" in err


async def test_a_dropped_connection_shows_reconnecting(runtime: Runtime) -> None:
    """§6.3: while the client resumes the session the display says so."""
    dial = _Dial(runtime)
    async with Client.connect(dial) as client:
        GATE["go"] = asyncio.Event()
        job = await client.submit("burst")
        out, buffer = _terminal()
        with JobView(out, job, client=client) as view:
            dial.hold.clear()
            dial.ends[-1].drop()
            for _ in range(1000):
                if client.reconnecting:
                    break
                await asyncio.sleep(0.01)
            out.console.print(view)
            assert "reconnecting…" in _plain(buffer.getvalue())
            dial.hold.set()
            GATE["go"].set()
            assert await job.result() == 110
            assert not client.reconnecting
