"""Everyday mistakes through the real ``arcp`` process: a message and the documented exit code
(docs/cli.md), never a traceback (issue 12 item 3)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import ARCP, Done, arcp, cli_env, free_port


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Done:
    proc = subprocess.run(
        [*ARCP, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or cli_env("ws://127.0.0.1:1/arcp"),
    )
    return Done(proc.returncode, proc.stdout, proc.stderr)


def _no_traceback(done: Done) -> None:
    assert "Traceback" not in done.stderr, done.stderr


async def test_empty_listing_in_a_pipe_is_a_header_only_table(server: str) -> None:
    """`arcp jobs` with nothing to list, stdout not a terminal: a header, exit 0 (§6.6)."""
    done = await arcp(server, "jobs", "--agent", "no-such-agent")
    _no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["JOB", "AGENT", "STATUS", "CREATED", "EVENTS"]


async def test_http_url_is_read_as_ws(server: str) -> None:
    """`--url http://host:port/arcp` is the WebSocket endpoint at that address."""
    http = server.replace("ws://", "http://", 1)
    done = await arcp(http, "submit", "echo", "--input", '"hi"', "--url", http, "--json")
    _no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == "hi"


@pytest.mark.parametrize("url", ["127.0.0.1:7777", "ftp://127.0.0.1/arcp", "ws://:99/x", "nope"])
def test_unparseable_url_is_a_usage_error(url: str) -> None:
    done = _run("submit", "echo", "--url", url)
    _no_traceback(done)
    assert done.returncode == 2
    assert "--url" in done.stderr and "ws://HOST:PORT/PATH" in done.stderr


def test_input_json_error_names_line_and_column() -> None:
    done = _run("submit", "echo", "--input", '{"n": 5,}')
    _no_traceback(done)
    assert done.returncode == 2
    assert "--input" in done.stderr
    assert "line 1, column 8" in done.stderr


async def test_verbosity_is_accepted_after_the_subcommand(server: str) -> None:
    """`arcp submit ... -vv` logs at debug level, like `arcp -vv submit ...`."""
    done = await arcp(server, "submit", "echo", "--input", "1", "--json", "-vv")
    _no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert "DEBUG" in done.stderr
    quiet = await arcp(server, "submit", "echo", "--input", "1", "--json")
    assert "DEBUG" not in quiet.stderr


def test_serve_on_a_busy_port_says_so() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _run("serve", "--port", str(port), "--store", "memory")
    _no_traceback(done)
    assert done.returncode == 3
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "--port" in done.stderr


async def test_second_serve_on_the_same_sqlite_file_gives_a_hint(tmp_path: Path) -> None:
    env = cli_env("ws://unused/arcp", XDG_STATE_HOME=str(tmp_path))
    env.pop("ARCP_STORE", None)  # the default store: a SQLite file under XDG_STATE_HOME
    first = await asyncio.create_subprocess_exec(
        *ARCP, "serve", "--port", str(free_port()), stderr=asyncio.subprocess.PIPE, env=env
    )
    try:
        assert first.stderr is not None
        line = await asyncio.wait_for(first.stderr.readline(), 30)
        assert b"listening" in line, line
        done = await asyncio.to_thread(_run, "serve", "--port", str(free_port()), env=env)
    finally:
        first.terminate()
        await first.wait()
    _no_traceback(done)
    assert done.returncode == 3
    assert "in use by another runtime process" in done.stderr
    assert "--store memory" in done.stderr


async def _banner(*args: str) -> list[str]:
    proc = await asyncio.create_subprocess_exec(
        *ARCP, "serve", "--port", "0", "--store", "memory", *args, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stderr is not None
        return [(await asyncio.wait_for(proc.stderr.readline(), 30)).decode() for _ in range(3)]
    finally:
        proc.terminate()
        await proc.wait()


async def test_serve_banner_says_url_state_and_who_is_let_in() -> None:
    """The banner names the URL, where state is kept and whether any token is accepted; it
    never shows a token value (§6.1)."""
    strict = await _banner("--token", "s3cret-value=alice")
    assert strict[0].startswith("arcp runtime listening on ws://127.0.0.1:")
    assert ":0/" not in strict[0]  # the port actually bound
    assert "state: in memory" in strict[1]
    assert "only the --token values" in strict[2]
    assert "s3cret-value" not in "".join(strict)
    open_ = await _banner()
    assert "any bearer token is accepted" in open_[2]
