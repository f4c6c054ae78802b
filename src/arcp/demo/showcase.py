"""A short tour of ARCP through the real client over a real loopback WebSocket (``arcp demo``).

Five steps, each a job on the demo agents: streamed progress (§8.2.1), a chunked result
(§8.4), a budgeted job hitting its cap (§9.6), a cancellation (§7.4) and a transparent resume
after the transport is cut mid-stream (§6.3). An observer sees every step and event, so a CLI
can render them live; without one the showcase runs silently (tests).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from arcp.client import Client, JobHandle, JobStream
from arcp.demo.agents import register_demo_agents
from arcp.runtime import Runtime
from arcp.transport.base import Transport
from arcp.transport.websocket import WebSocketTransport, connect_websocket
from arcp_gen.errors import ARCPError, ErrorCode
from arcp_gen.messages import JobEventMessage

__all__ = [
    "BUDGET_LEASE",
    "DroppableConnection",
    "ShowcaseObserver",
    "StepResult",
    "run_embedded_showcase",
    "run_showcase",
]

BUDGET_LEASE: dict[str, list[str]] = {"tool.call": ["search.*"], "cost.budget": ["USD:1.00"]}
"""The costly step's lease: search tools only, one US dollar to spend (§9.6)."""

_TOKEN = "showcase"


@dataclass(frozen=True)
class StepResult:
    """How one showcase step went."""

    step: str
    ok: bool
    outcome: str
    events: int
    seconds: float
    detail: str

    def to_json(self) -> dict[str, Any]:
        """The step as a JSON object (seconds rounded to ms)."""
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


class ShowcaseObserver(Protocol):
    """What a renderer of the showcase is told."""

    def step_started(self, step: str, description: str) -> None: ...

    def job_started(self, stream: JobStream) -> None: ...

    def job_event(self, stream: JobStream, event: JobEventMessage) -> None: ...

    def note(self, text: str) -> None: ...

    def step_finished(self, result: StepResult) -> None: ...


class _Silent:
    def step_started(self, step: str, description: str) -> None:
        pass

    def job_started(self, stream: JobStream) -> None:
        pass

    def job_event(self, stream: JobStream, event: JobEventMessage) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def step_finished(self, result: StepResult) -> None:
        pass


