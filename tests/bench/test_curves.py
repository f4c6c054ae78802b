"""CI-sized runs of the benchmark scenarios (``make bench`` runs the full ones).

Smoke tests only: each scenario runs end to end at a tiny size and must produce its figures
with their baselines; no timing is asserted (figures swing with the machine's load). The
scenarios assert their own correctness (every event delivered once, in order).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench import Figure, plot


def _check(figures: list[Figure]) -> None:
    assert figures
    for figure in figures:
        assert figure.samples, figure.name
        assert all(sample == sample for sample in figure.samples), figure.name  # no NaN


def test_cost_curves_over_many_sessions(tmp_path: Path) -> None:
    from bench import scale

    figures = asyncio.run(
        scale.run(repeats=1, sessions=(1, 4), total=400, idle=5, plot_dir=tmp_path)
    )
    _check(figures)
    rates = [f for f in figures if f.unit == "events/s"]
    assert len(rates) == 2 and all(f.baseline for f in rates)
    if plot.available():
        assert (tmp_path / "sessions-throughput.png").stat().st_size > 0


def test_memory_curves() -> None:
    from bench import memory

    _check(
        asyncio.run(
            memory.run(repeats=1, buffered=(1_000,), jobs=20, plot_dir=None, idle_sessions=20)
        )
    )


def test_restart_and_replay_curve() -> None:
    from bench import restart

    figures = asyncio.run(restart.run(repeats=1, sizes=(500,), plot_dir=None))
    _check(figures)
    assert figures[1].baseline  # the replay without a store or restart


def test_two_nodes_on_one_postgres(postgres_dsn: str) -> None:
    from bench import cluster

    figures = cluster.run(repeats=1, events=400, sessions=2, dsn=postgres_dsn)
    _check(figures)
    assert {f.unit for f in figures} >= {"µs", "ms", "events/s", "s"}
