"""Durable stores: event throughput, buffer memory and restart replay, each beside no store.

Every store figure is measured in the same run as the same work on a runtime without a
store (the baseline), interleaved repeat by repeat, and reported as a ratio of medians:

- events/s of one job's 20,000 ``ctx.log`` events delivered end to end over the memory
  transport, for ``MemoryStore``, ``SQLiteStore`` (a file in a temporary directory) and
  ``PostgresStore`` (a throwaway cluster from ``tests.pg_cluster``; skipped with a note when
  there are no PostgreSQL binaries);
- runtime memory (tracemalloc) per buffered event of a session that never acknowledges;
- a restart with 100,000 buffered events on SQLite: ``Runtime.open()`` (loading them) and the
  replay to a ``session.resume`` with ``last_event_seq: 0``, beside the replay from the same
  no-store runtime without a restart (run after the PostgreSQL cluster has stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from bench import Figure
from bench.events import _SilentClient, arcp_stream  # pyright: ignore[reportPrivateUsage]

if TYPE_CHECKING:
    from arcp.runtime import Runtime
    from arcp.store import Batch, Snapshot, Store
    from tests.pg_cluster import PostgresCluster

__all__ = ["run"]

EVENTS = 20_000
"""Events per job for the throughput and memory figures (as in ``bench/events.py``)."""
REPLAY_EVENTS = 100_000
"""Buffered events of the session the restart figures resume."""
REPLAY_TARGET_SEC = 1.0
"""Target for ``open()`` + replay of ``REPLAY_EVENTS`` with SQLite."""

MakeStore = Callable[[], Awaitable["Store | None"]]

_ids = itertools.count(1)


def _frame(type_: str, payload: dict[str, Any]) -> bytes:
    """One client envelope (§5) with a fresh id."""
    return orjson.dumps(
        {
            "arcp": "1.1",
            "id": f"01JD4ZQ8Y5K3N6P7R8{next(_ids):08d}",
            "type": type_,
            "payload": payload,
        }
    )


def _hello() -> bytes:
    return _frame(
        "session.hello",
        {
            "client": {"name": "bench", "version": "1"},
            "auth": {"scheme": "bearer", "token": "bench"},
            "capabilities": {"encodings": ["json"], "features": ["ack"]},
        },
    )


def _submit(n: int) -> bytes:
    return _frame("job.submit", {"agent": "firehose", "input": {"n": n}})


def _runtime(store: Store | None, buffer_limit: int = 100_000) -> Runtime:
    from arcp.runtime import Runtime
    from bench._peer import firehose

    runtime = Runtime(
        tokens={"bench": "bench"},
        heartbeat_interval_sec=300,
        buffer_limit=buffer_limit,
        store=store,
    )
    runtime.register("firehose", firehose)
    return runtime


async def _stop(runtime: Runtime, serving: asyncio.Future[None] | None = None) -> None:
    await runtime.aclose()
    if serving is not None:
        serving.cancel()
        with contextlib.suppress(BaseException):
            await serving


@dataclass
class _Config:
    """A store under test: ``make`` returns a fresh, empty store per run."""

    label: str
    make: MakeStore


# -- 1. throughput ---------------------------------------------------------------------------


async def _stream(store: Store | None, n: int) -> float:
    """events/s of one job's ``n`` log events through the client (handshake excluded)."""
    from arcp.transport import memory_pair

    runtime = _runtime(store)
    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))
    try:
        return await arcp_stream(ours, n)
    finally:
        await _stop(runtime, serving)


# -- 2. memory -------------------------------------------------------------------------------


async def _bytes_per_event(store: Store | None, n: int) -> float:
    """Runtime memory (tracemalloc) per event a silent, never-acking client leaves buffered.

    The store is opened before tracing starts, so its connection and schema check are not
    counted; what the store keeps per event (copies, pending rows) is.
    """
    runtime = _runtime(store)
    await runtime.open()
    peer = _SilentClient([_hello(), _submit(n)])
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    serving = asyncio.ensure_future(runtime.serve(peer))
    await asyncio.wait_for(peer.done.wait(), 300)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    await _stop(runtime, serving)
    return held / n


