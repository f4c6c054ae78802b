"""Restart and resume-replay time against the number of buffered events, on SQLite.

For each size (10k, 100k, 1M unacknowledged events of one job in one detached session) a
runtime on a fresh SQLite file buffers the events and closes; a second runtime opens the
same file (the restart: ``Runtime.open()``) and replays them to ``session.resume`` with
``last_event_seq: 0`` (§6.3). The baseline is the same replay by a runtime without a store
that never restarted. Targets at 1M: replay < 3 s, restart < 5 s.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench import Figure, plot
from bench.stores import (
    _replay_no_store,  # pyright: ignore[reportPrivateUsage]
    _restart_replay,  # pyright: ignore[reportPrivateUsage]
)

__all__ = ["SIZES", "run"]

SIZES = (10_000, 100_000, 1_000_000)
PLOTS = Path(__file__).parent / "plots"
TARGETS_1M = {"replay": 3.0, "restart": 5.0}


async def _size(n: int, repeats: int, tmp: Path) -> list[Figure]:
    from arcp.store.sqlite import SQLiteStore

    restart = Figure(
        f"restart (open) with {n:,} buffered events, SQLite", "ms", higher_is_better=False
    )
    replay = Figure(
        f"resume replay of {n:,} events, SQLite after restart", "ms", higher_is_better=False
    )
    for i in range(repeats):
        _, base_sec = await _replay_no_store(n)
        path = tmp / f"restart-{n}-{i}.sqlite3"
        measured = await _restart_replay(lambda path=path: SQLiteStore(path), n)
        restart.samples.append(measured.open_sec * 1e3)
        replay.samples.append(measured.replay_sec * 1e3)
        replay.baseline.append(base_sec * 1e3)
        path.unlink(missing_ok=True)
    replay.note = "baseline: the same replay without a store or a restart"
    restart.note = "Runtime.open(): store.load() and restore; no baseline"
    if n == 1_000_000:
        for figure, key in ((replay, "replay"), (restart, "restart")):
            met = "met" if figure.median < TARGETS_1M[key] * 1e3 else "NOT met"
            figure.note += f"; target < {TARGETS_1M[key]:g} s: {met}"
    return [restart, replay]


async def run(
    repeats: int = 3, sizes: Sequence[int] = SIZES, plot_dir: Path | None = PLOTS
) -> list[Figure]:
    """The restart curve; a PNG into ``plot_dir`` (``None``: no plot)."""
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="arcp-bench-restart-") as name:
        for n in sizes:
            figures += await _size(n, repeats if n < 1_000_000 else 1, Path(name))
    if plot_dir is not None:
        restarts, replays = figures[0::2], figures[1::2]
        plot.curve(
            plot_dir / "restart-replay.png",
            "Restart and resume replay against buffered events (SQLite)",
            "buffered events",
            "ms",
            {
                "restart (open)": [
                    (float(n), f.median) for n, f in zip(sizes, restarts, strict=True)
                ],
                "replay after restart": [
                    (float(n), f.median) for n, f in zip(sizes, replays, strict=True)
                ],
                "replay, no store": [
                    (float(n), f.baseline_median or 0.0)
                    for n, f in zip(sizes, replays, strict=True)
                ],
            },
            logy=True,
        )
    return figures
