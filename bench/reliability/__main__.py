"""``python -m bench.reliability`` (= ``make reliability``): the long reliability runs.

Runs every scenario at full length and writes the figures to ``bench/reliability/RESULTS.md``
(#13 item 6). ``tests/reliability`` runs the same scenarios bounded, in ``make check``.
``--quick`` runs short versions (to try the runner itself).
"""

from __future__ import annotations

import asyncio
import logging
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.reliability.crashes import kill_runtime
from bench.reliability.faults import fault_injection
from bench.reliability.floods import frame_flood, frame_flood_memory, slow_reader
from tests.pg_cluster import find_pg_bindir, start_cluster

RESULTS = Path(__file__).with_name("RESULTS.md")


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


async def _run(quick: bool) -> list[tuple[str, dict[str, Any]]]:
    scale = 0.02 if quick else 1.0
    figures: list[tuple[str, dict[str, Any]]] = []

    async def step(name: str, coro: Any) -> None:
        print(f"-- {name}", flush=True)
        result = await coro
        print(f"   {result}", flush=True)
        figures.append((name, result))

    await step(
        "fault injection (drop / stall / half-close)", fault_injection(max(20, int(1000 * scale)))
    )
    with tempfile.TemporaryDirectory() as tmp:
        await step(
            "kill -9, SQLite store",
            kill_runtime(f"sqlite:{tmp}/s.db", max(1, int(50 * scale)), events=2000),
        )
    bindir = find_pg_bindir()
    if bindir is None:
        print("-- kill -9, PostgreSQL store: skipped (no initdb/pg_ctl)", flush=True)
    else:
        with start_cluster(bindir) as cluster:
            await step(
                "kill -9, PostgreSQL store",
                kill_runtime(cluster.create_database(), max(1, int(50 * scale)), events=2000),
            )
    await step(
        "bad-frame flood, memory transport", frame_flood_memory(max(20_000, int(200_000 * scale)))
    )
    await step("bad-frame flood, WebSocket", frame_flood(max(2000, int(20_000 * scale))))
    await step(
        "slow reader",
        slow_reader(max(20_000, int(1_000_000 * scale)), high_water=5000, buffer_limit=10_000),
    )
    return figures


def _write(figures: list[tuple[str, dict[str, Any]]], seconds: float) -> None:
    lines = [
        "# Reliability runs (`make reliability`)",
        "",
        f"Commit {_commit()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, python"
        f" {platform.python_version()}, {platform.system()} {platform.machine()};"
        f" {seconds:.0f} s in all. Every scenario asserts that no event was lost, duplicated"
        " or reordered and that every job ended exactly once; a violation stops the run.",
        "",
        "| scenario | figures |",
        "| --- | --- |",
    ]
    for name, result in figures:
        text = ", ".join(f"{k} {v}" for k, v in result.items())
        lines.append(f"| {name} | {text} |")
    lines += [
        "",
        "`tests/reliability` runs the same scenarios bounded (30 faults, 1 kill on SQLite and",
        "1 on PostgreSQL, 20,000 bad frames, 30,000 slow-read events) in `make check`.",
        "",
    ]
    RESULTS.write_text("\n".join(lines))


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    quick = "--quick" in sys.argv[1:]
    started = time.perf_counter()
    figures = asyncio.run(_run(quick))
    _write(figures, time.perf_counter() - started)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