def _payload_size(n: int) -> int:
    body = {"level": "info", "message": f"processing item {n // 2} of {n}"}
    return len(orjson.dumps({"kind": "log", "ts": "2026-05-13T19:42:13.000Z", "body": body}))


# -- 3. restart and replay -------------------------------------------------------------------


class _TimedStore:
    """A store that remembers how long its last ``load`` took."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.load_sec = 0.0

    async def open(self) -> None:
        await self.inner.open()

    async def commit(self, batch: Batch) -> None:
        await self.inner.commit(batch)

    async def load(self) -> Snapshot:
        start = time.perf_counter()
        snapshot = await self.inner.load()
        self.load_sec = time.perf_counter() - start
        return snapshot

    async def close(self) -> None:
        await self.inner.close()


class _RawConnection:
    """Raw frames over a memory transport to ``runtime`` (no client library in the way)."""

    def __init__(self, runtime: Runtime) -> None:
        from arcp.transport import memory_pair

        self.ours, theirs = memory_pair()
        self.serving = asyncio.ensure_future(runtime.serve(theirs))

    async def welcome(self, first: bytes) -> dict[str, Any]:
        """Send ``first`` (hello or resume) and return the welcome's payload."""
        await self.ours.send(first)
        reply = orjson.loads(await self.ours.recv())
        if reply.get("type") != "session.welcome":
            raise RuntimeError(f"expected session.welcome, got {reply}")
        payload: dict[str, Any] = reply["payload"]
        payload.setdefault("session_id", reply.get("session_id"))
        return payload

    async def drain(self) -> int:
        """Receive up to the job's terminal frame; the number of ``job.event`` frames."""
        events = 0
        while True:
            frame = await self.ours.recv()
            if b'"job.event"' in frame:
                events += 1
            elif b'"job.result"' in frame or b'"job.error"' in frame:
                return events

    async def close(self) -> None:
        """Disconnect; the session stays, detached, until the runtime is asked to resume it."""
        await self.ours.close()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(self.serving, 10)


async def _fill(runtime: Runtime, n: int) -> tuple[str, str, float]:
    """A session that received one job's ``n`` events and acknowledged none, then
    disconnected: ``(session_id, resume_token, events/s while filling)``."""
    conn = _RawConnection(runtime)
    welcome = await conn.welcome(_hello())
    start = time.perf_counter()
    await conn.ours.send(_submit(n))
    received = await conn.drain()
    rate = received / (time.perf_counter() - start)
    await conn.close()
    if received < n:
        raise RuntimeError(f"filled {received} of {n} events")
    return str(welcome["session_id"]), str(welcome["resume_token"]), rate


async def _replay(runtime: Runtime, session_id: str, token: str, n: int) -> float:
    """Seconds from sending ``session.resume`` (``last_event_seq: 0``) to the last replayed
    frame on a fresh connection."""
    conn = _RawConnection(runtime)
    resume = _frame(
        "session.resume",
        {"session_id": session_id, "resume_token": token, "last_event_seq": 0},
    )
    start = time.perf_counter()
    await conn.welcome(resume)
    received = await conn.drain()
    elapsed = time.perf_counter() - start
    await conn.close()
    if received < n:
        raise RuntimeError(f"replayed {received} of {n} events")
    return elapsed


@dataclass
class _Restart:
    fill_rate: float
    open_sec: float
    load_sec: float
    replay_sec: float


