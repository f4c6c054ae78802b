"""The command line (`arcp serve`, `arcp submit`) as a user runs it: real processes."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.cli.conftest import ARCP, cli_env, free_port


def _submit(url: str, *args: str, token: str = "cli-token") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARCP, "submit", *args],
        capture_output=True,
        text=True,
        env=cli_env(url, token),
        timeout=60,
    )


def test_submit_prints_events_and_result(server: str) -> None:
    """§7.1, §8.2: events on stderr as they arrive, the result on stdout, exit 0."""
    done = _submit(server, "chatty", "--input", '{"n": 3}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"count": 3}
    assert [line for line in done.stderr.splitlines() if "log:" in line] == [
        f"[{i}] log: info: event {i} of 3" for i in range(1, 4)
    ]


def test_submit_json_prints_the_terminal_payload(server: str) -> None:
    """`--json` prints only the outcome, for scripts."""
    done = _submit(server, "versioned@1.0.0", "--input", '"x"', "--json")
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["final_status"] == "success"
    assert outcome["result"]["version"] == "1.0.0"
    assert outcome["job_id"].startswith("job_")


@pytest.mark.parametrize(
    ("args", "token", "code", "status"),
    [
        (["no-such-agent"], "cli-token", "AGENT_NOT_AVAILABLE", 3),
        (["echo"], "wrong-token", "UNAUTHENTICATED", 3),
        (["slow", "--input", '{"sec": 5}', "--max-runtime", "0.2"], "cli-token", "TIMEOUT", 1),
    ],
)
def test_failures_exit_non_zero_with_the_spec_code(
    server: str, args: list[str], token: str, code: str, status: int
) -> None:
    """§12: the error code is printed and the exit status says what failed."""
    done = _submit(server, *args, token=token)
    assert done.returncode == status
    assert code in done.stderr
    assert "Traceback" not in done.stderr
    assert token not in done.stderr
    assert "\x1b[" not in done.stderr  # not a terminal: plain lines


def test_unreachable_runtime_is_a_clear_error() -> None:
    done = _submit(f"ws://127.0.0.1:{free_port()}/arcp", "echo")
    assert done.returncode == 3
    assert "CONNECTION_FAILED" in done.stderr
    assert "is `arcp serve` running" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_input_json_is_a_usage_error(server: str) -> None:
    done = _submit(server, "echo", "--input", "{nope")
    assert done.returncode == 2
    assert "not valid JSON" in done.stderr


def test_serve_shuts_down_on_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*ARCP, "serve", "--demo", "--port", str(port)], stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    proc.stderr.readline()
    started = time.monotonic()
    proc.terminate()
    assert proc.wait(15) == 0
    assert time.monotonic() - started < 15
