"""Two runtime nodes on one PostgreSQL database, each in its own process (``bench._peer node``).

* **cross-node delivery**: a session on node A submits a ``paced`` job; a session of the
  same principal on node B subscribes to it (§7.6). Delivery latency (agent emit → receipt)
  on B, beside the submitter's own on A (the baseline, same run).
* **cross-node resume**: the submitting session reads part of the stream, closes (§6.7), and
  is resumed on node B from its ticket (§6.3); the time to the first replayed event, and
  the whole stream checked.
* **throughput**: ``k`` sessions streaming ``firehose`` jobs, split over two nodes, against
  the same ``k`` sessions on one node (the baseline).
* **takeover**: node A is killed (``kill -9``) while its job streams to a subscriber on B;
  the time until B ends the dead node's job (§7.3, §12) and the subscriber sees it end.

Every stream is checked: no event lost, duplicated or reordered (the agent's stamps are
unique and increasing). PostgreSQL comes from ``tests.pg_cluster`` (a throwaway cluster);
without its binaries the benchmark is skipped with a note.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from bench import Figure
from bench.scale import percentile

__all__ = ["run"]


@dataclass
class _Node:
    url: str
    proc: asyncio.subprocess.Process


@contextlib.asynccontextmanager
async def _node(dsn: str, node_id: str) -> AsyncIterator[_Node]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench._peer", "node", "0", dsn, node_id, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().split()
    if not line or line[0] != "READY":
        raise RuntimeError(f"cluster node {node_id} did not start")
    try:
        yield _Node(f"ws://127.0.0.1:{line[1]}/arcp", proc)
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


async def _client(url: str, *, reconnect: bool = True) -> Any:
    from arcp.client import Client

    return await Client.connect(url, token="bench", heartbeat=False, reconnect=reconnect)


def check_stream(stamps: Sequence[int], n: int, where: str) -> None:
    """Exactly ``n`` events, none lost, duplicated or out of order."""
    if len(stamps) != n or any(b <= a for a, b in itertools.pairwise(stamps)):
        raise RuntimeError(f"{where}: {len(stamps)} of {n} events, or out of order")


async def _collect(stream: Any, stamps: list[int], lat_us: list[float], stop: int = 0) -> None:
    """Read ``stream`` (to its end, or ``stop`` events) recording stamps and latency."""
    async for event in stream:
        message = getattr(event.payload.body, "message", "")
        if isinstance(message, str) and message.isdigit():
            stamps.append(int(message))
            lat_us.append((time.monotonic_ns() - int(message)) / 1000)
            if stop and len(stamps) >= stop:
                return


async def _cross_node(a: _Node, b: _Node, n: int) -> tuple[list[float], list[float]]:
    """Latencies on A (submitter) and on B (subscriber) of one ``paced`` job."""
    ca, cb = await _client(a.url), await _client(b.url)
    try:
        handle = await ca.submit("paced", {"n": n, "interval_ms": 2})
        sub = await cb.subscribe(handle.job_id, history=True, from_event_seq=0)
        on_a: tuple[list[int], list[float]] = ([], [])
        on_b: tuple[list[int], list[float]] = ([], [])
        await asyncio.gather(_collect(handle, *on_a), _collect(sub, *on_b))
        check_stream(on_a[0], n, "submitter on A")
        check_stream(on_b[0], n, "subscriber on B")
        return on_a[1], on_b[1]
    finally:
        await asyncio.gather(ca.close(), cb.close(), return_exceptions=True)


async def _resume_elsewhere(a: _Node, b: _Node, n: int) -> float:
    """Seconds from ``Client.resume`` on B to the first event after the one last read on A."""
    from arcp.client import Client

    ca = await _client(a.url)
    handle = await ca.submit("paced", {"n": n, "interval_ms": 1})
    stamps: list[int] = []
    await _collect(handle, stamps, [], stop=n // 2)
    # Events received but not yet read are covered by the ticket's last_event_seq ("seen"),
    # so the resumed session does not replay them: they are not expected on B.
    unread = handle.backlog
    ticket = ca.session_ticket()
    await ca.close()
    start = time.perf_counter()
    cb = await Client.resume(b.url, ticket)
    first = 0.0
    try:
        resumed = cb.job(handle.job_id)
        if resumed is None:
            raise RuntimeError("the resumed session does not know its job")
        async for event in resumed:
            message = getattr(event.payload.body, "message", "")
            if isinstance(message, str) and message.isdigit():
                first = first or time.perf_counter() - start
                stamps.append(int(message))
    finally:
        await cb.close()
    check_stream(stamps, n - unread, "resumed on B")
    return first


async def _stream(url: str, n: int) -> None:
    client = await _client(url)
    try:
        handle = await client.submit("stamped", {"n": n})
        stamps: list[int] = []
        await _collect(handle, stamps, [])
        check_stream(stamps, n, "throughput")
    finally:
        await client.close()


async def _throughput(urls: Sequence[str], sessions: int, n: int) -> float:
    start = time.perf_counter()
    await asyncio.gather(*(_stream(urls[i % len(urls)], n) for i in range(sessions)))
    return sessions * n / (time.perf_counter() - start)


async def _takeover(dsn: str, b: _Node) -> float:
    """Seconds from ``kill -9`` of a node running a job to its end seen on node B."""
    async with _node(dsn, "bench-doomed") as doomed:
        ca = await _client(doomed.url, reconnect=False)
        handle = await ca.submit("paced", {"n": 1_000_000, "interval_ms": 5})
        cb = await _client(b.url)
        try:
            sub = await cb.subscribe(handle.job_id, history=False)
            await asyncio.sleep(0.5)
            os.kill(doomed.proc.pid, signal.SIGKILL)
            start = time.perf_counter()
            with contextlib.suppress(Exception):
                async for _event in sub:
                    pass
                await sub.result()
            return time.perf_counter() - start
        finally:
            await asyncio.gather(ca.close(), cb.close(), return_exceptions=True)


async def _scenarios(dsn: str, repeats: int, events: int, sessions: int) -> list[Figure]:
    same = Figure("delivery latency p50, submitter on node A", "µs", higher_is_better=False)
    cross50 = Figure("delivery latency p50, subscriber on node B", "µs", higher_is_better=False)
    cross99 = Figure("delivery latency p99, subscriber on node B", "µs", higher_is_better=False)
    resume = Figure("session resumed on node B: first event", "ms", higher_is_better=False)
    two = Figure(f"events/s, {sessions} sessions, two nodes", "events/s")
    takeover = Figure("a killed node's job ended by node B", "s", higher_is_better=False)
    async with _node(dsn, "bench-a") as a, _node(dsn, "bench-b") as b:
        for _ in range(repeats):
            on_a, on_b = await _cross_node(a, b, events // 10)
            same.samples.append(percentile(on_a, 0.5))
            cross50.samples.append(percentile(on_b, 0.5))
            cross50.baseline.append(percentile(on_a, 0.5))
            cross99.samples.append(percentile(on_b, 0.99))
            cross99.baseline.append(percentile(on_a, 0.99))
            resume.samples.append(await _resume_elsewhere(a, b, events // 10) * 1e3)
            per = events // sessions
            two.samples.append(await _throughput([a.url, b.url], sessions, per))
            two.baseline.append(await _throughput([a.url], sessions, per))
        takeover.samples.append(await _takeover(dsn, b))
    cross50.note = cross99.note = "baseline: the submitter on node A, same job"
    two.note = "baseline: the same sessions on node A alone"
    takeover.note = "kill -9 → the subscriber on B sees the job end (dead-node detection)"
    return [same, cross50, cross99, resume, two, takeover]


def run(
    repeats: int = 3, events: int = 20_000, sessions: int = 20, dsn: str | None = None
) -> list[Figure]:
    """Every two-node scenario on database ``dsn`` (default: a throwaway cluster); ``[]`` with
    a printed note without PostgreSQL binaries."""
    if dsn is not None:
        return asyncio.run(_scenarios(dsn, repeats, events, sessions))
    from tests.pg_cluster import find_pg_bindir, start_cluster

    bindir = find_pg_bindir()
    if bindir is None:
        print("cluster: skipped, no PostgreSQL binaries (initdb, pg_ctl) found")
        return []
    with start_cluster(bindir) as cluster:
        return asyncio.run(_scenarios(cluster.create_database(), repeats, events, sessions))
