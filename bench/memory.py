"""Runtime memory curves: per buffered event up to 1,000,000, per finished job kept for
listing, per idle session.

All run the runtime in this process over the memory transport and count the Python heap
with ``tracemalloc`` (what the runtime keeps, not the transport's copies):

* **per buffered event**: a client negotiates ``ack``, submits one ``firehose`` job of ``n``
  events and never acknowledges; the runtime must keep all of them for replay (§6.3, §13.2;
  ``high_water`` and ``buffer_limit`` raised above ``n`` so nothing throttles or evicts). The
  figure is the heap held per event beyond its encoded payload.
* **per finished job**: one session submits ``n`` ``echo`` jobs one after another and reads
  each result; finished jobs stay listable (§7.6). The figure is the heap held per job.
* **per idle session**: ``n`` connections each open a session and go quiet; the figure is the
  heap per session, beside the bare memory transport pairs alone (issue #18: ≤ 16 KiB).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from bench import Figure, plot
from bench.events import _silent_client  # pyright: ignore[reportPrivateUsage]

__all__ = ["BUFFERED", "FINISHED_JOBS", "IDLE_SESSIONS", "run"]

BUFFERED = (10_000, 100_000, 1_000_000)
FINISHED_JOBS = 2_000
IDLE_SESSIONS = 1_000
PLOTS = Path(__file__).parent / "plots"


def _runtime(capacity: int) -> Any:
    from arcp.demo import register_demo_agents
    from arcp.runtime import Limits, Runtime
    from bench._peer import firehose

    runtime = Runtime(
        tokens={"bench": "bench"},
        heartbeat_interval_sec=300,
        buffer_limit=capacity,
        high_water=capacity,
        limits=Limits(
            max_jobs_per_principal=1_000_000,
            max_sessions_per_principal=100_000,
            max_unauthenticated=100_000,
        ),
    )
    register_demo_agents(runtime)
    runtime.register("firehose", firehose)
    return runtime


def _payload_size(n: int) -> int:
    body = {"level": "info", "message": f"processing item {n // 2} of {n}"}
    return len(orjson.dumps({"kind": "log", "ts": "2026-05-13T19:42:13.000Z", "body": body}))


async def buffered_bytes(n: int) -> float:
    """Heap bytes the runtime holds per unacknowledged event beyond its encoded payload."""
    runtime = _runtime(n + 1000)
    peer = _silent_client(n)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    serving = asyncio.ensure_future(runtime.serve(peer))
    try:
        await asyncio.wait_for(peer.done.wait(), 600)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        serving.cancel()
        with contextlib.suppress(BaseException):
            await serving
        await runtime.aclose()
    return held / n - _payload_size(n)


def _frame(type_: str, payload: dict[str, Any], seq: int) -> bytes:
    return orjson.dumps(
        {"arcp": "1.1", "id": f"01JD4ZQ8Y5K3N6P7R8S{seq:07d}", "type": type_, "payload": payload}
    )


async def finished_job_bytes(n: int) -> float:
    """Heap bytes the runtime holds per finished ``echo`` job of one session."""
    from arcp.transport import memory_pair

    runtime = _runtime(1000)
    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))
    hello = {
        "client": {"name": "bench", "version": "1"},
        "auth": {"scheme": "bearer", "token": "bench"},
        "capabilities": {"encodings": ["json"]},
    }
    try:
        await ours.send(_frame("session.hello", hello, 0))
        await ours.recv()

        async def one(i: int) -> None:
            await ours.send(_frame("job.submit", {"agent": "echo", "input": {"i": i}}, i + 1))
            while b'"job.result"' not in await ours.recv():
                pass

        await one(0)  # first-job allocations are not per-job costs
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(1, n + 1):
            await one(i)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    finally:
        await ours.close()
        serving.cancel()
        with contextlib.suppress(BaseException):
            await serving
        await runtime.aclose()
    return held / n


async def idle_session_bytes(n: int) -> tuple[float, float]:
    """Heap bytes per idle session (hello answered, then quiet) over the memory transport:
    the runtime with its connection, and the bare transport pairs alone (the baseline)."""
    from arcp.transport import memory_pair

    runtime = _runtime(1000)
    hello = {
        "client": {"name": "bench", "version": "1"},
        "auth": {"scheme": "bearer", "token": "bench"},
        "capabilities": {"encodings": ["json"], "features": ["ack", "list_jobs", "subscribe"]},
    }
    kept: list[Any] = []

    async def one(i: int) -> None:
        ours, theirs = memory_pair()
        kept.append((ours, asyncio.ensure_future(runtime.serve(theirs))))
        await ours.send(_frame("session.hello", hello, i))
        await ours.recv()

    try:
        for i in range(10):  # first-session allocations are not per-session costs
            await one(i)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            await one(i)
        await asyncio.sleep(0.05)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        pairs = [memory_pair() for _ in range(n)]
        bare = tracemalloc.get_traced_memory()[0] - before - held
        tracemalloc.stop()
        del pairs
    finally:
        for ours, serving in kept:
            await ours.close()
            serving.cancel()
            with contextlib.suppress(BaseException):
                await serving
        await runtime.aclose()
    return held / n, bare / n


async def run(
    repeats: int = 3,
    buffered: Sequence[int] = BUFFERED,
    jobs: int = FINISHED_JOBS,
    plot_dir: Path | None = PLOTS,
    idle_sessions: int = IDLE_SESSIONS,
) -> list[Figure]:
    """The memory curves; a PNG into ``plot_dir`` (``None``: no plot)."""
    figures: list[Figure] = []
    for n in buffered:
        figure = Figure(
            f"runtime memory per buffered event beyond its payload, {n:,} unacknowledged",
            "bytes",
            higher_is_better=False,
            note=f"tracemalloc; payload {_payload_size(n)} B; target ≤ 400 B, flat",
        )
        for _ in range(repeats if n < 1_000_000 else 1):
            start = time.perf_counter()
            figure.samples.append(await buffered_bytes(n))
            figure.note += f"; {time.perf_counter() - start:.1f} s"
        figures.append(figure)
    finished = Figure(
        f"runtime memory per finished job kept for listing ({jobs:,} echo jobs)",
        "bytes",
        higher_is_better=False,
        note="tracemalloc",
    )
    for _ in range(repeats):
        finished.samples.append(await finished_job_bytes(jobs))
    figures.append(finished)
    idle = Figure(
        f"runtime heap per idle session ({idle_sessions:,} sessions), memory transport",
        "bytes",
        higher_is_better=False,
        note="tracemalloc; baseline: the bare memory transport pairs; target ≤ 16 KiB",
    )
    for _ in range(repeats):
        held, bare = await idle_session_bytes(idle_sessions)
        idle.samples.append(held)
        idle.baseline.append(bare)
    figures.append(idle)
    if plot_dir is not None:
        plot.curve(
            plot_dir / "memory-per-buffered-event.png",
            "Runtime heap per buffered event beyond its payload",
            "unacknowledged events",
            "bytes per event",
            {"arcp": [(float(n), f.median) for n, f in zip(buffered, figures, strict=False)]},
        )
    return figures