class DroppableConnection:
    """A connection factory that remembers its last transport, so a test can cut it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dials = 0
        self.last: WebSocketTransport | None = None

    async def __call__(self) -> Transport:
        self.last = await connect_websocket(self.url)
        self.dials += 1
        return self.last

    def drop(self) -> None:
        """Abort the current connection like a network failure would."""
        if self.last is not None:
            self.last.drop()


async def _drive(
    stream: JobStream,
    observer: ShowcaseObserver,
    on_event: Callable[[JobEventMessage], Awaitable[None]] | None = None,
) -> list[JobEventMessage]:
    observer.job_started(stream)
    seen: list[JobEventMessage] = []
    async for event in stream:
        seen.append(event)
        observer.job_event(stream, event)
        if on_event is not None:
            await on_event(event)
    return seen


async def _progress(client: Client, obs: ShowcaseObserver) -> tuple[bool, str, int, str]:
    n = 40
    job = await client.submit("progress", {"n": n, "delay_ms": 25})
    events = await _drive(job, obs)
    result = await job.result()
    steps = sum(1 for e in events if e.payload.kind == "progress")
    ok = result == {"steps": n} and steps == n
    return ok, "success", len(events), f"{steps}/{n} progress events"


async def _chunked(client: Client, obs: ShowcaseObserver) -> tuple[bool, str, int, str]:
    size, chunk = 256 * 1024, 8 * 1024
    job = await client.submit("chunked", {"bytes": size, "chunk_size": chunk})
    events = await _drive(job, obs)
    result = await job.result()
    chunks = sum(1 for e in events if e.payload.kind == "result_chunk")
    ok = isinstance(result, str) and len(result.encode()) == size and chunks >= size // chunk
    return ok, "success", len(events), f"{chunks} chunks reassembled into {size:,} bytes"


async def _budget(client: Client, obs: ShowcaseObserver) -> tuple[bool, str, int, str]:
    if not any(agent.name == "costly" for agent in client.agents):
        obs.note("the costly agent is not registered: step skipped")
        return True, "skipped", 0, "costly agent not registered"
    job = await client.submit("costly", {"steps": 10, "usd": 0.25}, lease=BUDGET_LEASE)
    events = await _drive(job, obs)
    try:
        await job.result()
    except ARCPError as exc:
        ok = exc.code is ErrorCode.BUDGET_EXHAUSTED
        paid = sum(1 for e in events if e.payload.kind == "metric" and _metric(e) == "cost.search")
        return ok, exc.code.value, len(events), f"USD 1.00 spent in {paid} calls, then refused"
    return False, "success", len(events), "the budget was never exhausted"


def _metric(event: JobEventMessage) -> str:
    return str(getattr(event.payload.body, "name", ""))


async def _cancel(client: Client, obs: ShowcaseObserver) -> tuple[bool, str, int, str]:
    job = await client.submit("slow", {"sec": 30})
    cancelled = False

    async def cancel_once(_event: JobEventMessage) -> None:
        nonlocal cancelled
        if not cancelled:
            cancelled = True
            obs.note("sending job.cancel")
            await job.cancel("showcase")

    events = await _drive(job, obs, cancel_once)
    try:
        await job.result()
    except ARCPError as exc:
        ok = exc.code is ErrorCode.CANCELLED and job.status == "cancelled"
        return ok, job.status, len(events), "a 30 s job cancelled after its first event"
    return False, job.status, len(events), "the job was not cancelled"


async def _resume(url: str, token: str, obs: ShowcaseObserver) -> tuple[bool, str, int, str]:
    n, cut_at = 60, 20
    connection = DroppableConnection(url)
    async with await Client.connect(connection, token=token) as client:
        job: JobHandle = await client.submit("progress", {"n": n, "delay_ms": 15})

        async def cut(event: JobEventMessage) -> None:
            if event.payload.kind == "progress" and connection.dials == 1:
                body: Any = event.payload.body
                if getattr(body, "current", 0) == cut_at:
                    obs.note(f"dropping the connection after event {event.event_seq}")
                    connection.drop()

        events = await _drive(job, obs, cut)
        await job.result()
    currents = [
        getattr(e.payload.body, "current", None) for e in events if e.payload.kind == "progress"
    ]
    seqs = [e.event_seq for e in events]
    ok = currents == list(range(1, n + 1)) and connection.dials >= 2 and seqs == sorted(set(seqs))
    detail = f"{len(currents)} == {n} events, none lost, after {connection.dials - 1} reconnect(s)"
    return ok, "success", len(events), detail


async def run_showcase(
    url: str, token: str = _TOKEN, observer: ShowcaseObserver | None = None
) -> list[StepResult]:
    """Run every step against the runtime at ``url`` (which must host the demo agents)."""
    obs: ShowcaseObserver = observer or _Silent()
    results: list[StepResult] = []
    async with await Client.connect(url, token=token) as client:
        steps: list[tuple[str, str, Callable[[], Awaitable[tuple[bool, str, int, str]]]]] = [
            ("progress", "streamed progress (§8.2.1)", lambda: _progress(client, obs)),
            (
                "chunked result",
                "a 256 KiB result in 8 KiB chunks (§8.4)",
                lambda: _chunked(client, obs),
            ),
            (
                "budget",
                "search.* calls under a USD 1.00 budget (§9.6)",
                lambda: _budget(client, obs),
            ),
            ("cancellation", "cancelling a 30 s job (§7.4)", lambda: _cancel(client, obs)),
            (
                "resume",
                "the connection drops mid-stream; the client resumes (§6.3)",
                lambda: _resume(url, token, obs),
            ),
        ]
        for name, description, step in steps:
            obs.step_started(name, description)
            started = time.monotonic()
            try:
                ok, outcome, events, detail = await asyncio.wait_for(step(), 20)
            except (ARCPError, ConnectionError, TimeoutError) as exc:
                ok, outcome, events, detail = False, type(exc).__name__, 0, str(exc)
            result = StepResult(name, ok, outcome, events, time.monotonic() - started, detail)
            results.append(result)
            obs.step_finished(result)
    return results


async def run_embedded_showcase(observer: ShowcaseObserver | None = None) -> list[StepResult]:
    """Start a runtime with the demo agents on 127.0.0.1 (any port) and run the showcase."""
    runtime = Runtime(tokens={_TOKEN: "demo"})
    register_demo_agents(runtime)
    server = await runtime.serve_websocket(host="127.0.0.1", port=0, path="/arcp")
    try:
        return await run_showcase(server.url, _TOKEN, observer)
    finally:
        await runtime.aclose()
