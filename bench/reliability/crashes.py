"""``kill -9`` of a runtime with a store, at random points while jobs stream (#13 item 6).

Set ``ARCP_RELIABILITY_LOG=FILE`` to keep the runtimes' logs (``arcp serve -v``) in ``FILE``.

``arcp serve --demo`` runs as a child process on a SQLite file or a PostgreSQL database; a
real :class:`~arcp.client.Client` streams `chatty` jobs from it while the process is killed
with SIGKILL and restarted on the same port and store, again and again. After each restart
the client resumes (§6.3). Every job must deliver a gap-free, duplicate-free prefix of its
events in order and then exactly one terminal message: its result, or the `INTERNAL_ERROR`
the restarted runtime ends an interrupted job with (§7.3).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import sys
import time
from typing import Any

from arcp.client import Client, ConnectionLostError, RequestTimeoutError
from arcp.transport.base import Transport, TransportClosed
from arcp.transport.websocket import connect_websocket
from arcp_gen.errors import ARCPError
from arcp_gen.models import LogEvent

__all__ = ["kill_runtime"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _start(port: int, store: str) -> asyncio.subprocess.Process:
    argv = [sys.executable, "-m", "arcp", "serve", "--demo", "--port", str(port)]
    argv += ["--store", store, "--heartbeat-interval", "1", "--node-id", "crash-node"]
    logs = os.environ.get("ARCP_RELIABILITY_LOG")  # a file for the runtime's log (-v)
    argv += ["-v"] if logs else []
    stderr = open(logs, "ab") if logs else asyncio.subprocess.DEVNULL  # noqa: SIM115, ASYNC230
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=stderr
        )
    finally:
        if not isinstance(stderr, int):
            stderr.close()
    for _ in range(600):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return proc
        if proc.returncode is not None:
            raise RuntimeError(f"arcp serve exited with {proc.returncode}")
        await asyncio.sleep(0.05)
    raise RuntimeError("arcp serve did not start listening")


async def _job(client: Client, n: int, key: str) -> tuple[int, bool]:
    """One job: (events delivered, ran to the end). Asserts order and a single terminal."""
    for _ in range(50):
        try:
            handle = await client.submit("chatty", {"n": n}, idempotency_key=key)
            break
        except (ConnectionLostError, RequestTimeoutError, ARCPError):
            await asyncio.sleep(0.2)  # the runtime is restarting: same key, same job (§7.2)
    else:
        raise AssertionError(f"{key}: submit never went through")
    expected = 1
    async for event in handle:
        if isinstance(event.payload, LogEvent):
            message = event.payload.body.message
            assert message == f"event {expected} of {n}", f"{key}: {message!r}, not #{expected}"
            expected += 1
    try:
        result = await handle.result()
    except ARCPError as err:  # interrupted by a crash: ended once, retryable (§7.3)
        assert err.code == "INTERNAL_ERROR" and err.retryable, err
        return expected - 1, False
    assert result == {"count": n} and expected == n + 1, (key, result, expected)
    return n, True


async def kill_runtime(
    store: str,
    kills: int,
    *,
    events: int = 5000,
    concurrent: int = 2,
    pause: tuple[float, float] = (0.3, 1.2),
    seed: int = 7,
) -> dict[str, Any]:
    """SIGKILL and restart ``arcp serve`` on ``store`` ``kills`` times while jobs stream."""
    rng = random.Random(seed)
    port = _free_port()
    proc = await _start(port, store)
    started = time.perf_counter()
    done = killed = jobs = finished = delivered = 0
    stop = asyncio.Event()

    async def chaos() -> None:
        nonlocal proc, killed
        while killed < kills:
            await asyncio.sleep(rng.uniform(*pause))
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            killed += 1
            proc = await _start(port, store)
        stop.set()

    chaos_task: asyncio.Task[None] | None = None
    try:
        url = f"ws://127.0.0.1:{port}/arcp"

        async def dial() -> Transport:
            """Wait out a restart (a cold start can take seconds on a busy host)."""
            for _ in range(600):
                with contextlib.suppress(OSError, TransportClosed):
                    return await connect_websocket(url)
                await asyncio.sleep(0.1)
            raise TransportClosed("the runtime did not come back")

        async with await Client.connect(dial) as client:
            chaos_task = asyncio.create_task(chaos())
            while not stop.is_set():
                keys = [f"crash-{seed}-{done + i}" for i in range(concurrent)]
                done += concurrent
                for count, complete in await asyncio.gather(
                    *(_job(client, events, key) for key in keys)
                ):
                    jobs += 1
                    finished += complete
                    delivered += count
    finally:
        if chaos_task is not None:
            chaos_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chaos_task
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
    return {
        "kills": killed,
        "jobs": jobs,
        "jobs_completed": finished,
        "jobs_interrupted": jobs - finished,
        "events": delivered,
        "lost": 0,
        "duplicated": 0,
        "seconds": round(time.perf_counter() - started, 1),
    }