async def _restart_replay(make: Callable[[], Store], n: int) -> _Restart:
    """Runtime A buffers ``n`` events for a silent session and closes; runtime B opens the
    same state (``make`` returns a store on it) and replays them to ``session.resume``."""
    limit = 2 * n  # the cap must hold every event, the back-pressure status and the result
    runtime_a = _runtime(make(), limit)
    session_id, token, rate = await _fill(runtime_a, n)
    await runtime_a.aclose()
    timed = _TimedStore(make())  # a new store object on the same file, as a new process
    runtime_b = _runtime(timed, limit)
    start = time.perf_counter()
    await runtime_b.open()
    open_sec = time.perf_counter() - start
    try:
        replay_sec = await _replay(runtime_b, session_id, token, n)
    finally:
        await runtime_b.aclose()
    return _Restart(rate, open_sec, timed.load_sec, replay_sec)


async def _replay_no_store(n: int) -> tuple[float, float]:
    """The baseline: the same session replayed by the runtime that buffered it (no restart):
    ``(events/s while filling, replay seconds)``."""
    runtime = _runtime(None, 2 * n)
    try:
        session_id, token, rate = await _fill(runtime, n)
        return rate, await _replay(runtime, session_id, token, n)
    finally:
        await runtime.aclose()


# -- configurations --------------------------------------------------------------------------


async def _memory_store() -> Store | None:
    from arcp.store import MemoryStore

    return MemoryStore()


def _sqlite_files(tmp: Path) -> MakeStore:
    """A factory of SQLite stores, each on a new file in ``tmp``."""
    from arcp.store.sqlite import SQLiteStore

    files = itertools.count()

    async def make() -> Store | None:
        return SQLiteStore(tmp / f"stream-{next(files)}.sqlite3")

    return make


def _postgres_maker(cluster: PostgresCluster) -> MakeStore:
    from arcp.store.postgres import PostgresStore

    async def make() -> Store | None:
        return PostgresStore(await asyncio.to_thread(cluster.create_database))

    return make


def _start_postgres(stack: contextlib.ExitStack) -> tuple[PostgresCluster | None, str]:
    """A throwaway cluster for the run, or None and why not."""
    try:
        import arcp.store.postgres  # noqa: F401  (psycopg and the store itself)
        from tests.pg_cluster import find_pg_bindir, start_cluster
    except ImportError as exc:
        return None, f"skipped: {exc}"
    bindir = find_pg_bindir()
    if bindir is None:
        return None, "skipped: no PostgreSQL binaries (initdb, pg_ctl) found"
    try:
        return stack.enter_context(start_cluster(bindir)), f"PostgreSQL {bindir.parent.name}"
    except Exception as exc:  # a cluster that does not start must not hide the other figures
        return None, f"skipped: the cluster did not start: {exc}"


# -- the run ---------------------------------------------------------------------------------


async def _per_store(
    repeats: int, tmp: Path, cluster: PostgresCluster | None, pg_note: str, events: int
) -> list[Figure]:
    """Figures 1 and 2: throughput and buffer memory, every store beside no store."""
    configs = [_Config("MemoryStore", _memory_store), _Config("SQLiteStore", _sqlite_files(tmp))]
    if cluster is not None:
        configs.append(_Config("PostgresStore", _postgres_maker(cluster)))
    payload = _payload_size(events)
    figures: list[Figure] = []

    # warm every path once (imports, first connection, schema creation)
    await _stream(None, 1000)
    for config in configs:
        await _stream(await config.make(), 1000)

    # 1. throughput: interleave so machine noise hits every store and the baseline alike
    baseline: list[float] = []
    rates: dict[str, list[float]] = {c.label: [] for c in configs}
    for _ in range(repeats):
        baseline.append(await _stream(None, events))
        for config in configs:
            rates[config.label].append(await _stream(await config.make(), events))
    for config in configs:
        fig = Figure(f"events/s, 1 job x {events:,} events, {config.label}", "events/s")
        fig.samples, fig.baseline = rates[config.label], baseline
        fig.note = "memory transport, one process; baseline: no store"
        if config.label == "PostgresStore":
            fig.note += f"; {pg_note}, fsync off"
        figures.append(fig)
    if cluster is None:
        figures.append(
            Figure(f"events/s, 1 job x {events:,} events, PostgresStore", "events/s", note=pg_note)
        )

    # 2. memory per buffered event (tracemalloc slows the run ~2x: fewer repeats)
    mem_repeats = max(1, min(3, repeats))
    mem_base: list[float] = []
    held: dict[str, list[float]] = {c.label: [] for c in configs}
    for _ in range(mem_repeats):
        mem_base.append(await _bytes_per_event(None, events))
        for config in configs:
            held[config.label].append(await _bytes_per_event(await config.make(), events))
    for config in configs:
        fig = Figure(
            f"runtime memory per buffered event, {config.label}", "bytes", higher_is_better=False
        )
        fig.samples, fig.baseline = held[config.label], mem_base
        fig.note = (
            f"{events:,} unacknowledged events, payload ≈ {payload} bytes; tracemalloc "
            f"(Python heap only); baseline: no store; {mem_repeats} repeats"
        )
        figures.append(fig)
    return figures


