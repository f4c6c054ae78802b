"""Cost curves over many sessions: throughput, delivery latency and memory per idle session.

Every point runs the runtime in its own process (``python -m bench._peer scale``) and the
clients in this one, over WebSocket on 127.0.0.1, beside a raw ``websockets`` baseline of the
same shape measured in the same run:

* **throughput**: ``k`` sessions (1, 10, 100, 1,000), all connected first, then each submits
  one job streaming ``total / k`` events; aggregate events/s from the first submit to the
  last result. The baseline: ``k`` bare connections, each streaming the same number of
  pre-encoded frames that the client parses with ``orjson``.
* **delivery latency**: the ``stamped`` agent writes ``time.monotonic_ns()`` into each log
  event; the client subtracts it from its own clock on receipt (one clock for every process
  of the machine). p50 and p99 per point.
* **memory per idle session**: the runtime process's resident set before and after ``k``
  sessions said hello and went quiet, divided by ``k``; the baseline is the same number of
  idle bare ``websockets`` connections to the raw server.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench import Figure, plot

__all__ = ["SESSIONS", "TOTAL_EVENTS", "run"]

SESSIONS = (1, 10, 100, 1000)
"""Concurrent sessions per point of the curves."""
TOTAL_EVENTS = 100_000
"""Events per point, shared among its sessions (at least 100 each)."""
IDLE_SESSIONS = 1000
CONNECT_BATCH = 50
PLOTS = Path(__file__).parent / "plots"


@dataclass
class _Peer:
    url: str
    pid: int


@contextlib.asynccontextmanager
async def _peer(mode: str) -> AsyncIterator[_Peer]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench._peer", mode, "0", stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().split()
    if not line or line[0] != "READY":
        raise RuntimeError(f"benchmark peer {mode!r} did not start")
    try:
        yield _Peer(f"ws://127.0.0.1:{line[1]}/arcp", proc.pid)
    finally:
        proc.terminate()
        await proc.wait()


def rss_bytes(pid: int) -> int:
    """The resident set of process ``pid`` (Linux ``/proc``)."""
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc status")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _batched(count: int, make: Any) -> list[Any]:
    """``count`` results of ``make()``, at most ``CONNECT_BATCH`` handshakes at a time."""
    out: list[Any] = []
    while len(out) < count:
        step = min(CONNECT_BATCH, count - len(out))
        out.extend(await asyncio.gather(*(make() for _ in range(step))))
    return out


# -- ARCP ------------------------------------------------------------------------------------


@dataclass
class _Point:
    rate: float
    latencies_us: list[float] = field(default_factory=list[float])


async def _arcp_clients(url: str, count: int) -> list[Any]:
    from arcp.client import Client

    async def one() -> Any:
        return await Client.connect(url, token="bench", heartbeat=False)

    return await _batched(count, one)


async def _arcp_job(client: Any, n: int, latencies: list[float]) -> int:
    handle = await client.submit("stamped", {"n": n})
    count = 0
    async for event in handle:
        message = getattr(event.payload.body, "message", None)
        if isinstance(message, str) and message.isdigit():
            latencies.append((time.monotonic_ns() - int(message)) / 1000)
            count += 1
    await handle.result()
    return count


async def arcp_point(url: str, sessions: int, per: int) -> _Point:
    """``sessions`` connected clients, each streaming one job of ``per`` events."""
    clients = await _arcp_clients(url, sessions)
    latencies: list[float] = []
    try:
        start = time.perf_counter()
        counts = await asyncio.gather(*(_arcp_job(c, per, latencies) for c in clients))
        elapsed = time.perf_counter() - start
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    if sum(counts) != sessions * per:
        raise RuntimeError(f"received {sum(counts)} of {sessions * per} events")
    return _Point(sessions * per / elapsed, latencies)


# -- raw websockets --------------------------------------------------------------------------


async def _raw_connections(url: str, count: int) -> list[ClientConnection]:
    async def one() -> ClientConnection:
        return await connect(url, compression=None, max_size=None, ping_interval=None)

    return await _batched(count, one)


async def _raw_job(ws: ClientConnection, n: int) -> int:
    await ws.send(str(n))
    count = 0
    async for frame in ws:
        if frame == "done":
            break
        orjson.loads(frame)
        count += 1
    return count


async def raw_point(url: str, sessions: int, per: int) -> float:
    """Events/s of ``sessions`` bare connections each streaming ``per`` frames."""
    conns = await _raw_connections(url, sessions)
    try:
        start = time.perf_counter()
        counts = await asyncio.gather(*(_raw_job(ws, per) for ws in conns))
        elapsed = time.perf_counter() - start
    finally:
        await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
    if sum(counts) != sessions * per:
        raise RuntimeError(f"raw: received {sum(counts)} of {sessions * per} frames")
    return sessions * per / elapsed


# -- idle memory -----------------------------------------------------------------------------


async def _idle_bytes(peer: _Peer, count: int, *, raw: bool) -> float:
    """Resident bytes the server process gains per idle connection (``raw``) or session."""
    opened: list[Any] = await (
        _raw_connections(peer.url, 1) if raw else _arcp_clients(peer.url, 1)
    )  # warm-up: first-connection allocations are not per-session costs
    await asyncio.sleep(0.5)
    before = rss_bytes(peer.pid)
    more = await (_raw_connections(peer.url, count) if raw else _arcp_clients(peer.url, count))
    await asyncio.sleep(1.0)
    after = rss_bytes(peer.pid)
    await asyncio.gather(*(c.close() for c in [*opened, *more]), return_exceptions=True)
    return (after - before) / count


# -- the run ---------------------------------------------------------------------------------


def _per_session(sessions: int, total: int) -> int:
    return max(total // sessions, 100)


async def _curves(
    repeats: int, sessions: Sequence[int], total: int
) -> tuple[dict[int, list[_Point]], dict[int, list[float]]]:
    arcp: dict[int, list[_Point]] = {k: [] for k in sessions}
    raw: dict[int, list[float]] = {k: [] for k in sessions}
    async with _peer("scale") as ours, _peer("raw") as theirs:
        await arcp_point(ours.url, 1, 100)  # warm both ends
        await raw_point(theirs.url, 1, 100)
        for _ in range(repeats):
            for k in sessions:
                per = _per_session(k, total)
                arcp[k].append(await arcp_point(ours.url, k, per))
                raw[k].append(await raw_point(theirs.url, k, per))
    return arcp, raw


async def _idle(repeats: int, count: int) -> Figure:
    figure = Figure(
        f"runtime memory per idle session ({count:,} sessions), WebSocket",
        "bytes",
        higher_is_better=False,
        note="RSS of the runtime process; baseline: idle bare websockets connections",
    )
    for _ in range(repeats):
        async with _peer("scale") as ours:
            figure.samples.append(await _idle_bytes(ours, count, raw=False))
        async with _peer("raw") as theirs:
            figure.baseline.append(await _idle_bytes(theirs, count, raw=True))
    return figure


def _figures(
    arcp: dict[int, list[_Point]], raw: dict[int, list[float]], total: int
) -> list[Figure]:
    out: list[Figure] = []
    for k, points in arcp.items():
        per = _per_session(k, total)
        out.append(
            Figure(
                f"events/s, {k:,} sessions x {per:,} events, WebSocket",
                "events/s",
                samples=[p.rate for p in points],
                baseline=raw[k],
            )
        )
        for q in (0.5, 0.99):
            out.append(
                Figure(
                    f"delivery latency p{round(q * 100)}, {k:,} sessions",
                    "µs",
                    samples=[percentile(p.latencies_us, q) for p in points],
                    higher_is_better=False,
                    note="agent emit → client receipt, monotonic clock",
                )
            )
    return out


def _plot(figures: list[Figure], sessions: Sequence[int], plot_dir: Path | None) -> None:
    if plot_dir is None:
        return
    rate = {f.name.split(" sessions")[0].split(", ")[1]: f for f in figures if "/s" in f.unit}
    arcp_rate = [(float(k), rate[f"{k:,}"].median) for k in sessions]
    raw_rate = [(float(k), rate[f"{k:,}"].baseline_median or 0.0) for k in sessions]
    plot.curve(
        plot_dir / "sessions-throughput.png",
        "Aggregate events/s over WebSocket",
        "concurrent sessions",
        "events/s",
        {"arcp": arcp_rate, "raw websockets": raw_rate},
    )
    lat = {f.name: f for f in figures if f.unit == "µs"}
    plot.curve(
        plot_dir / "sessions-latency.png",
        "Delivery latency (agent emit → client receipt)",
        "concurrent sessions",
        "µs",
        {
            q: [(float(k), lat[f"delivery latency {q}, {k:,} sessions"].median) for k in sessions]
            for q in ("p50", "p99")
        },
        logy=True,
    )


async def run(
    repeats: int = 3,
    sessions: Sequence[int] = SESSIONS,
    total: int = TOTAL_EVENTS,
    idle: int = IDLE_SESSIONS,
    plot_dir: Path | None = PLOTS,
) -> list[Figure]:
    """The cost curves; PNGs into ``plot_dir`` (``None``: no plots)."""
    arcp, raw = await _curves(repeats, sessions, total)
    figures = _figures(arcp, raw, total)
    one, most = figures[0], figures[-3]
    figures.append(
        Figure(
            f"aggregate events/s at {sessions[-1]:,} sessions / at 1 session",
            "x",
            samples=[most.median / one.median],
            note="target ≥ 0.8",
        )
    )
    figures.append(await _idle(repeats, idle))
    _plot(figures, sessions, plot_dir)
    return figures
