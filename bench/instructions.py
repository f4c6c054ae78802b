"""CPU instructions per event and per round trip, client and runtime counted apart, beside
the same work done by raw ``websockets`` peers (Linux ``perf``).

A wall-clock figure on a shared machine moves with its load and its clock; the instructions
a process executes for the same work barely do. Each scenario runs a client process
(``bench._instr``) against a server process (``bench._peer``, raw or ARCP) over WebSocket on
127.0.0.1. ``perf stat -e instructions:u`` counts the client process alone, and the server
process alone by attaching to its pid. Every scenario runs at two sizes; the difference over
the difference in events (or round trips) is the cost of one, free of start-up, imports and
the handshake. Without a usable ``perf`` the figures are skipped with a note.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from tempfile import TemporaryDirectory

from bench import Figure

__all__ = ["run"]

_EVENTS = (2_000, 12_000)
_ROUND_TRIPS = (100, 600)


def _perf_works() -> str | None:
    """None when ``perf stat`` can count user-space instructions here, else why not."""
    perf = shutil.which("perf")
    if perf is None:
        return "skipped: no perf binary"
    probe = subprocess.run(
        [perf, "stat", "-x,", "-e", "instructions:u", "true"], capture_output=True, text=True
    )
    if probe.returncode != 0 or "instructions" not in probe.stderr:
        return "skipped: perf cannot count instructions here"
    if "<not supported>" in probe.stderr or "<not counted>" in probe.stderr:
        return "skipped: no instruction counter (virtual machine without PMU?)"
    return None


def _count(output: str) -> int:
    for line in output.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("instructions"):
            return int(fields[0])
    raise RuntimeError(f"no instruction count in perf output: {output!r}")


@contextlib.contextmanager
def _server(mode: str) -> Iterator[tuple[int, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench._peer", mode, "0"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    try:
        if not line or line[0] != "READY":
            raise RuntimeError(f"benchmark peer {mode!r} did not start")
        yield proc.pid, f"ws://127.0.0.1:{line[1]}/arcp"
    finally:
        proc.terminate()
        proc.wait()


def _client_command(kind: str, url: str, size: int) -> list[str]:
    return [sys.executable, "-m", "bench._instr", kind, url, str(size)]


def _measure(kind: str, server_pid: int, url: str, size: int, tmp: Path) -> tuple[int, int]:
    """Instructions of the client process and of the server process for one run."""
    out = tmp / "server.perf"
    attached = subprocess.Popen(
        ["perf", "stat", "-x,", "-e", "instructions:u", "-p", str(server_pid), "-o", str(out)]
    )
    time.sleep(0.3)  # let perf attach; the idle server executes nothing meanwhile
    client = subprocess.run(
        ["perf", "stat", "-x,", "-e", "instructions:u", *_client_command(kind, url, size)],
        capture_output=True,
        text=True,
        check=True,
    )
    os.kill(attached.pid, signal.SIGINT)
    attached.wait()
    return _count(client.stderr), _count(out.read_text())


def _per_unit(
    kind: str, server_pid: int, url: str, sizes: tuple[int, int], tmp: Path
) -> tuple[float, float]:
    small = _measure(kind, server_pid, url, sizes[0], tmp)
    large = _measure(kind, server_pid, url, sizes[1], tmp)
    span = sizes[1] - sizes[0]
    return (large[0] - small[0]) / span, (large[1] - small[1]) / span


def run(repeats: int = 3) -> list[Figure]:
    """Instructions per event and per round trip, for the client and for the runtime."""
    names = [
        ("client, per event, 1 job streaming over WebSocket", "stream", _EVENTS),
        ("runtime, per event, 1 job streaming over WebSocket", "stream", _EVENTS),
        ("client, per submit -> accepted -> result cycle", "rtt", _ROUND_TRIPS),
        ("runtime, per submit -> accepted -> result cycle", "rtt", _ROUND_TRIPS),
    ]
    figures = [
        Figure(f"instructions, {name}", "instructions", higher_is_better=False)
        for name, _, _ in names
    ]
    why_not = _perf_works()
    if why_not is not None:
        for fig in figures:
            fig.note = why_not
        return figures
    with TemporaryDirectory() as tmp, _server("raw") as raw, _server("arcp") as arcp:
        for _ in range(repeats):  # interleaved, like every other benchmark here
            for scenario, sizes, first in (("stream", _EVENTS, 0), ("rtt", _ROUND_TRIPS, 2)):
                ours = _per_unit(f"arcp-{scenario}", arcp[0], arcp[1], sizes, Path(tmp))
                theirs = _per_unit(f"raw-{scenario}", raw[0], raw[1], sizes, Path(tmp))
                for side in (0, 1):
                    figures[first + side].samples.append(ours[side])
                    figures[first + side].baseline.append(theirs[side])
    notes = (
        "client process alone; baseline: a websockets client parsing each frame with orjson",
        "runtime process alone; baseline: a websockets server sending pre-encoded frames",
        "client process alone; baseline: one frame echo round trip of a websockets client",
        "runtime process alone; baseline: a websockets server echoing the frame",
    )
    for fig, note in zip(figures, notes, strict=True):
        fig.note = f"{note}; {repeats} repeats"
    return figures
