"""The real sessions never ask their tables for a move they do not hold, whatever a driver
and a peer do in whatever order (§6): random call sequences with hypothesis. A move the table
lacks would raise ``IllegalTransition`` out of a driver's call, so none may escape here."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import example, given, settings
from hypothesis import strategies as st

from arcp.codec import decode
from arcp.protocol.client_session import ClientSession
from arcp.protocol.runtime_session import RuntimeSession
from arcp.protocol.states import CLIENT_SESSION, RUNTIME_SESSION, IllegalTransition
from arcp_gen.errors import InvalidRequestError
from arcp_gen.features import Feature
from arcp_gen.messages import Message
from tests.protocol.stamps import stamps

TS = "2026-05-13T19:42:13.000Z"
ALL = [f.value for f in Feature]


def _msg(type_: str, payload: dict[str, Any], **env: Any) -> Message:
    data: dict[str, Any] = {"arcp": "1.1", "id": "01JRHD2GP0JHKZA6KS2PTN7400", "type": type_}
    data.update(env)
    data["payload"] = payload
    return decode(orjson.dumps(data))


def _welcome() -> Message:
    caps = {"features": ALL, "agents": [{"name": "echo", "versions": ["1"], "default": "1"}]}
    return _msg(
        "session.welcome",
        {
            "runtime": {"name": "rt", "version": "1"},
            "resume_token": "rt-1",
            "resume_window_sec": 600,
            "heartbeat_interval_sec": 1,
            "capabilities": caps,
        },
        session_id="sess_1",
    )


def _error(code: str) -> Message:
    return _msg("session.error", {"code": code, "message": "m", "retryable": False})


def _event(seq: int) -> Message:
    body = {"kind": "log", "ts": TS, "body": {"level": "info", "message": "m"}}
    return _msg("job.event", body, session_id="sess_1", job_id="job_1", event_seq=seq)


def _result(seq: int) -> Message:
    body = {"final_status": "success", "result": 1}
    return _msg("job.result", body, session_id="sess_1", job_id="job_1", event_seq=seq)


CLIENT_OPS = [
    "start",
    "restore",
    "resume",
    "close",
    "connection_lost",
    "fail",
    "timer",
    "submit",
    "welcome",
    "closed",
    "bye",
    "heartbeat_lost",
    "unauthenticated",
    "invalid_request",
    "window_expired",
    "internal_error",
    "event",
    "gap",
    "result",
    "ping",
]


def _client_step(session: ClientSession, op: str, now: float) -> None:
    seq = session.last_event_seq
    try:
        match op:
            case "start":
                session.start(now)
            case "restore":
                session.restore("sess_1", "rt-0", 0)
            case "resume":
                session.resume(now)
            case "close":
                session.close(now)
            case "connection_lost":
                session.connection_lost()
            case "fail":
                session.fail(RuntimeError("x"))
            case "timer":
                session.on_timer(now + 100.0)
            case "submit":
                session.requests.submit("echo", now=now)
            case "welcome":
                session.receive(_welcome(), now)
            case "closed":
                session.receive(_msg("session.closed", {}), now)
            case "bye":
                session.receive(_msg("session.bye", {"reason": "r"}), now)
            case "heartbeat_lost":
                session.receive(_error("HEARTBEAT_LOST"), now)
            case "unauthenticated":
                session.receive(_error("UNAUTHENTICATED"), now)
            case "invalid_request":
                session.receive(_error("INVALID_REQUEST"), now)
            case "window_expired":
                session.receive(_error("RESUME_WINDOW_EXPIRED"), now)
            case "internal_error":
                session.receive(_error("INTERNAL_ERROR"), now)
            case "event":
                session.receive(_event(seq + 1), now)
            case "gap":
                session.receive(_event(seq + 5), now)
            case "result":
                session.receive(_result(seq + 1), now)
            case _:
                session.receive(_msg("session.ping", {"nonce": "n", "sent_at": TS}), now)
    except IllegalTransition:
        raise
    except (RuntimeError, InvalidRequestError):
        pass  # a driver's misuse, refused with a message before any move (e.g. start twice)
    session.data_to_send()


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(CLIENT_OPS), min_size=4, max_size=30))
@example(["start", "welcome", "gap", "connection_lost", "resume", "welcome", "close", "timer"])
@example(["start", "welcome", "heartbeat_lost", "connection_lost", "resume", "timer", "timer"])
@example(["restore", "resume", "invalid_request", "timer", "connection_lost", "resume", "timer"])
@example(["start", "timer", "connection_lost", "closed", "fail"])
@example(["start", "welcome", "close", "internal_error", "connection_lost", "bye"])
def test_the_client_session_only_makes_table_moves(ops: list[str]) -> None:
    session = ClientSession()
    for i, op in enumerate(ops):
        before = session.state
        _client_step(session, op, float(i))
        if before in CLIENT_SESSION.terminal:
            assert session.state == before


RUNTIME_OPS = ["resume", "bad_resume", "detach", "disconnect", "close", "flood", "tick", "sweep"]


def _runtime_step(session: RuntimeSession, token: str, op: str, now: float) -> str:
    match op:
        case "resume":
            if session.resume(token, session.buffer.last_seq, now) is None:
                token = _token(session)
        case "bad_resume":
            session.resume("rt_wrong", 0, now)
        case "detach":
            session.detach(now)
        case "disconnect":
            session.disconnect()
        case "close":
            if session.attached:  # session.close comes in on the session's connection
                session.close()
        case "flood":
            for _ in range(4):
                session.control("session.pong", {"ping_nonce": "x" * 200, "received_at": TS})
        case "tick":
            session.on_deadline(now)
        case _:
            if session.expired(now):  # what RuntimeCore.sweep does
                session.release()
    return token


def _token(session: RuntimeSession) -> str:
    for frame in reversed(session.drain(0.0)):
        env = orjson.loads(frame)
        if env["type"] == "session.welcome":
            return str(env["payload"]["resume_token"])
    raise AssertionError("no welcome")


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(RUNTIME_OPS), min_size=4, max_size=30))
@example(["disconnect", "detach", "resume", "flood", "close", "detach", "sweep", "sweep"])
@example(["close", "disconnect", "tick", "detach", "disconnect", "bad_resume", "resume"])
def test_the_runtime_session_only_makes_table_moves(ops: list[str]) -> None:
    session = RuntimeSession(
        session_id="sess_1",
        principal="p",
        features=[Feature.HEARTBEAT],
        welcome_base={},
        now=0.0,
        stamps=stamps(),
        resume_window_sec=5,
        heartbeat_interval_sec=1,
        max_control_bytes=1500,
    )
    session.welcome()
    token = _token(session)
    now = 0.0
    for op in ops:
        now += 3.0
        before = session.state
        if before in RUNTIME_SESSION.terminal:
            break  # an expired session is forgotten: nobody calls it again
        token = _runtime_step(session, token, op, now)
        session.drain(now)
