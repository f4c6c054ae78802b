"""`arcp serve --agents MODULE:ATTR` hosts the user's own agents (§7.5 inventory)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

AGENTS = """
async def shout(input, ctx):
    await ctx.log("shouting")
    return str(input).upper()

def register(runtime):
    runtime.register("shout", shout, version="3.1.0", default=True)
"""


def test_serve_loads_agents_from_a_module(tmp_path: Path) -> None:
    (tmp_path / "my_agents.py").write_text(AGENTS)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arcp",
            "serve",
            "--port",
            str(port),
            "--token",
            "t=u",
            "--agents",
            "my_agents:register",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stderr is not None
        assert "listening" in server.stderr.readline()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "arcp",
                "submit",
                "shout",
                "--input",
                '"hey"',
                "--json",
                "--url",
                f"ws://127.0.0.1:{port}/arcp",
                "--token",
                "t",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["result"] == "HEY"
    finally:
        server.terminate()
        server.wait(10)


SERVE = [sys.executable, "-m", "arcp", "serve"]
SUBMIT = [sys.executable, "-m", "arcp", "submit", "greet@2.0.0", "--input", '"you"']
README_STYLE = """
from arcp import Runtime

runtime = Runtime()


@runtime.agent("greet", version="2.0.0")
async def greet(input, ctx):
    return f"hello {input}"
"""


def test_serve_offers_the_agents_of_a_runtime_built_with_the_decorator(tmp_path: Path) -> None:
    """`--agents MODULE:ATTR` where ATTR is a `Runtime` using `@runtime.agent` (the README's
    style): its agents, with their versions, join the served inventory (§7.5)."""
    (tmp_path / "my_runtime.py").write_text(README_STYLE)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [*SERVE, "--port", str(port), "--store", "memory", "--agents", "my_runtime:runtime"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert server.stderr is not None
        assert "listening" in server.stderr.readline()
        done = subprocess.run(
            [*SUBMIT, "--json", "--url", f"ws://127.0.0.1:{port}/arcp", "--token", "any"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["result"] == "hello you"
    finally:
        server.terminate()
        server.wait(10)
