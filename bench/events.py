"""End-to-end event throughput, submit latency and buffer memory, each beside a raw baseline.

Every ARCP figure is measured in the same run as a bare ``websockets`` exchange of the same
frames between the same two processes, and reported as a ratio of medians over repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import orjson
from websockets.asyncio.client import connect

from bench import Figure
from bench.frames import event_frame

__all__ = ["arcp_rtts", "arcp_stream", "raw_rtts", "raw_stream", "run"]


@contextlib.asynccontextmanager
async def _peer(mode: str) -> AsyncIterator[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench._peer", mode, "0", stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().split()
    if not line or line[0] != "READY":
        raise RuntimeError(f"benchmark peer {mode!r} did not start")
    try:
        yield f"ws://127.0.0.1:{line[1]}/arcp"
    finally:
        proc.terminate()
        await proc.wait()


async def raw_stream(url: str, n: int) -> float:
    async with connect(url, compression=None, max_size=None, ping_interval=None) as ws:
        start = time.perf_counter()
        await ws.send(str(n))
        count = 0
        async for frame in ws:
            if frame == "done":
                break
            orjson.loads(frame)  # the baseline parses too, as any consumer must
            count += 1
        elapsed = time.perf_counter() - start
    assert count == n
    return n / elapsed


async def _raw_parallel(url: str, sessions: int, n: int) -> float:
    start = time.perf_counter()
    await asyncio.gather(*(raw_stream(url, n) for _ in range(sessions)))
    return sessions * n / (time.perf_counter() - start)


async def raw_rtts(url: str, count: int) -> list[float]:
    frame = event_frame(1).decode()
    out: list[float] = []
    async with connect(url, compression=None, max_size=None, ping_interval=None) as ws:
        await ws.send("echo")
        for _ in range(count):
            start = time.perf_counter()
            await ws.send(frame)
            await ws.recv()
            out.append(time.perf_counter() - start)
    return out


async def arcp_stream(target: Any, n: int) -> float:
    from arcp.client import Client

    client = await Client.connect(target, token="bench", heartbeat=False)
    async with client:
        start = time.perf_counter()
        handle = await client.submit("firehose", {"n": n})
        count = 0
        async for _event in handle:
            count += 1
        await handle.result()
        elapsed = time.perf_counter() - start
    assert count >= n, (count, n)
    return n / elapsed


async def _arcp_parallel(url: str, sessions: int, n: int) -> float:
    start = time.perf_counter()
    await asyncio.gather(*(arcp_stream(url, n) for _ in range(sessions)))
    return sessions * n / (time.perf_counter() - start)


async def arcp_rtts(url: str, count: int) -> list[float]:
    from arcp.client import Client

    out: list[float] = []
    client = await Client.connect(url, token="bench", heartbeat=False)
    async with client:
        for i in range(count):
            start = time.perf_counter()
            handle = await client.submit("echo", {"i": i})
            out.append(time.perf_counter() - start)
            await handle.result()
    return out


def _in_memory_runtime() -> Any:
    from arcp.demo import register_demo_agents
    from arcp.runtime import Runtime
    from bench._peer import firehose

    runtime = Runtime(tokens={"bench": "bench"}, heartbeat_interval_sec=300)
    register_demo_agents(runtime)
    runtime.register("firehose", firehose)
    return runtime


async def _memory_stream(n: int) -> float:
    from arcp.transport import memory_pair

    runtime = _in_memory_runtime()
    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))
    try:
        return await arcp_stream(ours, n)
    finally:
        await runtime.aclose()
        serving.cancel()
        with contextlib.suppress(BaseException):
            await serving


async def _stdio_stream(n: int) -> float:
    from arcp.transport import spawn_stdio

    child = await spawn_stdio([sys.executable, "-m", "bench._peer", "stdio", "0"])
    try:
        return await arcp_stream(child, n)
    finally:
        await child.close()


class _SilentClient:
    """A transport end that says hello, submits one job, then never reads: the runtime
    must buffer every event (nothing is acknowledged)."""

    def __init__(self, frames: list[bytes]) -> None:
        self._frames = frames
        self.received = 0
        self.done = asyncio.Event()
        self.closed = False

    async def send(self, frame: bytes) -> None:
        self.received += 1
        if b'"job.result"' in frame or b'"job.error"' in frame:
            self.done.set()

    async def send_many(self, frames: list[bytes]) -> None:
        # the batched write the memory and WebSocket transports offer the runtime
        self.received += len(frames)
        for frame in frames[-3:]:  # the terminal message ends the stream, give or take a ping
            if b'"job.result"' in frame or b'"job.error"' in frame:
                self.done.set()

    async def recv(self) -> bytes:
        if self._frames:
            return self._frames.pop(0)
        await asyncio.Future()
        raise AssertionError

    async def close(self) -> None:
        self.closed = True


def _silent_client(n: int) -> _SilentClient:
    """A client that negotiates ``ack``, submits one ``firehose`` job of ``n`` events and
    never reads."""
    hello = {
        "arcp": "1.1",
        "id": "01JD4ZQ8Y5K3N6P7R8S9T0V1W0",
        "type": "session.hello",
        "payload": {
            "client": {"name": "bench", "version": "1"},
            "auth": {"scheme": "bearer", "token": "bench"},
            "capabilities": {"encodings": ["json"], "features": ["ack"]},
        },
    }
    submit = {
        "arcp": "1.1",
        "id": "01JD4ZQ8Y5K3N6P7R8S9T0V1W1",
        "type": "job.submit",
        "payload": {"agent": "firehose", "input": {"n": n}},
    }
    return _SilentClient([orjson.dumps(hello), orjson.dumps(submit)])


async def _runtime_alone(n: int) -> float:
    """Events/s the runtime alone emits, framed, into a transport that only counts them."""
    runtime = _in_memory_runtime()
    peer = _silent_client(n)
    start = time.perf_counter()
    serving = asyncio.ensure_future(runtime.serve(peer))
    await asyncio.wait_for(peer.done.wait(), 120)
    elapsed = time.perf_counter() - start
    serving.cancel()
    with contextlib.suppress(BaseException):
        await serving
    await runtime.aclose()
    return n / elapsed


async def _buffer_bytes_per_event(n: int) -> tuple[float, int]:
    """Runtime memory held per buffered event beyond its encoded payload, and the payload size."""
    runtime = _in_memory_runtime()
    peer = _silent_client(n)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    serving = asyncio.ensure_future(runtime.serve(peer))
    await asyncio.wait_for(peer.done.wait(), 120)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    payload = len(
        orjson.dumps(
            {
                "kind": "log",
                "ts": "2026-05-13T19:42:13.000Z",
                "body": {"level": "info", "message": f"processing item {n // 2} of {n}"},
            }
        )
    )
    serving.cancel()
    with contextlib.suppress(BaseException):
        await serving
    await runtime.aclose()
    return held / n - payload, payload


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(repeats: int = 5, events: int = 20_000) -> list[Figure]:
    """Run every end-to-end benchmark and return the figures."""
    figures: list[Figure] = []
    async with _peer("raw") as raw_url, _peer("arcp") as arcp_url:
        # warm both paths once
        await raw_stream(raw_url, 1000)
        await arcp_stream(arcp_url, 1000)

        ws = Figure("events/s, 1 job, WebSocket across processes", "events/s")
        for _ in range(repeats):  # interleave so machine noise hits both alike
            ws.baseline.append(await raw_stream(raw_url, events))
            ws.samples.append(await arcp_stream(arcp_url, events))
        figures.append(ws)

        # Scenarios without a baseline of their own are set beside the WebSocket stream's.
        across = "baseline: raw WebSocket stream across processes"
        ceiling = "frames counted, not decoded: the runtime's ceiling for the memory figure"
        for label, scenario, note in (
            ("memory transport, one process", _memory_stream, across),
            ("stdio, runtime in a child process", _stdio_stream, across),
            ("runtime alone (no client), one process", _runtime_alone, ceiling),
        ):
            fig = Figure(f"events/s, 1 job, {label}", "events/s", note=note)
            fig.samples = [await scenario(events) for _ in range(repeats)]
            fig.baseline = list(ws.baseline)
            figures.append(fig)

        par = Figure("events/s, 50 sessions x 1,000 events, WebSocket", "events/s")
        for _ in range(max(3, repeats // 2)):
            par.baseline.append(await _raw_parallel(raw_url, 50, 1000))
            par.samples.append(await _arcp_parallel(arcp_url, 50, 1000))
        figures.append(par)

        raw_rtt = await raw_rtts(raw_url, 500)
        arcp_rtt = await arcp_rtts(arcp_url, 500)
        for q, label in ((0.5, "p50"), (0.99, "p99")):
            fig = Figure(f"submit -> accepted round trip {label}", "µs", higher_is_better=False)
            fig.samples = [_pct(arcp_rtt, q) * 1e6]
            fig.baseline = [_pct(raw_rtt, q) * 1e6]
            fig.note = "500 submits; baseline: raw frame echo round trip"
            figures.append(fig)

    per_event, payload = await _buffer_bytes_per_event(events)
    mem_fig = Figure(
        "runtime memory per buffered event beyond payload", "bytes", higher_is_better=False
    )
    mem_fig.samples = [per_event]
    mem_fig.note = f"{events} unacknowledged events; payload ≈ {payload} bytes each"
    figures.append(mem_fig)
    return figures
