"""Sans-IO client session (§6-§8): plain function calls, real wire frames, a fake clock."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from arcp.codec import decode
from arcp.protocol.client_events import (
    ConnectionBroken,
    JobEnded,
    RequestFailed,
    Response,
    SessionClosed,
    SessionFailed,
    Welcomed,
)
from arcp.protocol.client_session import ClientSession, ClientState
from arcp_gen.errors import (
    AgentNotAvailableError,
    HeartbeatLostError,
    InternalError,
    InvalidRequestError,
    JobCancelledError,
    JobNotFoundError,
    JobTimeoutError,
    ResumeWindowExpiredError,
    UnauthenticatedError,
)
from arcp_gen.features import Feature
from arcp_gen.messages import JobEventMessage

TOKEN = "secret-bearer-token"
ALL = [f.value for f in Feature]
TS = "2026-05-13T19:42:13.000Z"


def frame(type_: str, payload: dict[str, Any], **env: Any) -> Any:
    """A decoded message built from real wire JSON."""
    data: dict[str, Any] = {"arcp": "1.1", "id": f"peer-{type_}-{id(payload)}", "type": type_}
    data.update(env)
    data["payload"] = payload
    return decode(orjson.dumps(data))


def welcome(
    features: list[str] | None = None,
    *,
    token: str = "rt-1",
    interval: int = 30,
    session_id: str = "sess_1",
) -> Any:
    return frame(
        "session.welcome",
        {
            "runtime": {"name": "rt", "version": "1"},
            "resume_token": token,
            "resume_window_sec": 600,
            "heartbeat_interval_sec": interval,
            "capabilities": {
                "features": ALL if features is None else features,
                "agents": [{"name": "echo", "versions": ["1.0.0"], "default": "1.0.0"}],
            },
        },
        session_id=session_id,
    )


def event(seq: int, job_id: str = "job_1", kind: str = "log", body: Any = None) -> Any:
    body = {"level": "info", "message": f"e{seq}"} if body is None else body
    return frame(
        "job.event",
        {"kind": kind, "ts": TS, "body": body},
        session_id="sess_1",
        job_id=job_id,
        event_seq=seq,
    )


def sent(session: ClientSession) -> list[dict[str, Any]]:
    return [orjson.loads(f) for f in session.data_to_send()]


def opened(features: list[str] | None = None, **kw: Any) -> ClientSession:
    session = ClientSession(token=TOKEN, client_name="t", client_version="9", **kw)
    session.start(0.0)
    session.data_to_send()
    out = session.receive(welcome(features), 0.0)
    assert isinstance(out, Welcomed)
    return session


def test_hello_carries_identity_token_and_features() -> None:
    """§6.1-§6.2: hello has client, bearer auth and every feature we understand; no session_id."""
    session = ClientSession(token=TOKEN, client_name="t", client_version="9")
    session.start(0.0)
    [hello] = sent(session)
    assert hello["type"] == "session.hello"
    assert "session_id" not in hello
    assert hello["payload"]["client"] == {"name": "t", "version": "9"}
    assert hello["payload"]["auth"] == {"scheme": "bearer", "token": TOKEN}
    assert sorted(hello["payload"]["capabilities"]["features"]) == sorted(ALL)
    assert session.state is ClientState.HANDSHAKING


def test_welcome_features_are_the_intersection() -> None:
    """§6.2: effective features = hello ∩ welcome, computed on the client too."""
    session = ClientSession(token=TOKEN, features=[Feature.ACK, Feature.LIST_JOBS])
    session.start(0.0)
    out = session.receive(welcome(["ack", "subscribe", "heartbeat"]), 0.0)
    assert isinstance(out, Welcomed) and not out.resumed
    assert session.features == frozenset({Feature.ACK})
    assert session.session_id == "sess_1"
    assert [a.name for a in session.agents] == ["echo"]
    assert session.next_deadline() is None  # heartbeat was not negotiated


def test_features_outside_the_intersection_raise_locally() -> None:
    """§6.2: never use a feature outside the effective set; refused before anything is sent."""
    session = opened(["heartbeat"])
    with pytest.raises(InvalidRequestError):
        session.requests.list_jobs(1.0)
    with pytest.raises(InvalidRequestError):
        session.requests.subscribe("job_1", 1.0)
    with pytest.raises(InvalidRequestError):
        session.requests.ack(3, 1.0)
    with pytest.raises(InvalidRequestError):
        session.requests.submit("echo@1.0.0", now=1.0)
    with pytest.raises(InvalidRequestError):
        session.requests.submit("echo", now=1.0, lease={"cost.budget": ["USD:1"]})
    with pytest.raises(InvalidRequestError):
        session.requests.submit(
            "echo", now=1.0, lease_constraints={"expires_at": "2030-01-01T00:00:00Z"}
        )
    assert [m["type"] for m in sent(session)] == []


def test_unauthenticated_handshake_fails_the_session() -> None:
    """§6.1: a session.error during the handshake ends the session."""
    session = ClientSession(token="bad")
    session.start(0.0)
    out = session.receive(frame("session.error", {"code": "UNAUTHENTICATED", "message": "no"}), 0.0)
    assert isinstance(out, SessionFailed) and isinstance(out.error, UnauthenticatedError)
    assert session.state is ClientState.FAILED


def test_responses_matched_by_request_id_in_any_order() -> None:
    """wire-decisions: responses carry payload.request_id = the request's envelope id."""
    session = opened()
    first = session.requests.submit("echo", 1, now=1.0)
    second = session.requests.submit("echo", 2, now=1.0)
    frames = sent(session)
    assert [f["id"] for f in frames] == [first, second]
    assert frames[0]["payload"] == {"agent": "echo", "input": 1}
    out = session.receive(
        frame(
            "job.accepted",
            {"request_id": second, "job_id": "job_2", "lease": {}},
            session_id="sess_1",
            job_id="job_2",
        ),
        1.0,
    )
    assert isinstance(out, Response) and out.request_id == second
    out = session.receive(
        frame(
            "job.accepted",
            {"request_id": first, "job_id": "job_1", "lease": {}},
            session_id="sess_1",
            job_id="job_1",
        ),
        1.0,
    )
    assert isinstance(out, Response) and out.request_id == first


