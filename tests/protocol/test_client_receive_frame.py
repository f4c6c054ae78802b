"""The sans-IO client session's door takes bytes: decode and the salvage policy live in the
core (:meth:`ClientSession.receive_data`, wire-decisions: a client ignores unknown inbound
types; §8.3: an undecodable event still holds its place in the sequence), and one call takes
every frame of a transport read, answering with one :class:`Step`."""

from __future__ import annotations

from typing import Any

import orjson

from arcp.protocol.client_events import ConnectionBroken, RequestFailed, SessionOutput
from arcp.protocol.client_session import ClientSession, ClientState
from arcp.protocol.client_step import Step
from arcp_gen.errors import InvalidRequestError
from arcp_gen.messages import JobEventMessage
from tests.protocol.test_client_session import opened

TS = "2026-05-13T19:42:13.000Z"


def one(step: Step) -> SessionOutput | None:
    """The output of a step that took one frame (at most one)."""
    assert len(step.outputs) <= 1
    return step.outputs[0] if step.outputs else None


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
    out = one(session.receive_data(event_bytes(1), 1.0))
    assert isinstance(out, JobEventMessage) and out.event_seq == 1
    assert session.last_event_seq == 1


def test_an_undecodable_event_keeps_its_place_in_the_sequence() -> None:
    """§8.3: dropping it is not a gap, so the next event is in order (no resume loop)."""
    session = opened()
    assert one(session.receive_data(event_bytes(1, broken=True), 1.0)) is None
    assert session.last_event_seq == 1
    out = one(session.receive_data(event_bytes(2), 1.0))
    assert isinstance(out, JobEventMessage) and out.event_seq == 2
    assert session.state is ClientState.OPEN


def test_an_undecodable_event_past_a_gap_breaks_the_connection() -> None:
    session = opened()
    out = one(session.receive_data(event_bytes(3, broken=True), 1.0))
    assert isinstance(out, ConnectionBroken)
    assert session.state is ClientState.BROKEN


def test_unknown_types_and_garbage_are_dropped() -> None:
    session = opened()
    assert one(session.receive_data(wire("x.unknown", {}), 1.0)) is None
    assert one(session.receive_data(b"\x00not json", 1.0)) is None
    assert session.state is ClientState.OPEN


def test_an_undecodable_answer_fails_the_request_it_names() -> None:
    """wire-decisions: Request failures: the caller gets INVALID_REQUEST, not a hang."""
    session = opened()
    request_id = session.requests.list_jobs(1.0)
    session.data_to_send()
    broken = wire("session.jobs", {"request_id": request_id, "jobs": "not a list"})
    out = one(session.receive_data(broken, 1.0))
    assert isinstance(out, RequestFailed) and out.request_id == request_id
    assert isinstance(out.error, InvalidRequestError)
    assert session.requests.pending() == 0


def test_a_fresh_session_is_not_opened_by_frames() -> None:
    """Frames before any handshake change nothing (no state move is made from peer input
    the table does not hold)."""
    session = ClientSession()
    assert one(session.receive_data(event_bytes(1), 0.0)) is None
    assert session.state is ClientState.IDLE


def test_one_read_is_one_step_with_its_outputs_in_order() -> None:
    """Every frame of one transport read goes through one call; what they make the session
    send (a pong here) and its next deadline come back in the same step."""
    session = opened()
    ping = wire("session.ping", {"nonce": "n1", "sent_at": TS}, session_id="sess_1")
    step = session.receive_data(
        [event_bytes(1), ping, event_bytes(2, broken=True), event_bytes(3)], 1.0
    )
    assert [type(o) for o in step.outputs] == [JobEventMessage, JobEventMessage]
    assert [o.event_seq for o in step.outputs if isinstance(o, JobEventMessage)] == [1, 3]
    assert [orjson.loads(f)["type"] for f in step.frames] == ["session.pong"]
    assert step.deadline == session.next_deadline() and step.deadline is not None
    assert session.data_to_send() == []  # the step took them


def test_decoded_messages_and_bytes_take_the_same_door() -> None:
    from arcp.codec import decode

    session = opened()
    step = session.receive_data([decode(event_bytes(1)), event_bytes(2)], 1.0)
    assert [o.event_seq for o in step.outputs if isinstance(o, JobEventMessage)] == [1, 2]


def test_requests_go_out_with_the_next_step_and_advance_does_what_is_due() -> None:
    session = opened(request_timeout=5.0)
    request_id = session.requests.list_jobs(1.0)
    step = session.receive_data((), 1.0)  # nothing arrived: the queued request goes out
    assert step.outputs == () and len(step.frames) == 1
    assert step.deadline is not None and step.deadline <= 6.0
    late = session.advance(6.0)
    assert [o.request_id for o in late.outputs if isinstance(o, RequestFailed)] == [request_id]
