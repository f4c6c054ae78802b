"""Runtimes for the conformance kit to judge: ours (in process, or ``arcp serve`` in a child
process) and a deliberately broken one written on raw ``websockets``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from arcp.demo import register_demo_agents
from arcp.runtime import Runtime
from arcp.store import Store
from arcp.store.postgres import PostgresStore
from arcp.store.sqlite import SQLiteStore

TOKENS = {"tok-alice": "alice", "tok-bob": "bob"}
ALICE, BOB = "tok-alice", "tok-bob"


@pytest.fixture(params=["no store", "sqlite", "postgres"])
async def runtime_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Our runtime with the demo agents and two principals, on 127.0.0.1: without a store,
    on SQLite, and as a node on PostgreSQL (the protocol must not depend on where state is)."""
    store: Store | None = None
    if request.param == "sqlite":
        store = SQLiteStore(tmp_path / "runtime.sqlite3")
    elif request.param == "postgres":
        store = PostgresStore(request.getfixturevalue("postgres_dsn"), node_id="conformance")
    runtime = Runtime(tokens=TOKENS, resume_window_sec=60, heartbeat_interval_sec=30, store=store)
    register_demo_agents(runtime)
    server = await runtime.serve_websocket(host="127.0.0.1", port=0, path="/arcp")
    try:
        yield server.url
    finally:
        await runtime.aclose()


@pytest.fixture
def served_url() -> Iterator[str]:
    """``arcp serve --demo`` in a child process on a free port."""
    argv = [sys.executable, "-m", "arcp", "serve", "--demo", "--port", "0"]
    for token, principal in TOKENS.items():
        argv += ["--token", f"{token}={principal}"]
    child = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stderr is not None
        line = child.stderr.readline()
        found = re.search(r"ws://\S+", line)
        assert found, f"no URL in {line!r}"
        yield found.group(0)
    finally:
        child.terminate()
        child.wait(timeout=10)


async def _broken_handler(ws: ServerConnection) -> None:
    """Welcomes any token (no resume_token), never accepts a job, answers a listing with a
    malformed error, ignores everything else."""
    async for raw in ws:
        try:
            frame: dict[str, Any] = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(frame, dict):  # the manifest replay sends arrays, strings, null
            continue
        if frame.get("type") == "session.list_jobs":
            # No arcp / id, an event_seq on a control frame, no retryable, an unknown code.
            bad = {
                "type": "session.error",
                "event_seq": 7,
                "payload": {"code": "NOPE", "message": "no"},
            }
            await ws.send(json.dumps(bad))
        if frame.get("type") != "session.hello":
            continue
        welcome = {
            "arcp": "1.1",
            "id": "w1",
            "type": "session.welcome",
            "session_id": "sess_broken",
            "payload": {
                "runtime": {"name": "broken", "version": "0"},
                "heartbeat_interval_sec": 30,
                "capabilities": {
                    "encodings": ["json"],
                    "features": ["list_jobs", "subscribe"],
                    "agents": [{"name": "echo", "versions": ["1.0.0"], "default": "1.0.0"}],
                },
            },
        }
        await ws.send(json.dumps(welcome))


@pytest.fixture
def broken_url() -> Iterator[str]:
    """A broken runtime on its own event loop in a thread (the CLI runs its own loop)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []
    stop = asyncio.Event()

    async def main() -> None:
        async with serve(_broken_handler, "127.0.0.1", 0) as server:
            port.append(server.sockets[0].getsockname()[1])
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield f"ws://127.0.0.1:{port[0]}/"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        with contextlib.suppress(Exception):
            loop.close()
