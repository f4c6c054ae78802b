"""The official Python client (PyPI ``agentruntimecontrolprotocol``) against our runtime.

Our runtime runs in its own process (``peers/our_runtime.py``, project venv); the official
client runs every scenario of ``peers/official_client.py`` in another (``.interop-venv``),
over WebSocket on 127.0.0.1. The deviations named in the xfail reasons are listed in
docs/interop.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ._harness import Peer, run_official_client

SCENARIOS = (
    "handshake",
    "echo",
    "chatty",
    "progress",
    "chunked",
    "versioned",
    "fail",
    "unknown_agent",
    "bad_token",
    "list_jobs",
    "subscribe",
    "subscribe_history",
    "cancel",
    "timeout",
    "resume",
    "close",
    "idle",
    "minimal_features",
    "budget",
    "idempotent",
    "ack",
    "list_pages",
    "foreign_subscribe",
)


@pytest.fixture(scope="module")
def steps(official_python: Path, our_runtime: Peer) -> dict[str, dict[str, Any]]:
    return run_official_client(official_python, our_runtime.url, *SCENARIOS, timeout=120)


def ok(steps: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    obs = steps[name]
    assert obs["ok"], obs.get("error")
    return obs


def test_handshake(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "handshake")
    assert obs["session_id"]
    assert obs["has_resume_token"]
    assert {"heartbeat", "list_jobs", "subscribe", "agent_versions"} <= set(obs["negotiated"])
    agents = {a["name"]: a for a in obs["agents"]}
    assert {"echo", "chatty", "progress", "chunked", "slow", "versioned"} <= set(agents)
    assert agents["versioned"]["default"] == "2.0.0"
    assert sorted(agents["versioned"]["versions"]) == ["1.0.0", "2.0.0"]


def test_handshake_with_minimal_features(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "minimal_features")
    assert obs["negotiated"] == ["list_jobs"]
    assert all(isinstance(a, dict) for a in obs["agents"])


def test_bad_token_is_unauthenticated(steps: dict[str, dict[str, Any]]) -> None:
    assert ok(steps, "bad_token")["rejected"]["code"] == "UNAUTHENTICATED"


def test_echo_result_is_the_input(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "echo")
    assert obs["agent"] == "echo@1.0.0"
    assert obs["job_id"]
    assert obs["outcome"] == "result"
    assert obs["final_status"] == "success"
    assert obs["result"] == obs["sent"]
    assert obs["has_completed_at"]
    assert obs["inbound"][:2] == ["job.accepted", "job.result"]


def test_chatty_streams_log_events_in_order(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "chatty")
    assert [e["body"]["message"] for e in obs["events"]] == [f"event {i} of 5" for i in range(1, 6)]
    assert all(e["kind"] == "log" and e["body"]["level"] == "info" for e in obs["events"])
    assert obs["event_seqs"] == [1, 2, 3, 4, 5, 6]
    assert obs["final_status"] == "success"
    assert obs["result"] == {"count": 5}


def test_progress_events(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "progress")
    assert [e["body"]["current"] for e in obs["events"]] == [1, 2, 3]
    assert all(e["kind"] == "progress" and e["body"]["total"] == 3 for e in obs["events"])
    assert obs["result"] == {"steps": 3}


def test_chunked_result_reassembles(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "chunked")
    assert obs["final_status"] == "success"
    assert obs["result"] is None
    assert obs["result_id"]
    assert obs["chunks"] >= 3
    assert obs["bytes"] == obs["result_size"] > 0


def test_agent_versions(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "versioned")
    assert obs["versioned"]["agent"] == "versioned@2.0.0"
    assert obs["versioned"]["result"]["version"] == "2.0.0"
    assert obs["versioned@1.0.0"]["agent"] == "versioned@1.0.0"
    assert obs["versioned@1.0.0"]["result"]["version"] == "1.0.0"
    assert obs["versioned@9.9.9"]["rejected"]["code"] == "AGENT_VERSION_NOT_AVAILABLE"


def test_failing_agent_ends_with_job_error(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "fail")
    assert obs["outcome"] == "error"
    assert obs["error"]["code"] == "INTERNAL_ERROR"
    assert obs["error"]["retryable"] is True
    assert "job.error" in obs["inbound"]


def test_unknown_agent_is_refused_and_session_survives(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "unknown_agent")
    assert obs["rejected"]["code"] == "AGENT_NOT_AVAILABLE"
    assert obs["after"]["final_status"] == "success"
    assert obs["after"]["result"] == {"after": True}


def test_list_jobs(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "list_jobs")
    entry = obs["entry"]
    assert entry is not None, "the finished job is listed"
    assert entry["agent"] == "echo@1.0.0"
    assert entry["status"] == "success"
    assert entry["submitted_at"].endswith("Z")
    assert obs["next_cursor"] is None


def test_list_jobs_filters_and_pages(steps: dict[str, dict[str, Any]]) -> None:
    """§6.6: the official client pages with our opaque cursor and filters by status/agent."""
    obs = ok(steps, "list_pages")
    assert obs["mine_listed"]
    assert obs["unique"]
    assert all(0 < size <= 2 for size in obs["page_sizes"])
    assert len(obs["page_sizes"]) >= 2
    assert obs["running_for_finished"] == []


def test_idempotent_submit(steps: dict[str, dict[str, Any]]) -> None:
    """§7.2: same key and parameters give the same job; other parameters DUPLICATE_KEY."""
    obs = ok(steps, "idempotent")
    assert obs["again"] == obs["first"]
    assert obs["first_result"]["result"] == {"k": 1}
    assert obs["conflict"]["code"] == "DUPLICATE_KEY"


def test_acks_are_accepted(steps: dict[str, dict[str, Any]]) -> None:
    """§6.5: a session.ack after every event draws no error."""
    obs = ok(steps, "ack")
    assert obs["events"] == 20
    assert obs["result"] == {"count": 20}
    assert obs["errors"] == 0


def test_other_principal_cannot_subscribe_or_list(steps: dict[str, dict[str, Any]]) -> None:
    """§7.6, §14: another principal neither subscribes to nor sees the job."""
    obs = ok(steps, "foreign_subscribe")
    assert obs["refused"]["code"] == "JOB_NOT_FOUND"  # wire-decisions: do not reveal it
    assert not obs["listed_to_other"]
    assert obs["owner"]["result"] == {"slept": 0.5}


def test_subscribe_from_another_session(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "subscribe")
    assert obs["subscribed_job_id"] == obs["job_id"]
    assert obs["replayed"]
    # We send job.subscribed first, then the replayed status event (wire-decisions). The
    # official client registers its handle only after subscribe() resumes, so it may drop
    # that event itself (C12): assert on the frames it received, not on its handle.
    inbound = obs["inbound"]
    assert inbound.index("job.subscribed") < inbound.index("job.event")
    assert obs["events"] in ([], ["status"])
    assert obs["watcher"]["final_status"] == "success"
    assert obs["watcher"]["result"] == obs["owner"]["result"] == {"slept": 1.0}


def test_subscribe_history_replays_after_job_subscribed(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "subscribe_history")
    assert obs["owner"]["result"] == {"count": 3}
    assert obs["inbound"][0] == "job.subscribed"
    assert obs["inbound"][1:5] == ["job.event"] * 3 + ["job.result"]


def test_cancel_sends_spec_messages(steps: dict[str, dict[str, Any]]) -> None:
    """§7.4: job.cancelled, then job.error CANCELLED with final_status cancelled."""
    obs = ok(steps, "cancel")
    assert "job.cancelled" in obs["inbound"]
    [frame] = obs["terminal_frames"]
    assert frame["type"] == "job.error"
    assert frame["code"] == "CANCELLED"
    assert frame["final_status"] == "cancelled"
    assert frame["retryable"] is False


@pytest.mark.xfail(
    strict=True,
    reason="known peer deviation C6: the official client parses job.error only with "
    "final_status 'error' (and expects cancellation as job.result), so our spec job.error "
    "CANCELLED/cancelled stops its read loop and the handle never resolves",
)
def test_official_client_sees_cancellation(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "cancel")
    assert obs["read_loop_alive"]
    assert obs["outcome"] != "hung"


def test_timeout_sends_spec_messages(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "timeout")
    [frame] = obs["terminal_frames"]
    assert frame["type"] == "job.error"
    assert frame["code"] == "TIMEOUT"
    assert frame["final_status"] == "timed_out"


@pytest.mark.xfail(
    strict=True,
    reason="known peer deviation C6: the official client parses job.error only with "
    "final_status 'error' (and expects timeouts as job.result timed_out), so our spec "
    "job.error TIMEOUT/timed_out stops its read loop and the handle never resolves",
)
def test_official_client_sees_timeout(steps: dict[str, dict[str, Any]]) -> None:
    obs = ok(steps, "timeout")
    assert obs["read_loop_alive"]
    assert obs["outcome"] != "hung"


def test_resume_with_legacy_hello(steps: dict[str, dict[str, Any]]) -> None:
    """C2: the official client resumes with session.hello + payload.resume."""
    obs = ok(steps, "resume")
    assert obs["same_session"]
    assert obs["token_rotated"]
    replayed = obs["replayed"]
    assert "job.result" in [f["type"] for f in replayed], "what ran while detached is replayed"
    assert all(f["event_seq"] > obs["last_event_seq"] for f in replayed)


def test_heartbeats_keep_an_idle_session_alive(steps: dict[str, dict[str, Any]]) -> None:
    """§6.4: our runtime pings every second; the official client answers with pongs."""
    obs = ok(steps, "idle")
    assert obs["pings"] >= 2
    assert obs["result"] == {"idle": True}


def test_close_with_legacy_bye(steps: dict[str, dict[str, Any]]) -> None:
    assert ok(steps, "close")["closed"]


def test_budget(steps: dict[str, dict[str, Any]]) -> None:
    negotiated = steps["handshake"]["negotiated"]
    obs = steps["budget"]
    if "cost.budget" not in negotiated:
        assert not obs["ok"]
        assert obs["error"]["code"] == "INVALID_REQUEST", "cost.budget is gated on the feature"
        return
    if obs["ok"]:
        pytest.fail("C7 seems fixed: the official client accepted our numeric budget; update docs")
    pytest.xfail("known peer deviation C7: the official client requires budget amounts as strings")
