"""`arcp serve --store`: a runtime killed with SIGKILL comes back with its state (§6.3, §7.3).

These tests start real `arcp serve` processes on a SQLite file, kill them without warning
and start them again on the same file and port. The client reconnects and resumes by
itself, as an application's client would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from arcp.client import Client
from arcp_gen.errors import InternalError
from tests.cli.conftest import ARCP, ProgressSeen, free_port, start_serve


async def test_sigkill_mid_stream_loses_no_sent_event_and_the_outcome_arrives(
    tmp_path: Path,
) -> None:
    """§6.3, §8.3, §7.3: every event sent before the kill is replayed on resume, gap-free and
    without duplicates, and the interrupted job ends with job.error INTERNAL_ERROR
    (retryable)."""
    port = free_port()
    store = f"sqlite:{tmp_path / 'runtime.sqlite3'}"
    server = await start_serve(port, "--store", store)
    try:
        async with Client.connect(f"ws://127.0.0.1:{port}/arcp", token="t") as client:
            session = client.session_id
            job = await client.submit("progress", {"n": 5000, "delay_ms": 2})
            seen = ProgressSeen()
            async for event in job:
                if seen.add(event) == 100:
                    server.send_signal(signal.SIGKILL)
                    await server.wait()
                    server = await start_serve(port, "--store", store)
            with pytest.raises(InternalError) as caught:
                await job.result()
            assert caught.value.retryable
            assert client.session_id == session
        assert len(seen.seqs) >= 100
        seen.assert_gap_free()
    finally:
        server.send_signal(signal.SIGTERM)
        await server.wait()


def test_a_second_runtime_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    """One process owns a SQLite store; a second gets a clear error, not shared state."""
    store = f"sqlite:{tmp_path / 'runtime.sqlite3'}"
    first = subprocess.Popen(
        [*ARCP, "serve", "--port", str(free_port()), "--store", store],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stderr is not None
        assert "listening" in first.stderr.readline()
        second = subprocess.run(
            [*ARCP, "serve", "--port", str(free_port()), "--store", store],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert "in use" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.terminate()
        first.wait(10)


def test_an_unknown_store_address_is_a_usage_error() -> None:
    done = subprocess.run(
        [*ARCP, "serve", "--store", "redis://127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert done.returncode == 2
    assert "unknown store" in done.stderr


def test_sqlite_is_the_default_store_over_websocket(tmp_path: Path) -> None:
    """Without --store (and ARCP_STORE), `arcp serve` keeps its state in a SQLite file under
    $XDG_STATE_HOME/arcp."""
    env = {k: v for k, v in os.environ.items() if k != "ARCP_STORE"}
    env["XDG_STATE_HOME"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "arcp", "serve", "--port", str(free_port())],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        assert "listening" in proc.stderr.readline()
        assert (tmp_path / "arcp" / "runtime.sqlite3").exists()
    finally:
        proc.terminate()
        proc.wait(10)