async def _restarts(repeats: int, tmp: Path, replay_events: int) -> list[Figure]:
    """Figure 3: a restart with 100k buffered events on SQLite vs a replay without one."""
    from arcp.store.sqlite import SQLiteStore

    replay_repeats = max(1, min(3, repeats))  # ~7 s each: keeps the default run near 2 min
    fill = Figure(f"events/s filling {replay_events:,} unacknowledged events, SQLite", "events/s")
    opened = Figure(
        f"open() after restart: load {replay_events:,} events, SQLite", "ms", higher_is_better=False
    )
    replay = Figure(
        f"resume replay of {replay_events:,} events, SQLite after restart",
        "ms",
        higher_is_better=False,
    )
    total = Figure(
        f"restart total: open() + replay of {replay_events:,} events, SQLite",
        "ms",
        higher_is_better=False,
    )
    loads: list[float] = []
    for i in range(replay_repeats):
        base_rate, base_sec = await _replay_no_store(replay_events)
        path = tmp / f"restart-{i}.sqlite3"
        restart = await _restart_replay(lambda path=path: SQLiteStore(path), replay_events)
        fill.baseline.append(base_rate)
        fill.samples.append(restart.fill_rate)
        replay.baseline.append(base_sec * 1e3)
        replay.samples.append(restart.replay_sec * 1e3)
        total.baseline.append(base_sec * 1e3)
        total.samples.append((restart.open_sec + restart.replay_sec) * 1e3)
        opened.samples.append(restart.open_sec * 1e3)
        loads.append(restart.load_sec * 1e3)
    met = "met" if total.median < REPLAY_TARGET_SEC * 1e3 else "NOT met"
    fill.note = f"raw frames, never acked; baseline: no store; {replay_repeats} repeats"
    opened.note = (
        f"store.load() {statistics.median(loads):,.0f} ms of it; no baseline "
        "(nothing to load without a store)"
    )
    replay.note = "session.resume last_event_seq 0 → last frame; baseline: no store, no restart"
    total.note = f"target < {REPLAY_TARGET_SEC:g} s: {met}; baseline: no-store replay alone"
    return [fill, opened, replay, total]


def run(
    repeats: int = 5,
    events: int = EVENTS,
    replay_events: int = REPLAY_EVENTS,
    cluster: PostgresCluster | None = None,
) -> list[Figure]:
    """Run every store benchmark and return the figures. Smaller ``events`` and
    ``replay_events`` make the CI smoke run, which passes the test suite's ``cluster``."""
    with tempfile.TemporaryDirectory(prefix="arcp-bench-stores-") as name:
        tmp = Path(name)
        with contextlib.ExitStack() as stack:
            pg_note = "PostgreSQL (the caller's cluster)"
            if cluster is None:
                cluster, pg_note = _start_postgres(stack)
            figures = asyncio.run(_per_store(repeats, tmp, cluster, pg_note, events))
        # the cluster is stopped first: its background writers would share the two cores
        figures += asyncio.run(_restarts(repeats, tmp, replay_events))
    return figures