def test_responses_without_request_id_fall_back_to_fifo_per_type() -> None:
    """wire-decisions: without request_id, FIFO per request type."""
    session = opened()
    listing = session.requests.list_jobs(1.0)
    first = session.requests.submit("echo", now=1.0)
    second = session.requests.submit("echo", now=1.0)
    accepted = {"job_id": "job_a", "lease": {}}
    out = session.receive(frame("job.accepted", accepted, session_id="s", job_id="job_a"), 1.0)
    assert isinstance(out, Response) and out.request_id == first
    out = session.receive(frame("session.jobs", {"jobs": [], "next_cursor": None}), 1.0)
    assert isinstance(out, Response) and out.request_id == listing
    out = session.receive(frame("job.accepted", accepted, session_id="s", job_id="job_b"), 1.0)
    assert isinstance(out, Response) and out.request_id == second
    assert session.requests.pending() == 0


def test_error_with_request_id_fails_exactly_that_request() -> None:
    """§12: a session.error names the failed request by request_id."""
    session = opened()
    first = session.requests.submit("echo", now=1.0)
    second = session.requests.submit("nope", now=1.0)
    out = session.receive(
        frame(
            "session.error",
            {"code": "AGENT_NOT_AVAILABLE", "message": "no", "request_id": second},
        ),
        1.0,
    )
    assert isinstance(out, RequestFailed) and out.request_id == second
    assert isinstance(out.error, AgentNotAvailableError)
    assert session.requests.pending() == 1 and first


def test_uncorrelated_error_fails_only_oldest_request_of_matching_kind() -> None:
    """wire-decisions: a session.error without request_id fails at most the oldest pending
    request of the matching kind, never an unrelated one."""
    session = opened()
    submit = session.requests.submit("echo", now=1.0)
    cancel_a = session.requests.cancel("job_a", 1.0)
    cancel_b = session.requests.cancel("job_b", 1.0)
    out = session.receive(
        frame(
            "session.error",
            {"code": "JOB_NOT_FOUND", "message": "no", "details": {"job_id": "job_b"}},
        ),
        1.0,
    )
    assert isinstance(out, RequestFailed) and out.request_id == cancel_b
    assert isinstance(out.error, JobNotFoundError)
    out = session.receive(frame("session.error", {"code": "JOB_NOT_FOUND", "message": "x"}), 1.0)
    assert isinstance(out, RequestFailed) and out.request_id == cancel_a
    # Nothing of the matching kind is left: the submit is untouched.
    out = session.receive(frame("session.error", {"code": "JOB_NOT_FOUND", "message": "x"}), 1.0)
    assert out is None
    out = session.receive(
        frame("session.error", {"code": "DUPLICATE_KEY", "message": "x", "detail": "legacy"}),
        1.0,
    )
    assert isinstance(out, RequestFailed) and out.request_id == submit
    assert out.error.details == {"detail": "legacy"}


