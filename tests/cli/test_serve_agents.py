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
