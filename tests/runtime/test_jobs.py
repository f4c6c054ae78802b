"""Submission, results, errors, cancellation and timeouts (§7.1-§7.5, §8.3, §12)."""

from __future__ import annotations

import pytest

from arcp.runtime import Runtime
from tests.runtime.conftest import Gates
from tests.runtime.wire import connect

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_submit_is_accepted_then_events_then_one_result(rt: Runtime) -> None:
    """§7.1, §8.3: job.accepted answers the submit; events and the result carry gap-free
    event_seq starting at 1 and the job's ids."""
    peer = connect(rt)
    await peer.hello()
    accepted = await peer.submit("chatty", {"n": 3}, lease_request={"fs.read": ["/tmp/**"]})
    body = accepted["payload"]
    assert body["agent"] == "chatty@1.0.0"
    assert body["lease"] == {"fs.read": ["/tmp/**"]}
    assert body["job_id"] == accepted["job_id"]
    assert len(body["trace_id"]) == 32
    frames = await peer.until_terminal(accepted["job_id"])
    assert [f["event_seq"] for f in frames] == [1, 2, 3, 4]
    assert all(f["job_id"] == accepted["job_id"] for f in frames)
    assert all(f["trace_id"] == body["trace_id"] for f in frames)
    result = frames[-1]
    assert result["type"] == "job.result"
    assert result["payload"]["final_status"] == "success"
    assert result["payload"]["result"] == {"count": 3}
    assert result["payload"]["completed_at"].endswith("Z")


async def test_traceparent_is_reduced_to_its_trace_id(rt: Runtime) -> None:
    """§11: a full traceparent on the submit becomes the 32-hex trace-id on every job frame."""
    peer = connect(rt)
    await peer.hello()
    rid = await peer.send("job.submit", {"agent": "echo", "input": 1}, trace_id=TRACEPARENT)
    accepted = await peer.expect("job.accepted")
    assert accepted["payload"]["request_id"] == rid
    result = await peer.expect("job.result")
    assert accepted["trace_id"] == result["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    ("agent", "outcome"),
    [("versioned", "v2"), ("versioned@1.0.0", "v1"), ("versioned@3.0.0-beta", "v3")],
)
async def test_agent_versions_resolve(rt: Runtime, agent: str, outcome: str) -> None:
    """§7.5: a bare name runs the default version; name@version pins one."""
    peer = connect(rt)
    await peer.hello()
    accepted = await peer.submit(agent)
    assert accepted["payload"]["agent"].startswith("versioned@")
    result = (await peer.until_terminal(accepted["job_id"]))[-1]
    assert result["payload"]["result"] == outcome


@pytest.mark.parametrize(
    ("agent", "code"),
    [("nobody", "AGENT_NOT_AVAILABLE"), ("versioned@9.0.0", "AGENT_VERSION_NOT_AVAILABLE")],
)
async def test_unknown_agents_are_refused_without_minting_a_job(
    rt: Runtime, agent: str, code: str
) -> None:
    """§7.5, wire-decisions: unknown agent or version; no job id, no event_seq consumed."""
    peer = connect(rt)
    await peer.hello()
    error = await peer.submit(agent)
    assert error["type"] == "session.error"
    assert error["payload"]["code"] == code
    assert len(rt.core.jobs) == 0
    accepted = await peer.submit("echo", 1)
    assert (await peer.until_terminal(accepted["job_id"]))[0]["event_seq"] == 1


async def test_lease_features_not_negotiated_are_refused(rt: Runtime) -> None:
    """§9.5-§9.7: lease_constraints, cost.budget and model.use need their features; a
    session that did not negotiate them (or a runtime without model.use) gets INVALID_REQUEST."""
    peer = connect(rt)
    await peer.hello(features=["heartbeat", "list_jobs"])
    for fields in (
        {"lease_constraints": {"expires_at": "2099-01-01T00:00:00Z"}},
        {"lease_request": {"cost.budget": ["USD:5"]}},
        {"lease_request": {"model.use": ["tier-fast/*"]}},
    ):
        error = await peer.submit("echo", 1, **fields)
        assert error["payload"]["code"] == "INVALID_REQUEST"
    assert len(rt.core.jobs) == 0


async def test_agent_arcp_error_becomes_job_error_with_its_code(rt: Runtime) -> None:
    """§12: an ARCPError raised by the agent ends the job with that code."""
    peer = connect(rt)
    await peer.hello()
    accepted = await peer.submit("denied")
    error = (await peer.until_terminal(accepted["job_id"]))[-1]
    assert error["type"] == "job.error"
    p = error["payload"]
    assert (p["code"], p["final_status"], p["retryable"]) == ("PERMISSION_DENIED", "error", False)
    assert p["details"] == {"path": "/etc"}


async def test_agent_crash_is_internal_error_without_leaking_details(rt: Runtime) -> None:
    """§12, wire-decisions: any other exception is a retryable INTERNAL_ERROR whose message
    carries no stack trace or exception text."""
    peer = connect(rt)
    await peer.hello()
    accepted = await peer.submit("crash")
    error = (await peer.until_terminal(accepted["job_id"]))[-1]
    p = error["payload"]
    assert (p["code"], p["final_status"], p["retryable"]) == ("INTERNAL_ERROR", "error", True)
    assert "secret" not in str(error) and "Traceback" not in str(error)