def test_events_in_order_duplicates_dropped_gap_breaks() -> None:
    """§8.3: expect last+1; a duplicate (≤ last) is dropped; a gap breaks the session."""
    session = opened()
    assert isinstance(session.receive(event(1), 1.0), JobEventMessage)
    assert isinstance(session.receive(event(2), 1.0), JobEventMessage)
    assert session.receive(event(2), 1.0) is None
    assert session.receive(event(1), 1.0) is None
    out = session.receive(event(4), 1.0)
    assert isinstance(out, ConnectionBroken)
    assert session.state is ClientState.BROKEN
    assert session.last_event_seq == 2
    assert session.receive(event(3), 1.0) is None  # ignored until resumed


def resume(session: ClientSession, token: str, now: float = 5.0) -> dict[str, Any]:
    assert session.connection_lost()
    assert session.state is ClientState.DETACHED
    session.resume(now)
    [frame_] = sent(session)
    assert frame_["type"] == "session.resume"
    assert frame_["payload"]["resume_token"] == token
    return frame_


def test_resume_presents_latest_token_and_seq_and_rotates() -> None:
    """§6.3: resume presents the session id, the latest resume_token and last_event_seq; every
    welcome rotates the token."""
    session = opened()
    session.receive(event(1), 1.0)
    session.receive(event(2), 1.0)
    first = resume(session, "rt-1")
    assert first["payload"] == {
        "session_id": "sess_1",
        "resume_token": "rt-1",
        "last_event_seq": 2,
    }
    out = session.receive(welcome(token="rt-2"), 5.0)
    assert isinstance(out, Welcomed) and out.resumed
    assert session.receive(event(2), 5.0) is None  # replayed duplicate
    assert isinstance(session.receive(event(3), 5.0), JobEventMessage)
    second = resume(session, "rt-2")
    assert second["payload"]["last_event_seq"] == 3


def test_resume_resends_safe_requests_and_interrupts_unsafe_ones() -> None:
    """§6.3: list_jobs, cancel and keyed submits are repeated after a resume; an unkeyed
    submit or a subscribe in flight is failed instead (it may already have run)."""
    session = opened()
    unsafe = session.requests.submit("echo", now=1.0)
    keyed = session.requests.submit("echo", now=1.0, idempotency_key="k1")
    listing = session.requests.list_jobs(1.0)
    sent(session)
    resume(session, "rt-1")
    queued_while_detached = None
    session.connection_lost()
    queued_while_detached = session.requests.cancel("job_x", 6.0)
    session.resume(6.0)
    sent(session)
    out = session.receive(welcome(token="rt-2"), 6.0)
    assert isinstance(out, Welcomed) and out.interrupted == (unsafe,)
    again = {f["id"] for f in sent(session)}
    assert again == {keyed, listing, queued_while_detached}


def test_resume_window_expired_fails_the_session() -> None:
    """§6.3: RESUME_WINDOW_EXPIRED answers a resume the buffer no longer covers."""
    session = opened()
    resume(session, "rt-1")
    out = session.receive(
        frame("session.error", {"code": "RESUME_WINDOW_EXPIRED", "message": "too late"}), 9.0
    )
    assert isinstance(out, SessionFailed)
    assert isinstance(out.error, ResumeWindowExpiredError)
    assert not session.can_resume


