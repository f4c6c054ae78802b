"""The sans-IO core keeps every deadline (issue #14.1) and reads the TypeScript dialect's
refusals (#14.2), with a fake clock: no asyncio, no sockets."""

from __future__ import annotations

import math

import pytest

from arcp.errors import RequestTimeoutError, ResumeFailedError
from arcp.protocol.client_events import (
    ConnectionBroken,
    JobEnded,
    RequestFailed,
    Response,
    SessionClosed,
    SessionFailed,
)
from arcp.protocol.client_session import ClientSession, ClientState
from arcp_gen.errors import AgentNotAvailableError, PermissionDeniedError
from tests.protocol.test_client_session import TOKEN, frame, opened, sent, welcome


def test_a_request_expires_alone_at_its_deadline() -> None:
    """Each request carries its own deadline; on_timer fails exactly the expired one with
    RequestTimeoutError, and a late answer to it is ignored (wire-decisions: correlation)."""
    session = opened(["list_jobs"], request_timeout=10.0)
    slow = session.requests.submit("echo", now=1.0)
    quick = session.requests.list_jobs(2.0, timeout=3.0)
    assert session.next_deadline() == 5.0
    assert session.on_timer(4.9) == []
    [out] = session.on_timer(5.0)
    assert isinstance(out, RequestFailed) and out.request_id == quick
    assert isinstance(out.error, RequestTimeoutError) and out.error.operation == "session.list_jobs"
    assert session.next_deadline() == 11.0
    late = frame("session.jobs", {"request_id": quick, "jobs": []}, session_id="sess_1")
    assert session.receive(late, 6.0) is None
    accepted = frame(
        "job.accepted", {"request_id": slow, "job_id": "job_1", "lease": {}}, job_id="job_1"
    )
    assert isinstance(session.receive(accepted, 7.0), Response)
    assert session.next_deadline() is None


def test_no_deadline_with_math_inf_and_bad_values_refused() -> None:
    session = opened([])
    session.requests.submit("echo", now=0.0, timeout=math.inf)
    assert session.next_deadline() is None
    with pytest.raises(ValueError):
        session.requests.submit("echo", now=0.0, timeout=0)
    with pytest.raises(ValueError):
        ClientSession(token=TOKEN, request_timeout=-1)


def test_handshake_and_close_deadlines() -> None:
    """§6.2: no welcome by the handshake deadline fails the session; §6.7: no
    session.closed by the close deadline ends it anyway, saying so."""
    session = ClientSession(token=TOKEN, handshake_timeout=2.0)
    session.start(0.0)
    assert session.next_deadline() == 2.0
    [out] = session.on_timer(2.0)
    assert isinstance(out, SessionFailed) and isinstance(out.error, RequestTimeoutError)
    assert session.state is ClientState.FAILED

    session = opened(close_timeout=1.0)
    session.close(3.0)
    [out] = session.on_timer(4.0)
    assert isinstance(out, SessionClosed) and out.timed_out
    assert session.state is ClientState.CLOSED


def test_unanswered_resume_falls_back_once_then_fails() -> None:
    """§6.3: session.resume unanswered → drop and retry in the legacy hello form → unanswered
    too → ResumeFailedError, never a third attempt."""
    session = opened(resume_timeout=2.0)
    assert session.connection_lost()
    session.resume(10.0)
    assert [f["type"] for f in sent(session)] == ["session.resume"]
    [out] = session.on_timer(12.0)
    assert isinstance(out, ConnectionBroken) and session.state is ClientState.BROKEN
    assert session.connection_lost()
    session.resume(13.0)
    [hello] = sent(session)
    assert hello["type"] == "session.hello" and hello["payload"]["resume"]["session_id"]
    [out] = session.on_timer(15.0)
    assert isinstance(out, SessionFailed) and isinstance(out.error, ResumeFailedError)
    assert not session.can_resume


def test_resume_answered_in_time_clears_its_deadline() -> None:
    session = opened(resume_timeout=2.0)
    session.connection_lost()
    session.resume(10.0)
    session.receive(welcome(token="rt-2"), 11.0)
    assert session.state is ClientState.OPEN
    assert session.on_timer(12.5) == [] and session.state is ClientState.OPEN


def test_job_error_for_a_job_never_accepted_fails_the_submit() -> None:
    """TypeScript dialect (docs/interop.md T1): the unknown agent comes back as a job.error
    under a new job id, no request_id: it fails the oldest pending submit, keeps event_seq."""
    session = opened()
    session.requests.submit("nosuch", now=0.0)
    refusal = frame(
        "job.error",
        {"code": "AGENT_NOT_AVAILABLE", "message": "no", "final_status": "error"},
        session_id="sess_1",
        job_id="job_new",
        event_seq=1,
    )
    out = session.receive(refusal, 1.0)
    assert isinstance(out, RequestFailed) and isinstance(out.error, AgentNotAvailableError)
    assert session.last_event_seq == 1 and session.requests.pending() == 0


def test_refused_cancel_as_job_error_fails_the_cancel_not_the_job() -> None:
    """TypeScript dialect (T2): PERMISSION_DENIED under a watched job's id while a cancel
    for it is pending fails the cancel; the job's later result still ends it."""
    session = opened()
    request = session.requests.submit("echo", now=0.0)
    session.receive(
        frame(
            "job.accepted",
            {"request_id": request, "job_id": "job_1", "lease": {}},
            session_id="sess_1",
            job_id="job_1",
        ),
        0.0,
    )
    session.requests.cancel("job_1", 1.0)
    refusal = frame(
        "job.error",
        {"code": "PERMISSION_DENIED", "message": "no", "final_status": "error"},
        session_id="sess_1",
        job_id="job_1",
        event_seq=1,
    )
    out = session.receive(refusal, 2.0)
    assert isinstance(out, RequestFailed) and isinstance(out.error, PermissionDeniedError)
    result = frame(
        "job.result",
        {"final_status": "success", "result": 1},
        session_id="sess_1",
        job_id="job_1",
        event_seq=2,
    )
    ended = session.receive(result, 3.0)
    assert isinstance(ended, JobEnded) and ended.result == 1
