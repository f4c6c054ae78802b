"""The sans-IO client session takes bytes: decode and the salvage policy live in the core
(:meth:`ClientSession.receive_frame`, wire-decisions: a client ignores unknown inbound types;
§8.3: an undecodable event still holds its place in the sequence)."""

from __future__ import annotations

from typing import Any

import orjson

from arcp.protocol.client_events import ConnectionBroken, RequestFailed
from arcp.protocol.client_session import ClientSession, ClientState
from arcp_gen.errors import InvalidRequestError
from arcp_gen.messages import JobEventMessage
from tests.protocol.test_client_session import opened

TS = "2026-05-13T19:42:13.000Z"


def wire(type_: str, payload: dict[str, Any], **env: Any) -> bytes:
    data: dict[str, Any] = {"arcp": "1.1", "id": f"peer-{type_}-{id(payload)}", "type": type_}
    data.update(env)
    data["payload"] = payload
    return orjson.dumps(data)


def event_bytes(seq: int, *, broken: bool = False) -> bytes:
    body: Any = "not an object" if broken else {"level": "info", "message": f"e{seq}"}
    return wire(
        "job.event",
        {"kind": "log", "ts": TS, "body": body},
        session_id="sess_1",
        job_id="job_1",
        event_seq=seq,
    )


def test_bytes_in_messages_out() -> None:
    session = opened()
    out = session.receive_frame(event_bytes(1), 1.0)
    assert isinstance(out, JobEventMessage) and out.event_seq == 1
    assert session.last_event_seq == 1


def test_an_undecodable_event_keeps_its_place_in_the_sequence() -> None:
    """§8.3: dropping it is not a gap, so the next event is in order (no resume loop)."""
    session = opened()
    assert session.receive_frame(event_bytes(1, broken=True), 1.0) is None
    assert session.last_event_seq == 1
    out = session.receive_frame(event_bytes(2), 1.0)
    assert isinstance(out, JobEventMessage) and out.event_seq == 2
    assert session.state is ClientState.OPEN


def test_an_undecodable_event_past_a_gap_breaks_the_connection() -> None:
    session = opened()
    out = session.receive_frame(event_bytes(3, broken=True), 1.0)
    assert isinstance(out, ConnectionBroken)
    assert session.state is ClientState.BROKEN


def test_unknown_types_and_garbage_are_dropped() -> None:
    session = opened()
    assert session.receive_frame(wire("x.unknown", {}), 1.0) is None
    assert session.receive_frame(b"\x00not json", 1.0) is None
    assert session.state is ClientState.OPEN


def test_an_undecodable_answer_fails_the_request_it_names() -> None:
    """wire-decisions: Request failures: the caller gets INVALID_REQUEST, not a hang."""
    session = opened()
    request_id = session.list_jobs(1.0)
    session.data_to_send()
    broken = wire("session.jobs", {"request_id": request_id, "jobs": "not a list"})
    out = session.receive_frame(broken, 1.0)
    assert isinstance(out, RequestFailed) and out.request_id == request_id
    assert isinstance(out.error, InvalidRequestError)
    assert session.pending_requests() == 0


def test_a_fresh_session_is_not_opened_by_frames() -> None:
    """Frames before any handshake change nothing (no state move is made from peer input
    the table does not hold)."""
    session = ClientSession()
    assert session.receive_frame(event_bytes(1), 0.0) is None
    assert session.state is ClientState.IDLE
