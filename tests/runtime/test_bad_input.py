"""Bad input is answered with INVALID_REQUEST and never breaks the session (wire-decisions)."""

from __future__ import annotations

import pytest

from arcp.runtime import Runtime
from tests.runtime.wire import Peer, connect


async def _still_works(peer: Peer) -> None:
    accepted = await peer.submit("echo", "ok")
    result = (await peer.until_terminal(accepted["job_id"]))[-1]
    assert result["payload"]["result"] == "ok"


DEEP = (
    b'{"arcp":"1.1","id":"x","type":"job.submit","payload":{"agent":"echo","input":'
    + b"[" * 5000
    + b"]" * 5000
    + b"}}"
)


@pytest.mark.parametrize(
    "data", [b"{not json", b"[1, 2]", b'"text"', b"{}", b'{"type": 5}', b"\xff\xfe", DEEP]
)
async def test_malformed_frames_are_invalid_requests(rt: Runtime, data: bytes) -> None:
    """Malformed frames get session.error INVALID_REQUEST; the session stays up."""
    peer = connect(rt)
    await peer.hello()
    await peer.send_raw(data)
    error = await peer.expect("session.error")
    assert error["payload"]["code"] == "INVALID_REQUEST"
    assert "event_seq" not in error
    await _still_works(peer)


async def test_unknown_type_names_the_type(rt: Runtime) -> None:
    """An unknown type is INVALID_REQUEST with details.type and the request id."""
    peer = connect(rt)
    await peer.hello()
    error = await peer.request("job.teleport", {"x": 1})
    assert error["payload"]["code"] == "INVALID_REQUEST"
    assert error["payload"]["details"]["type"] == "job.teleport"
    await _still_works(peer)


@pytest.mark.parametrize(
    ("type_", "payload"),
    [
        ("job.submit", {"agent": "Bad Name!"}),
        ("job.submit", {"input": 1}),
        ("job.submit", {"agent": "echo", "max_runtime_sec": -1}),
        ("job.submit", {"agent": "echo", "lease_request": {"root.everything": ["*"]}}),
        ("session.ack", {"last_processed_seq": -3}),
        ("job.subscribe", {}),
        ("session.list_jobs", {"limit": 5000}),
        ("session.list_jobs", {"cursor": "!!not-ours!!"}),
        ("session.list_jobs", {"cursor": "WzFd"}),
    ],
)
async def test_wrong_payloads_are_invalid_requests_with_request_id(
    rt: Runtime, type_: str, payload: dict[str, object]
) -> None:
    """A payload that breaks the schema is refused, correlated, and mints nothing."""
    peer = connect(rt)
    await peer.hello()
    error = await peer.request(type_, payload)
    assert error["type"] == "session.error"
    assert error["payload"]["code"] == "INVALID_REQUEST"
    assert "Traceback" not in error["payload"]["message"]
    assert len(rt.core.jobs) == 0
    await _still_works(peer)
    assert peer.last_seq == 1


@pytest.mark.parametrize("type_", ["session.welcome", "job.accepted", "job.event", "session.jobs"])
async def test_runtime_bound_messages_are_refused(rt: Runtime, type_: str) -> None:
    """Messages only a runtime sends are not requests: INVALID_REQUEST with details.type."""
    peer = connect(rt)
    await peer.hello()
    payloads: dict[str, dict[str, object]] = {
        "session.welcome": {
            "runtime": {"name": "x"},
            "resume_token": "r",
            "heartbeat_interval_sec": 1,
            "capabilities": {},
        },
        "job.accepted": {"job_id": "job_x", "lease": {}},
        "job.event": {
            "kind": "log",
            "ts": "2026-01-01T00:00:00Z",
            "body": {"level": "info", "message": "m"},
        },
        "session.jobs": {"jobs": []},
    }
    extra = {"event_seq": 1} if type_ == "job.event" else {}
    error = await peer.request(type_, payloads[type_], job_id="job_x", **extra)
    assert error["payload"]["code"] == "INVALID_REQUEST"
    assert error["payload"]["details"] == {"type": type_}
    await _still_works(peer)


async def test_other_major_version_is_refused(rt: Runtime) -> None:
    """§5: an envelope from another major version is INVALID_REQUEST."""
    peer = connect(rt)
    await peer.hello()
    error = await peer.request("session.ping", {"nonce": "n"}, arcp="2.0")
    assert error["payload"]["code"] == "INVALID_REQUEST"
    await _still_works(peer)
