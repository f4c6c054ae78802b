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


def _lines(child: subprocess.Popen[bytes], seconds: float) -> list[dict[str, Any]]:
    """The frames the child writes within ``seconds`` (reads its stdout without blocking)."""
    import os
    import select
    import time

    assert child.stdout is not None
    fd = child.stdout.fileno()
    data, end = b"", time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def test_high_water_throttles_the_agent_behind_an_unacknowledging_client() -> None:
    """§13.2, #13 item 4: `--high-water` reaches flow control. A client that acknowledged
    once (acks count from then on) and then stops holds the agent at about `high_water`
    events past its ack; the default (50,000) lets all 2,000 events and the result through.
    Acking releases it. (The ``Limits`` fields are set with ``--policy``, above.)"""
    argv = [sys.executable, "-m", "arcp", "serve", "--stdio", "--demo", "--high-water", "20"]
    child = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert child.stdin is not None

    def send(type_: str, payload: dict[str, Any]) -> None:
        assert child.stdin is not None
        child.stdin.write(_frame(type_, payload, **({"session_id": sid} if sid else {})))
        child.stdin.flush()

    try:
        sid = ""
        hello = {"client": {"name": "t"}, "capabilities": {"features": ["ack"]}}
        send("session.hello", hello)
        sid = _lines(child, 30)[0]["session_id"]
        send("job.submit", {"agent": "chatty", "input": {"n": 1}})
        assert any(f["type"] == "job.result" for f in _lines(child, 5))
        send("session.ack", {"last_processed_seq": 2})  # event 1 and the result
        send("job.submit", {"agent": "chatty", "input": {"n": 2000}})
        frames = _lines(child, 3)
        seqs = [f["event_seq"] for f in frames if "event_seq" in f]
        assert seqs and max(seqs) <= 2 + 20 + 40, max(seqs)
        assert not any(f["type"] == "job.result" for f in frames)
        send("session.ack", {"last_processed_seq": max(seqs)})  # releases the agent
        later = [f["event_seq"] for f in _lines(child, 3) if "event_seq" in f]
        assert later and max(later) > max(seqs)
    finally:
        child.kill()
        child.wait()
