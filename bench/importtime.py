"""Start-up cost: a fresh interpreter that imports ``arcp``, beside ``python -c pass``.

Each scenario is a new process (``sys.executable``), with byte-code caching on (an earlier
warm-up run writes the ``.pyc`` files, as an installed package has them), timed from spawn to
exit; the scenarios are interleaved within a repeat so machine noise lands on all of them.
Two figures per scenario: wall time, and the child's CPU time (user + system), which a busy
machine moves less.

- ``import arcp``: what a library user pays for the top-level package.
- ``from arcp import Client``: the client, its protocol core, the models and transports.
- first decode: ``from arcp.codec import decode`` and one ``decode`` of the benchmark
  ``job.event`` frame; validators are compiled on first use, so this is where they are paid.
- ``arcp --help``: the CLI's entry point.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

from bench import Figure
from bench.frames import event_frame

__all__ = ["SCENARIOS", "run"]

_FRAME = event_frame(1)

SCENARIOS: dict[str, list[str]] = {
    "import arcp": ["-c", "import arcp"],
    "from arcp import Client": ["-c", "from arcp import Client"],
    "first decode": [
        "-c",
        f"from arcp.codec import decode; decode({_FRAME!r})",
    ],
    "arcp --help": ["-m", "arcp", "--help"],
}
_BASELINE = ["-c", "pass"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its .pyc files
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def _once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and child CPU seconds for one interpreter running ``args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run(repeats: int = 9) -> list[Figure]:
    env = _env()
    for args in [_BASELINE, *SCENARIOS.values()]:
        _once(args, env)  # warm-up: writes byte code, fills the page cache
    walls: dict[str, list[float]] = {name: [] for name in ["pass", *SCENARIOS]}
    cpus: dict[str, list[float]] = {name: [] for name in walls}
    for _ in range(repeats):
        for name, args in [("pass", _BASELINE), *SCENARIOS.items()]:
            wall, cpu = _once(args, env)
            walls[name].append(wall * 1e3)
            cpus[name].append(cpu * 1e3)
    figures: list[Figure] = []
    for name in SCENARIOS:
        for kind, table in (("wall", walls), ("cpu", cpus)):
            figures.append(
                Figure(
                    name=f"{name} ({kind})",
                    unit="ms",
                    samples=table[name],
                    baseline=table["pass"],
                    higher_is_better=False,
                    note=f"baseline: `python -c pass`; {kind} time of a fresh process",
                )
            )
    return figures