async def test_cancel_acknowledges_then_ends_with_cancelled(rt: Runtime) -> None:
    """§7.4: job.cancelled answers the cancel, then exactly one job.error CANCELLED."""
    peer = connect(rt)
    await peer.hello()
    accepted = await peer.submit("forever")
    job_id = accepted["job_id"]
    await peer.expect("job.event")
    rid = await peer.send("job.cancel", {"job_id": job_id, "reason": "enough"}, job_id=job_id)
    cancelled = await peer.expect("job.cancelled")
    assert cancelled["payload"] == {"request_id": rid, "job_id": job_id}
    error = await peer.expect("job.error")
    p = error["payload"]
    assert (p["code"], p["final_status"], p["retryable"]) == ("CANCELLED", "cancelled", False)
    assert error["event_seq"] == 2
    # Cancelling again is acknowledged; the terminal message stands and is not repeated.
    await peer.send("job.cancel", {}, job_id=job_id)
    await peer.expect("job.cancelled")
    await peer.send("session.ping", {"nonce": "n"})
    await peer.expect("session.pong")


async def test_cancel_authority_stays_with_the_submitting_session(rt: Runtime) -> None:
    """§7.4, wire-decisions: same principal but another session → PERMISSION_DENIED; another
    principal → JOB_NOT_FOUND (existence is not revealed); unknown job → JOB_NOT_FOUND."""
    owner, sibling, stranger = connect(rt), connect(rt), connect(rt)
    await owner.hello(token="t")
    await sibling.hello(token="t2")
    await stranger.hello(token="tb")
    job_id = (await owner.submit("forever"))["job_id"]
    denied = await sibling.request("job.cancel", {"job_id": job_id})
    assert denied["payload"]["code"] == "PERMISSION_DENIED"
    hidden = await stranger.request("job.cancel", {"job_id": job_id})
    assert hidden["payload"]["code"] == "JOB_NOT_FOUND"
    unknown = await stranger.request("job.cancel", {"job_id": "job_nope"})
    assert unknown["payload"]["code"] == "JOB_NOT_FOUND"
    assert unknown["payload"]["message"] == hidden["payload"]["message"]
    assert rt.core.jobs.jobs[job_id].status == "running"


async def test_max_runtime_sec_times_the_job_out(rt: Runtime) -> None:
    """§7.3: exceeding max_runtime_sec ends the job with TIMEOUT / timed_out."""
    peer = connect(rt)
    await peer.hello()
    accepted = await peer.submit("forever", None, max_runtime_sec=0.05)
    error = (await peer.until_terminal(accepted["job_id"]))[-1]
    p = error["payload"]
    assert (p["code"], p["final_status"], p["retryable"]) == ("TIMEOUT", "timed_out", True)


async def test_idempotent_resubmission_returns_the_same_job(rt: Runtime) -> None:
    """§7.2: same key + same parameters → the same job.accepted; different → DUPLICATE_KEY."""
    peer = connect(rt)
    await peer.hello()
    first = await peer.submit("echo", {"a": 1}, idempotency_key="k1")
    await peer.until_terminal(first["job_id"])
    again = await peer.submit("echo", {"a": 1}, idempotency_key="k1")
    assert again["job_id"] == first["job_id"]
    strip = lambda f: {k: v for k, v in f["payload"].items() if k != "request_id"}  # noqa: E731
    assert strip(again) == strip(first)
    conflict = await peer.submit("echo", {"a": 2}, idempotency_key="k1")
    assert conflict["payload"]["code"] == "DUPLICATE_KEY"
    other = connect(rt)
    await other.hello(token="tb")
    theirs = await other.submit("echo", {"a": 2}, idempotency_key="k1")
    assert theirs["type"] == "job.accepted" and theirs["job_id"] != first["job_id"]


async def test_concurrent_duplicate_submits_make_one_job(rt: Runtime, gates: Gates) -> None:
    """§7.2: many identical keyed submits in flight at once still create a single job."""
    peer = connect(rt)
    await peer.hello()
    frame = {"agent": "waiter", "input": "g", "idempotency_key": "same"}
    rids = [await peer.send("job.submit", frame) for _ in range(20)]
    replies = [await peer.recv() for _ in rids]
    accepted = [f for f in replies if f["type"] == "job.accepted"]
    assert sorted(f["payload"]["request_id"] for f in accepted) == sorted(rids)
    assert len({f["job_id"] for f in accepted}) == 1
    assert len(rt.core.jobs) == 1
    gates["g"].set()
    await peer.until_terminal(accepted[0]["job_id"])


async def test_jobs_of_one_session_interleave_with_one_seq_space(rt: Runtime) -> None:
    """§8.3: event_seq is per session, gap-free across all of its jobs."""
    peer = connect(rt)
    await peer.hello()
    jobs = [(await peer.submit("chatty", {"n": 50}))["job_id"] for _ in range(3)]
    done: set[str] = set()
    while len(done) < 3:
        frame = await peer.recv()  # the peer asserts no gap
        if frame["type"] in ("job.result", "job.error"):
            done.add(frame["job_id"])
    assert done == set(jobs)
    assert peer.last_seq == 3 * 51


async def test_idempotent_retry_from_a_new_session_gets_the_jobs_stream(rt: Runtime) -> None:
    """§7.2: a client that reconnects with a fresh session and resubmits the same keyed job
    gets the same job.accepted and then that job's events and result, in its own seqs."""
    first = connect(rt)
    await first.hello()
    job_id = (await first.submit("chatty", {"n": 2}, idempotency_key="retry"))["job_id"]
    await first.until_terminal(job_id)
    await first.drop()
    second = connect(rt)
    await second.hello(token="t2")
    again = await second.submit("chatty", {"n": 2}, idempotency_key="retry")
    assert again["job_id"] == job_id
    frames = await second.until_terminal(job_id)
    assert [f["event_seq"] for f in frames] == [1, 2, 3]
    assert frames[-1]["payload"]["result"] == {"count": 2}
