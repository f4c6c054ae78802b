"""Jobs streaming through a fault-injecting proxy: nothing lost, duplicated or reordered.

A real :class:`~arcp.client.Client` talks to a real runtime over WebSocket through
:class:`~bench.reliability.proxy.FaultProxy`, which drops, stalls and half-closes the
connection at random points while jobs stream (§6.3 resume, §6.4 heartbeats, §8.3). Every
job must deliver its events exactly once and in order, and its terminal message once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

from arcp.client import Client, ConnectionLostError
from arcp.demo import register_demo_agents
from arcp.runtime import Runtime
from arcp_gen.models import LogEvent
from bench.reliability.proxy import FaultProxy

__all__ = ["check_job", "fault_injection"]


async def check_job(client: Client, n: int, key: str) -> int:
    """Run `chatty` with ``n`` events; assert every event once, in order, then the result.

    A submit cut off by a fault is repeated with the same idempotency key (§7.2).
    """
    for _ in range(20):
        try:
            handle = await client.submit("chatty", {"n": n}, idempotency_key=key)
            break
        except ConnectionLostError:
            await asyncio.sleep(0.05)
    else:
        raise AssertionError("submit never went through")
    expected, last_seq = 1, 0
    async for event in handle:
        assert event.event_seq > last_seq, f"reordered: {event.event_seq} after {last_seq}"
        last_seq = event.event_seq
        payload = event.payload
        if isinstance(payload, LogEvent):
            message = payload.body.message
            assert message == f"event {expected} of {n}", f"{key}: {message!r}, not #{expected}"
            expected += 1
    assert expected == n + 1, f"{key}: {expected - 1} of {n} events"
    assert await handle.result() == {"count": n}
    return n


async def fault_injection(
    faults: int,
    *,
    events: int = 2000,
    concurrent: int = 3,
    pause: tuple[float, float] = (0.005, 0.05),
    seed: int = 1,
) -> dict[str, Any]:
    """Stream jobs while injecting ``faults`` faults; returns the figures."""
    rng = random.Random(seed)
    rt = Runtime(heartbeat_interval_sec=0.5, resume_window_sec=300)
    register_demo_agents(rt)
    server = await rt.serve_websocket(port=0)
    proxy = FaultProxy(int(server.url.rsplit(":", 1)[1].split("/", 1)[0]), seed=seed)
    await proxy.start()
    started = time.perf_counter()
    stop = asyncio.Event()

    async def chaos() -> None:
        while proxy.faults < faults:
            await asyncio.sleep(rng.uniform(*pause))
            await proxy.fault()
        stop.set()

    jobs = delivered = 0
    chaos_task: asyncio.Task[None] | None = None
    try:
        url = f"ws://127.0.0.1:{proxy.port}/arcp"
        async with await Client.connect(url) as client:
            chaos_task = asyncio.create_task(chaos())  # once the session is open
            while not stop.is_set():
                keys = [f"job-{jobs + i}" for i in range(concurrent)]
                counts = await asyncio.gather(*(check_job(client, events, k) for k in keys))
                jobs += len(counts)
                delivered += sum(counts)
    finally:
        if chaos_task is not None:
            chaos_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chaos_task
        await proxy.aclose()
        await rt.aclose()
    return {
        "faults": proxy.faults,
        "by_kind": dict(proxy.counts),
        "jobs": jobs,
        "events": delivered,
        "lost": 0,
        "seconds": round(time.perf_counter() - started, 1),
    }
