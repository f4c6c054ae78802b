"""Floods against a live runtime, with memory reported as a bound (#13 items 2 and 6).

``slow_reader``: one WebSocket client submits `chatty` with ``n`` events and reads slowly
(§13.2); every event must arrive, gap-free, with the session's buffer bounded.
``frame_flood``: ``n`` random, truncated and mutated frames into one live session, after
which it must still run a job end to end (wire-decisions: request failures).
"""

from __future__ import annotations

import asyncio
import random
import resource
import time
from typing import Any

import orjson
from websockets.asyncio.client import connect as ws_connect

from arcp.codec import encode
from arcp.demo import register_demo_agents
from arcp.ids import new_ulid
from arcp.runtime import Runtime
from arcp.transport.memory import memory_pair

__all__ = ["frame_flood", "frame_flood_memory", "rss_mib", "slow_reader"]


def rss_mib() -> float:
    """This process's resident memory now, in MiB (Linux ``/proc``), else its peak."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hello(features: list[str]) -> bytes:
    payload = {"client": {"name": "flood"}, "capabilities": {"features": features}}
    return encode({"arcp": "1.1", "id": new_ulid(), "type": "session.hello", "payload": payload})


def _submit(agent: str, input: Any) -> bytes:
    payload = {"agent": agent, "input": input}
    return encode({"arcp": "1.1", "id": new_ulid(), "type": "job.submit", "payload": payload})


async def slow_reader(
    n: int, *, high_water: int = 500, buffer_limit: int = 1000, stall_sec: float = 1.0
) -> dict[str, Any]:
    """A client that stops reading, then reads slowly, gets all ``n`` events in order."""
    rt = Runtime(buffer_limit=buffer_limit, high_water=high_water)
    register_demo_agents(rt)
    server = await rt.serve_websocket(port=0)
    peak_buffer, base, peak_rss = 0, rss_mib(), 0.0

    async def watch() -> None:
        nonlocal peak_buffer, peak_rss
        while True:
            for session in list(rt.core.sessions.values()):
                peak_buffer = max(peak_buffer, len(session.buffer))
            peak_rss = max(peak_rss, rss_mib())
            await asyncio.sleep(0.02)

    started = time.perf_counter()
    watcher = asyncio.create_task(watch())
    expected = terminals = 0
    try:
        async with ws_connect(server.url, compression=None, max_queue=4, max_size=None) as ws:
            await ws.send(_hello([]))
            assert orjson.loads(await ws.recv())["type"] == "session.welcome"
            await ws.send(_submit("chatty", {"n": n}))
            assert orjson.loads(await ws.recv())["type"] == "job.accepted"
            await asyncio.sleep(stall_sec)  # not reading: the agent must wait
            expected = 1
            async for data in ws:
                frame = orjson.loads(data)
                assert frame.get("event_seq", expected) == expected, f"gap at {expected}"
                if frame["type"] == "job.event":
                    expected += 1
                elif frame["type"] == "job.result":
                    terminals += 1
                    break
                if expected % 5000 == 0:
                    await asyncio.sleep(0.005)  # keep reading slowly
    finally:
        watcher.cancel()
        await rt.aclose()
    assert (expected - 1, terminals) == (n, 1), (expected - 1, terminals)
    assert peak_buffer <= buffer_limit + high_water + 8, peak_buffer
    return {
        "events": n,
        "lost": 0,
        "peak_session_buffer": peak_buffer,
        "rss_growth_mib": round(peak_rss - base, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _garbage(rng: random.Random, valid: list[bytes]) -> bytes:
    choice = rng.randrange(4)
    frame = rng.choice(valid)
    if choice == 0:
        return rng.randbytes(rng.randrange(1, 200))
    if choice == 1:
        return frame[: rng.randrange(len(frame))]
    if choice == 2:
        data = bytearray(frame)
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(32, 127)
        return bytes(data)
    return orjson.dumps({"arcp": "1.1", "id": new_ulid(), "type": rng.choice(
        ["job.submit", "job.cancel", "session.ack", "job.subscribe", "x.unknown"]
    ), "payload": {"job_id": rng.choice([None, 7, "job_x", []]), "last_processed_seq": -1}})  # fmt: skip


async def frame_flood_memory(n: int, *, seed: int = 3) -> dict[str, Any]:
    """:func:`frame_flood` over the memory transport (fast enough for CI)."""
    rng = random.Random(seed)
    rt = Runtime()
    register_demo_agents(rt)
    ours, theirs = memory_pair()
    serving = asyncio.create_task(rt.serve(theirs))
    valid = [_hello(["ack"]), _submit("echo", {"a": 1})]
    base, started, answers = rss_mib(), time.perf_counter(), 0
    await ours.send(_hello(["ack"]))
    assert orjson.loads(await ours.recv())["type"] == "session.welcome"
    for i in range(n):
        await ours.send(_garbage(rng, valid))
        if i % 200 == 0:
            await asyncio.sleep(0)
            answers += len(ours.recv_ready())
    peak = rss_mib()
    await ours.send(_submit("chatty", {"n": 3}))
    while b'"count":3' not in await ours.recv():
        answers += 1
    await rt.aclose()
    serving.cancel()
    return {
        "frames": n,
        "answered": answers,
        "rss_growth_mib": round(peak - base, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


async def frame_flood(n: int, *, seed: int = 3) -> dict[str, Any]:
    """``n`` bad frames into one session; it must still run a job end to end."""
    rng = random.Random(seed)
    rt = Runtime()
    register_demo_agents(rt)
    server = await rt.serve_websocket(port=0)
    valid = [
        _hello(["ack"]),
        _submit("echo", {"a": 1}),
        encode({"arcp": "1.1", "id": new_ulid(), "type": "session.ack",
                "payload": {"last_processed_seq": 0}}),
    ]  # fmt: skip
    base, started, answers = rss_mib(), time.perf_counter(), 0
    try:
        async with ws_connect(server.url, compression=None, max_size=None) as ws:
            await ws.send(_hello(["ack"]))
            assert orjson.loads(await ws.recv())["type"] == "session.welcome"

            async def drain() -> None:
                nonlocal answers
                async for data in ws:
                    answers += 1
                    if b'"count":3' in (data if isinstance(data, bytes) else data.encode()):
                        return

            reader = asyncio.create_task(drain())
            for i in range(n):
                await ws.send(_garbage(rng, valid).decode("utf-8", "replace"))
                if i % 500 == 0:
                    await asyncio.sleep(0)
            peak = rss_mib()
            await ws.send(_submit("chatty", {"n": 3}))  # the session still works
            await asyncio.wait_for(reader, 120)
    finally:
        await rt.aclose()
    return {
        "frames": n,
        "answered": answers,
        "rss_growth_mib": round(peak - base, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