def test_heartbeat_ping_pong_and_loss_with_a_fake_clock() -> None:
    """§6.4: ping after one silent interval, answer pings, HEARTBEAT_LOST after two."""
    session = ClientSession(token=TOKEN)
    session.start(0.0)
    sent(session)
    session.receive(welcome(interval=10), 0.0)
    assert session.next_deadline() == 10.0
    assert session.on_timer(9.9) == [] and sent(session) == []
    assert session.on_timer(10.0) == []
    [ping] = sent(session)
    assert ping["type"] == "session.ping" and ping["payload"]["nonce"]
    session.receive(frame("session.ping", {"nonce": "p9"}, session_id="sess_1"), 12.0)
    [pong] = sent(session)
    assert pong["type"] == "session.pong" and pong["payload"]["ping_nonce"] == "p9"
    # Received at 12: loss is declared at 32, not before.
    assert session.on_timer(31.0) == []
    sent(session)
    [out] = session.on_timer(32.0)
    assert isinstance(out, ConnectionBroken) and isinstance(out.error, HeartbeatLostError)
    [err] = sent(session)
    assert err["type"] == "session.error" and err["payload"]["code"] == "HEARTBEAT_LOST"
    assert session.state is ClientState.BROKEN and session.can_resume


def test_runtime_heartbeat_lost_error_breaks_the_connection() -> None:
    """§6.4: a HEARTBEAT_LOST from the runtime means drop the transport and resume."""
    session = opened()
    out = session.receive(frame("session.error", {"code": "HEARTBEAT_LOST", "message": "x"}), 1)
    assert isinstance(out, ConnectionBroken)


def test_auto_ack_at_most_once_per_interval() -> None:
    """§6.5: automatic acks at most every N events / T seconds, whichever is rarer."""
    session = opened(["ack"], ack_interval=1.0, ack_every=2)
    for seq in (1, 2, 3):
        session.receive(event(seq), 0.0)
    assert session.requests.processed(1) is False  # fewer than 2 new events
    assert session.requests.processed(2) is True
    assert session.next_deadline() is not None
    session.on_timer(0.0)
    [ack] = sent(session)
    assert ack["payload"] == {"last_processed_seq": 2}
    session.requests.processed(3)
    session.requests.processed(4)
    assert session.next_deadline() == 1.0
    session.on_timer(0.5)
    assert sent(session) == []
    session.on_timer(1.0)
    assert [a["payload"] for a in sent(session)] == [{"last_processed_seq": 4}]
    session.requests.ack(10, 2.0)
    assert [a["payload"] for a in sent(session)] == [{"last_processed_seq": 10}]


def test_auto_ack_disabled_sends_nothing() -> None:
    """§6.5: acks are optional; auto_ack=False leaves them to the application."""
    session = opened(["ack"], auto_ack=False)
    session.receive(event(1), 0.0)
    assert session.requests.processed(1) is False
    assert session.next_deadline() is None


def chunk(seq: int, cseq: int, data: str, encoding: str, more: bool, rid: str = "res_1") -> Any:
    body = {"result_id": rid, "chunk_seq": cseq, "data": data, "encoding": encoding, "more": more}
    return event(seq, kind="result_chunk", body=body)


def result(seq: int, payload: dict[str, Any], job_id: str = "job_1") -> Any:
    return frame("job.result", payload, session_id="sess_1", job_id=job_id, event_seq=seq)


def test_utf8_result_chunks_reassemble_to_str() -> None:
    """§8.4: utf8 chunks concatenate, in chunk_seq order, into a str."""
    session = opened()
    session.receive(chunk(1, 0, "héllo ", "utf8", True), 0)
    session.receive(chunk(2, 1, "wörld", "utf8", False), 0)
    out = session.receive(result(3, {"final_status": "success", "result_id": "res_1"}), 0)
    assert isinstance(out, JobEnded) and out.error is None
    assert out.result == "héllo wörld"


def test_base64_result_chunks_reassemble_to_bytes() -> None:
    """§8.4: base64 chunks decode and concatenate into bytes; chunk_seq order wins."""
    session = opened()
    blob = bytes(range(256)) * 3
    parts = [blob[:300], blob[300:600], blob[600:]]
    enc = [base64.b64encode(p).decode() for p in parts]
    session.receive(chunk(1, 1, enc[1], "base64", True), 0)
    session.receive(chunk(2, 0, enc[0], "base64", True), 0)
    session.receive(chunk(3, 2, enc[2], "base64", False), 0)
    out = session.receive(result(4, {"final_status": "success", "result_id": "res_1"}), 0)
    assert isinstance(out, JobEnded) and out.result == blob


def test_incomplete_streamed_result_is_an_error() -> None:
    """§8.4: a result_id whose chunks are missing cannot be assembled."""
    session = opened()
    session.receive(chunk(1, 0, "a", "utf8", True), 0)
    out = session.receive(result(2, {"final_status": "success", "result_id": "res_1"}), 0)
    assert isinstance(out, JobEnded) and isinstance(out.error, InternalError)


