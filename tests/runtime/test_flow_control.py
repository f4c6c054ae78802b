"""Flow control: a slow consumer throttles the agent and loses nothing (§6.5, §13.2, #13)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import orjson
from websockets.asyncio.client import connect as ws_connect

from arcp.client import Client
from arcp.codec import encode
from arcp.demo import register_demo_agents
from arcp.ids import new_ulid
from arcp.runtime import JobContext, Runtime
from arcp.transport.memory import memory_pair
from tests.runtime.conftest import Gates, build_runtime
from tests.runtime.wire import connect


async def _ended(rt: Runtime, job_id: str) -> None:
    """Wait (at most 10 s) for the job's agent task to end."""
    task, _ = rt.jobs.running[job_id]
    await asyncio.wait([task], timeout=10)


EVENTS = int(os.environ.get("ARCP_FLOW_EVENTS", "30000"))
"""Events in the slow-reader test; ``make reliability`` runs it with 1,000,000."""


async def test_slow_websocket_reader_gets_every_event_with_bounded_buffers() -> None:
    """#13 item 2: a client that submits `chatty` and does not read for a while, then reads,
    sees every event, gap-free, and the terminal once; the agent waits meanwhile (§13.2) and
    the session holds at most `buffer_limit` sent + `high_water` unsent events. Before the
    fix the cap evicted events never sent and the client saw a gap."""
    limit, high = 1000, 500
    rt = Runtime(buffer_limit=limit, high_water=high)
    register_demo_agents(rt)
    server = await rt.serve_websocket(port=0)
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            for session in list(rt.core.sessions.values()):
                peak = max(peak, len(session.buffer))
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    async with ws_connect(server.url, compression=None, max_queue=4, max_size=None) as ws:

        async def send(type_: str, payload: dict[str, Any]) -> None:
            await ws.send(
                encode({"arcp": "1.1", "id": new_ulid(), "type": type_, "payload": payload})
            )

        await send("session.hello", {"client": {"name": "slow"}, "capabilities": {"features": []}})
        assert orjson.loads(await ws.recv())["type"] == "session.welcome"
        await send("job.submit", {"agent": "chatty", "input": {"n": EVENTS}})
        assert orjson.loads(await ws.recv())["type"] == "job.accepted"
        await asyncio.sleep(1.0)  # not reading: the runtime's writer blocks, the agent waits
        (job,) = rt.core.jobs.jobs.values()
        assert job.finished_at is None or 5 * high > EVENTS
        expected, terminals = 1, 0
        async for data in ws:
            frame = orjson.loads(data)
            if frame["type"] == "job.event":
                assert frame["event_seq"] == expected, f"gap at {expected}"
                expected += 1
            elif frame["type"] == "job.result":
                assert frame["event_seq"] == expected
                terminals += 1
                break
            if expected % 5000 == 0:
                await asyncio.sleep(0.01)  # keep reading slowly
        assert (expected - 1, terminals) == (EVENTS, 1)
    watcher.cancel()
    assert peak <= limit + high + 8, peak
    await rt.aclose()


async def test_acking_client_that_processes_slowly_throttles_the_agent() -> None:
    """§6.5, §13.2: once the client acknowledges, the agent never runs more than
    `high_water` events ahead of its acks, so the client's own queue stays bounded too.
    Before the fix the agent ran to the end at once."""
    high = 200
    rt = Runtime(high_water=high)
    register_demo_agents(rt)

    async def dial() -> Any:
        ours, theirs = memory_pair()
        asyncio.get_running_loop().create_task(rt.serve(theirs))
        return ours

    n = 3000
    async with await Client.connect(dial) as client:
        handle = await client.submit("chatty", {"n": n})
        job = rt.core.jobs.jobs[handle.job_id]
        seen = 0
        async for event in handle:
            seen += 1
            assert event.event_seq == seen
            ahead = job.log.last_origin_seq - seen
            if seen >= 1000:  # lag counts from the client's first ack: allow that burst
                assert ahead <= high + 300, ahead  # + what the client took but not acked
            if seen % 100 == 0:
                await asyncio.sleep(0.02)
        assert seen == n
        assert await handle.result() == {"count": n}
    await rt.aclose()


async def test_lagging_subscriber_is_unsubscribed_with_an_error(gates: Gates) -> None:
    """§7.6, §13.2: a subscriber `high_water` events behind (here: unacknowledged) is
    unsubscribed with `session.error` naming the job; the job is not slowed down by it."""
    rt = build_runtime(gates, high_water=50)
    owner = connect(rt)
    await owner.hello()
    job_id = (await owner.submit("chatty", {"n": 400, "gate": "g"}))["job_id"]
    watcher = connect(rt)
    await watcher.hello(features=["subscribe", "ack"])
    await watcher.request("job.subscribe", {"job_id": job_id, "history": True})
    await watcher.until(lambda f: f.get("event_seq") == 1)
    await watcher.send("session.ack", {"last_processed_seq": 1})  # acks once, never again
    gates["g"].set()
    frames = await owner.until_terminal(job_id)
    assert frames[-1]["type"] == "job.result"
    notice = (await watcher.until(lambda f: f["type"] == "session.error"))[-1]
    assert notice["job_id"] == job_id and notice["payload"]["code"] == "INTERNAL_ERROR"
    assert notice["payload"]["details"]["job_id"] == job_id
    session = rt.core.sessions[notice["session_id"]]
    assert session.session_id not in rt.core.jobs.jobs[job_id].subscribers
    assert job_id not in session.subscriptions
    await rt.aclose()


async def test_detached_session_throttles_until_the_window_ends(gates: Gates) -> None:
    """§6.3, §13.2: events emitted while detached wait for a resume; once the session
    expires the agent is released and the job finishes."""
    rt = build_runtime(gates, high_water=20, resume_window_sec=0.3)
    peer = connect(rt)
    await peer.hello()
    job_id = (await peer.submit("chatty", {"n": 100, "gate": "g"}))["job_id"]
    await peer.drop()
    gates["g"].set()
    await asyncio.sleep(0.1)
    job = rt.core.jobs.jobs[job_id]
    assert job.finished_at is None and job.log.last_origin_seq <= 20 + 50 + 2
    await _ended(rt, job_id)
    assert job.finished_at is not None
    await rt.aclose()


async def test_throttled_agent_can_still_be_cancelled(gates: Gates) -> None:
    """§7.4: an agent waiting for its client ends promptly on cancel."""
    rt = build_runtime(gates, high_water=10)

    @rt.agent("flood")
    async def flood(input: Any, ctx: JobContext) -> Any:
        while True:
            await ctx.log("x")

    peer = connect(rt)
    await peer.hello()
    job_id = (await peer.submit("flood"))["job_id"]
    await peer.drop()
    assert peer.session_id is not None
    await asyncio.sleep(0.05)
    job = rt.core.jobs.jobs[job_id]
    stalled_at = job.log.last_origin_seq
    await asyncio.sleep(0.05)
    assert job.log.last_origin_seq == stalled_at  # waiting for its client
    resumed = connect(rt)
    await resumed.send(
        "session.resume",
        {"session_id": peer.session_id, "resume_token": peer.resume_token, "last_event_seq": 0},
    )
    await resumed.request("job.cancel", {"job_id": job_id})
    await _ended(rt, job_id)
    assert job.status == "cancelled"
    await rt.aclose()
