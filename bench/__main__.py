"""``python -m bench [NAME ...] [--repeats N] [--json PATH]``: run benchmarks, print a table.

With no NAME every available benchmark runs, in the order of ``BENCHMARKS``. A benchmark is
a module with ``run(repeats=...)`` returning figures (a coroutine is awaited); each figure has
``name``, ``unit``, ``samples``, ``baseline``, ``median``, ``baseline_median``, ``ratio``,
``higher_is_better`` and ``note`` (see :class:`bench.Figure`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import inspect
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Protocol

BENCHMARKS: dict[str, tuple[str, str]] = {
    "codec": ("bench.codec", "decode/encode of one job.event frame vs plain orjson"),
    "events": ("bench.events", "end-to-end event throughput, latency, memory vs raw websockets"),
    "stores": ("bench.stores", "event throughput, buffer memory, restart replay per store"),
    "latency": ("bench.latency", "submit -> accepted p50/p99 vs a raw frame echo, interleaved"),
    "instructions": ("bench.instructions", "CPU instructions per event and round trip (perf)"),
    "scale": ("bench.scale", "cost curves: 1-1,000 sessions, delivery latency, idle memory"),
    "memory": (
        "bench.memory",
        "runtime memory per buffered event (to 1M), finished job, idle session",
    ),
    "restart": ("bench.restart", "SQLite restart and resume replay at 10k, 100k, 1M events"),
    "cluster": ("bench.cluster", "two nodes on one PostgreSQL: cross-node latency, takeover"),
    "importtime": (
        "bench.importtime",
        "start-up: import arcp, first decode, arcp --help vs python",
    ),
}


class FigureLike(Protocol):
    name: str
    unit: str
    samples: list[float]
    baseline: list[float]
    higher_is_better: bool
    note: str

    @property
    def median(self) -> float: ...

    @property
    def baseline_median(self) -> float | None: ...

    @property
    def ratio(self) -> float | None: ...


def _available(name: str) -> bool:
    return importlib.util.find_spec(BENCHMARKS[name][0]) is not None


def _run(name: str, repeats: int | None) -> list[FigureLike]:
    module = importlib.import_module(BENCHMARKS[name][0])
    kwargs: dict[str, Any] = {} if repeats is None else {"repeats": repeats}
    result = module.run(**kwargs)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    return list(result)


def _is_rate(unit: str) -> bool:
    return unit.endswith("/s")


def _cell(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if _is_rate(unit):
        per = unit.removesuffix("/s").removesuffix("s")  # "ops/s" -> "op"
        return f"{value:,.0f} {unit} ({1e6 / value:.2f} µs/{per})"
    return f"{value:,.1f} {unit}"


def _table(figures: Sequence[FigureLike]) -> str:
    rows = [
        "| benchmark | ARCP (median) | baseline (median) | ARCP / baseline | note |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for fig in figures:
        if not fig.samples:  # skipped (the note says why)
            rows.append(f"| {fig.name} | - | - | - | {fig.note} |")
            continue
        ratio = "-" if fig.ratio is None else f"{fig.ratio:.3f}"
        rows.append(
            f"| {fig.name} | {_cell(fig.median, fig.unit)} | "
            f"{_cell(fig.baseline_median, fig.unit)} | {ratio} | {fig.note} |"
        )
    return "\n".join(rows)


def _figure_json(fig: FigureLike) -> dict[str, Any]:
    if not fig.samples:  # skipped (the note says why)
        return {"name": fig.name, "unit": fig.unit, "skipped": True, "note": fig.note}
    out: dict[str, Any] = {
        "name": fig.name,
        "unit": fig.unit,
        "median": fig.median,
        "baseline_median": fig.baseline_median,
        "ratio": fig.ratio,
        "higher_is_better": fig.higher_is_better,
        "samples": list(fig.samples),
        "baseline": list(fig.baseline),
        "note": fig.note,
    }
    if _is_rate(fig.unit):
        out["median_us_per_op"] = 1e6 / fig.median
        base = fig.baseline_median
        out["baseline_us_per_op"] = None if not base else 1e6 / base
    return out


def _versions() -> dict[str, str]:
    found: dict[str, str] = {"python": platform.python_version()}
    for dist in ("arcp-sdk", "pydantic", "pydantic-core", "orjson", "websockets"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all available): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--repeats", type=int, help="repeats per figure (default: per benchmark)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    if args.list:
        for name, (_, what) in BENCHMARKS.items():
            state = "" if _available(name) else " (not available)"
            print(f"{name:8} {what}{state}")
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; try --list")
    names: list[str] = args.names or [n for n in BENCHMARKS if _available(n)]
    missing = [n for n in names if not _available(n)]
    if missing:
        parser.error(f"benchmark(s) not available in this checkout: {', '.join(missing)}")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")

    versions = _versions()
    print(
        "# arcp benchmarks\n\n"
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f"; {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs\n"
    )
    results: dict[str, Any] = {}
    failed: list[str] = []
    for name in names:
        started = time.perf_counter()
        try:
            figures = _run(name, args.repeats)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            print(f"## {name}\n\nFAILED: {type(exc).__name__}: {exc}\n", flush=True)
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            failed.append(name)
            continue
        took = time.perf_counter() - started
        print(f"## {name}\n\n{_table(figures)}\n\n({took:.1f} s)\n", flush=True)
        results[name] = {"seconds": took, "figures": [_figure_json(f) for f in figures]}

    if args.json is not None:
        doc = {"versions": versions, "cpus": os.cpu_count(), "benchmarks": results}
        args.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