def test_terminal_messages_map_to_typed_errors() -> None:
    """§7.3-§7.4: job.error carries the code; legacy job.result cancelled/timed_out too."""
    session = opened()
    out = session.receive(result(1, {"final_status": "success", "result": {"x": 1}}), 0)
    assert isinstance(out, JobEnded) and out.result == {"x": 1} and out.error is None
    err = frame(
        "job.error",
        {"code": "CANCELLED", "message": "stop", "final_status": "cancelled"},
        session_id="sess_1",
        job_id="job_2",
        event_seq=2,
    )
    out = session.receive(err, 0)
    assert isinstance(out, JobEnded) and isinstance(out.error, JobCancelledError)
    out = session.receive(result(3, {"final_status": "cancelled"}, "job_3"), 0)
    assert isinstance(out, JobEnded) and isinstance(out.error, JobCancelledError)
    out = session.receive(result(4, {"final_status": "timed_out"}, "job_4"), 0)
    assert isinstance(out, JobEnded) and isinstance(out.error, JobTimeoutError)


def test_close_then_closed() -> None:
    """§6.7: session.close is answered by session.closed; no resume afterwards."""
    session = opened()
    session.close(1.0, "bye")
    [close] = sent(session)
    assert close["type"] == "session.close" and close["payload"] == {"reason": "bye"}
    out = session.receive(frame("session.closed", {}, session_id="sess_1"), 1.0)
    assert isinstance(out, SessionClosed)
    assert not session.connection_lost()


def test_secrets_never_in_repr() -> None:
    """§6.1, §6.3: the bearer and resume tokens never show up in a repr, of the session or
    of what it reports."""
    session = ClientSession(token=TOKEN)
    session.start(0.0)
    out = session.receive(welcome(token="rt-secret-1"), 0.0)
    texts = [repr(session), repr(out), repr(session.agents), repr(session.runtime_info)]
    for text in texts:
        assert TOKEN not in text and "rt-secret-1" not in text


def test_submit_payload_fields_and_trace_id() -> None:
    """§7.1, §11: submit fields, and a traceparent reduced to its trace-id on the envelope."""
    session = opened()
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    session.requests.submit(
        "echo@1.0.0",
        {"a": 1},
        now=0,
        lease={"fs.read": ["/w/**"]},
        lease_constraints={"expires_at": "2030-01-01T00:00:00Z"},
        idempotency_key="k",
        max_runtime_sec=30.0,
        trace_id=f"00-{trace}-00f067aa0ba902b7-01",
    )
    [sub] = sent(session)
    assert sub["trace_id"] == trace
    assert sub["session_id"] == "sess_1"
    assert sub["payload"] == {
        "agent": "echo@1.0.0",
        "input": {"a": 1},
        "lease_request": {"fs.read": ["/w/**"]},
        "lease_constraints": {"expires_at": "2030-01-01T00:00:00Z"},
        "idempotency_key": "k",
        "max_runtime_sec": 30,
    }


def test_resume_falls_back_to_legacy_hello_with_resume() -> None:
    """wire-decisions (Session): a runtime that rejects session.resume as unknown gets the
    legacy form, session.hello carrying payload.resume; its welcome completes the resume."""
    session = opened()
    session.receive(event(1), 1.0)
    resume(session, "rt-1")
    refused = frame("session.error", {"code": "INVALID_REQUEST", "message": "unknown type"})
    assert session.receive(refused, 5.0) is None
    [hello] = sent(session)
    assert hello["type"] == "session.hello"
    assert hello["payload"]["auth"]["token"] == TOKEN
    assert hello["payload"]["resume"] == {
        "session_id": "sess_1",
        "resume_token": "rt-1",
        "last_event_seq": 1,
    }
    out = session.receive(welcome(token="rt-2"), 5.0)
    assert isinstance(out, Welcomed) and out.resumed
    # That runtime refused session.resume once: later resumes (on a new connection, since
    # such a runtime closes the one it refused on) go straight to the legacy form...
    assert session.connection_lost()
    session.resume(6.0)
    [again] = sent(session)
    assert again["type"] == "session.hello"
    assert again["payload"]["resume"]["resume_token"] == "rt-2"
    # ... and a refusal of the legacy form is final.
    out = session.receive(refused, 6.0)
    assert isinstance(out, SessionFailed)
