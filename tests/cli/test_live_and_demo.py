"""The live terminal rendering (through a real pseudo-terminal) and `arcp demo`."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess

import pytest
from rich.console import Console

from arcp.cli.live import JobView
from arcp.cli.options import Output
from arcp.client import Client
from arcp.demo import register_demo_agents
from arcp.demo.showcase import BUDGET_LEASE, run_embedded_showcase
from arcp.runtime import Runtime
from arcp_gen.errors import ARCPError
from tests.cli.conftest import ARCP, cli_env

STEPS = ["progress", "chunked result", "budget", "cancellation", "resume"]


def _run_in_pty(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run ``args`` with a terminal as stdout and stderr; everything it drew, and its status."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                proc.kill()
                pytest.fail("no output from the process under the terminal")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    return proc.wait(timeout), b"".join(chunks).decode(errors="replace")


def test_submit_renders_a_live_progress_bar_on_a_terminal(server: str) -> None:
    """§8.2.1 on a TTY: a bar with percentage that reaches n of n, then the result."""
    env = cli_env(server, TERM="xterm-256color", COLUMNS="120")
    status, screen = _run_in_pty(
        [*ARCP, "submit", "progress", "--input", '{"n": 50, "delay_ms": 40}'], env
    )
    assert status == 0, screen
    assert "\x1b[" in screen  # colours and cursor control: a live display
    assert "━" in screen  # the bar
    assert "50/50" in screen
    assert "100%" in screen
    assert "steps/s" in screen  # the rate
    assert "✓ success" in screen
    assert '"steps": 50' in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)


def test_no_color_keeps_a_terminal_plain(server: str) -> None:
    env = cli_env(server, TERM="xterm-256color", NO_COLOR="1")
    status, screen = _run_in_pty([*ARCP, "submit", "chatty", "--input", '{"n": 2}'], env)
    assert status == 0, screen
    assert "\x1b[" not in screen
    assert "[2] log: info: event 2 of 2" in screen


async def test_showcase_runs_every_step_through_the_real_client() -> None:
    """The showcase module on its own (in-process runtime, loopback WebSocket)."""
    results = await run_embedded_showcase()
    assert [r.step for r in results] == STEPS
    assert all(r.ok for r in results), results
    resume = results[-1]
    assert "none lost" in resume.detail


def test_demo_json_completes_with_every_step_ok() -> None:
    done = subprocess.run(
        [*ARCP, "demo", "--json"], capture_output=True, text=True, timeout=60, env=cli_env("")
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    assert [s["step"] for s in summary["steps"]] == STEPS
    assert all(s["ok"] for s in summary["steps"])
    budget = summary["steps"][2]
    assert budget["outcome"] in ("BUDGET_EXHAUSTED", "skipped")
    assert summary["steps"][3]["outcome"] == "cancelled"


async def test_the_live_view_draws_a_budget_gauge_and_tool_calls() -> None:
    """§9.6 rendered: tool calls as they happen, and the gauge drained to 0 of the USD 1 cap."""
    runtime = Runtime(tokens={"t": "p"})
    register_demo_agents(runtime)
    server = await runtime.serve_websocket(port=0)
    console = Console(record=True, width=100, force_terminal=True, color_system=None)
    try:
        async with await Client.connect(server.url, token="t") as client:
            job = await client.submit("costly", {"steps": 10}, lease=BUDGET_LEASE)
            with JobView(Output(console=console, rich=True), job) as view:
                async for event in job:
                    view.event(event)
            with pytest.raises(ARCPError):
                await job.result()
    finally:
        await runtime.aclose()
    screen = console.export_text()
    assert "→ search.web" in screen
    assert "← BUDGET_EXHAUSTED" in screen
    assert "metric cost.search = 0.25 USD" in screen
    assert "budget USD" in screen
    assert "0.00 / 1.00 left" in screen
    assert "18 events" in screen
