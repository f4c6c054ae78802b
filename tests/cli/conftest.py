"""A real ``arcp serve --demo`` process shared by the CLI tests, and helpers to run ``arcp``."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from arcp_gen.messages import JobEventMessage
from arcp_gen.models import ProgressEvent

ARCP = [sys.executable, "-m", "arcp"]
TOKEN = "cli-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env(url: str, token: str = TOKEN, **extra: str) -> dict[str, str]:
    """The environment of an ``arcp`` process: ARCP_URL / ARCP_TOKEN, no colours."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    return {**env, "ARCP_URL": url, "ARCP_TOKEN": token, **extra}


@dataclass
class Done:
    """A finished ``arcp`` process."""

    returncode: int
    stdout: str
    stderr: str


async def arcp(url: str, *args: str, token: str = TOKEN) -> Done:
    """Run ``arcp ARGS`` without blocking the event loop (in-process clients keep working)."""
    proc = await asyncio.create_subprocess_exec(
        *ARCP,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(url, token),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Done(proc.returncode, out.decode(), err.decode())


_DRAINS: set[asyncio.Future[bytes]] = set()


@dataclass
class ProgressSeen:
    """What a client saw of a ``progress`` job: each event's seq and step, in order."""

    seqs: list[int] = field(default_factory=lambda: [])
    steps: list[int] = field(default_factory=lambda: [])

    def add(self, event: JobEventMessage) -> int:
        """Record one event (it must be a progress event); returns how many were seen."""
        assert isinstance(event.payload, ProgressEvent)
        self.seqs.append(event.event_seq)
        self.steps.append(int(event.payload.body.current))
        return len(self.seqs)

    def assert_gap_free(self) -> None:
        """§8.3: consecutive event_seq values, and the job's steps 1, 2, 3, ... in order."""
        assert self.seqs == list(range(self.seqs[0], self.seqs[0] + len(self.seqs)))
        assert self.steps == list(range(1, len(self.steps) + 1))


async def start_serve(port: int, *args: str) -> asyncio.subprocess.Process:
    """``arcp serve --demo --port PORT --token t=alice ARGS``, once it listens.

    Whatever it logs first (e.g. what a store recovered) is skipped; its stderr is then
    drained in the background so the pipe never fills.
    """
    proc = await asyncio.create_subprocess_exec(
        *ARCP,
        "serve",
        "--demo",
        "--port",
        str(port),
        "--token",
        "t=alice",
        *args,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    lines: list[bytes] = []
    while not lines or b"listening" not in lines[-1]:
        lines.append(await asyncio.wait_for(proc.stderr.readline(), 30))
        assert lines[-1], b"".join(lines)
    _DRAINS.add(asyncio.ensure_future(proc.stderr.read()))
    return proc


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """``arcp serve --demo`` on a free port, accepting ``cli-token`` (principal carol)."""
    port = free_port()
    proc = subprocess.Popen(
        [*ARCP, "serve", "--demo", "--port", str(port), "--token", f"{TOKEN}=carol"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "arcp runtime listening on ws://..."
    assert f"ws://127.0.0.1:{port}/arcp" in line, line
    yield f"ws://127.0.0.1:{port}/arcp"
    proc.terminate()
    proc.wait(10)
