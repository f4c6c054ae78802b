"""Bounded versions of the reliability suite (#13 item 6); `make reliability` runs them long.

Each scenario drives a real client against a real runtime: faults injected by a loopback
proxy, `kill -9` of `arcp serve` on SQLite and on PostgreSQL (started by the test setup,
``tests/pg_cluster.py``), a flood of bad frames, and a
slow reader (see ``bench/reliability``). Every one asserts: no event lost, duplicated or
reordered, every terminal message exactly once, memory bounded.
"""

from __future__ import annotations

from pathlib import Path

from bench.reliability.crashes import kill_runtime
from bench.reliability.faults import fault_injection
from bench.reliability.floods import frame_flood_memory, slow_reader


async def test_jobs_survive_dropped_stalled_and_half_closed_connections() -> None:
    """§6.3, §6.4, §8.3: 30 faults while jobs stream; every job complete and in order."""
    figures = await fault_injection(30, events=1000)
    assert figures["faults"] >= 30 and figures["jobs"] >= 3


async def test_sqlite_runtime_killed_mid_stream_loses_nothing(tmp_path: Path) -> None:
    """§6.3, §7.3: `kill -9` and restart on the same SQLite file; jobs end exactly once."""
    figures = await kill_runtime(f"sqlite:{tmp_path / 's.db'}", 1, events=2000)
    assert figures["kills"] == 1 and figures["jobs"] >= 2


async def test_postgres_runtime_killed_mid_stream_loses_nothing(postgres_dsn: str) -> None:
    """§6.3, §7.2, §7.3: `kill -9` and restart on the same PostgreSQL database (a cluster
    node: idempotency keys are claimed on the database before the job row is written);
    every job ends exactly once, a resent submit is answered with its job."""
    figures = await kill_runtime(postgres_dsn, 1, events=2000)
    assert figures["kills"] == 1 and figures["jobs"] >= 2


async def test_a_flood_of_bad_frames_leaves_the_session_working() -> None:
    """wire-decisions: 20,000 random, truncated and mutated frames into one live session;
    each is answered, memory stays flat, and a job still runs end to end."""
    figures = await frame_flood_memory(20_000)
    assert figures["answered"] >= 20_000
    assert figures["rss_growth_mib"] < 64


async def test_slow_reader_gets_every_event_with_bounded_memory() -> None:
    """§13.2: 30,000 events to a client that stalls, then reads slowly."""
    figures = await slow_reader(30_000)
    assert figures["peak_session_buffer"] <= 1000 + 500 + 8
