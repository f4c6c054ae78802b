"""`arcp serve --policy FILE`: limits and authority ceilings from a file (issue #13 items 1, 5),
driven over a real stdio child."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

POLICY = """
[limits]
hello_timeout_sec = 1

[ceilings."*"]
lease = { "fs.read" = ["/workspace/**"] }
"""


def _serve(policy: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "arcp", "serve", "--stdio", "--demo", "--policy", str(policy)]
    return subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )


def _frame(type_: str, payload: dict[str, Any], **envelope: str) -> bytes:
    env = {"arcp": "1.1", "id": f"01J{type_[:3].upper():0<23}", "type": type_, **envelope}
    return json.dumps({**env, "payload": payload}).encode() + b"\n"


def test_a_stdio_peer_that_never_says_hello_is_closed_at_the_deadline(tmp_path: Path) -> None:
    """Issue #13 1a over stdio: no session.hello within hello_timeout_sec: UNAUTHENTICATED,
    then the runtime ends the connection (and, serving one stdio session, exits)."""
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    child = _serve(policy)
    assert child.stdout is not None
    try:  # stdin stays open and silent: the runtime ends the session
        error = json.loads(child.stdout.readline())
        assert error["payload"]["code"] == "UNAUTHENTICATED"
        assert child.stdout.readline() == b""
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
        child.wait()


def test_a_ceiling_from_the_policy_file_refuses_a_wider_lease(tmp_path: Path) -> None:
    """Issue #13 5: `arcp serve` granted fs.read ["/**"] to anyone."""
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"ceilings": {"*": {"lease": {"fs.read": ["/workspace/**"]}}}}))
    child = _serve(policy)
    assert child.stdin is not None and child.stdout is not None
    try:
        hello = {"client": {"name": "t"}, "auth": {"scheme": "bearer", "token": "x"}}
        child.stdin.write(_frame("session.hello", hello))
        child.stdin.flush()
        welcome = json.loads(child.stdout.readline())
        sid = welcome["session_id"]
        submit = {"agent": "echo", "input": 1, "lease_request": {"fs.read": ["/**"]}}
        child.stdin.write(_frame("job.submit", submit, session_id=sid))
        child.stdin.flush()
        refused = json.loads(child.stdout.readline())
        assert refused["type"] == "session.error"
        assert refused["payload"]["code"] == "PERMISSION_DENIED"
        assert refused["payload"]["details"]["pattern"] == "/**"
    finally:
        child.kill()
        child.wait()


def test_a_bad_policy_file_is_a_usage_error(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[limits]\nmax_jobs = 3\n")
    done = subprocess.run(
        [sys.executable, "-m", "arcp", "serve", "--stdio", "--policy", str(policy)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown limit 'max_jobs'" in done.stderr
