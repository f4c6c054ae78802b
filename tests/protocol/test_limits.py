"""Bounded reply queues, sans-IO (§13.2, §14; issue #13 item 1b)."""

from __future__ import annotations

import tracemalloc

import orjson
import pytest

from arcp.protocol.limits import Limits
from arcp.protocol.runtime_connection import RuntimeConnection
from arcp.protocol.runtime_session import RuntimeSession
from arcp_gen.errors import InvalidRequestError
from tests.protocol.stamps import stamps


def _session(max_control_bytes: int) -> RuntimeSession:
    session = RuntimeSession(
        session_id="sess_1",
        principal="alice",
        features=(),
        welcome_base={},
        now=0.0,
        stamps=stamps(),
        max_control_bytes=max_control_bytes,
    )
    session.welcome()
    return session


def test_a_control_frame_is_kept_at_its_exact_size() -> None:
    """Issue #13: each queued control frame kept orjson's ~4 KiB allocation (4,111 B for a
    162-byte frame)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        stamp = stamps()
        frames = [stamp.control_frame("session.pong", {"ping_nonce": "p"}) for _ in range(100)]
        per_frame = (tracemalloc.get_traced_memory()[0] - before) / len(frames)
    finally:
        tracemalloc.stop()
    assert per_frame < len(frames[0]) + 128


def test_control_frames_past_the_bound_close_the_session_s_connection_once() -> None:
    """A peer that does not read: pongs queue up to the bound, then one session.error
    INTERNAL_ERROR (§13.2) and nothing more; the session is closing, its events kept."""
    session = _session(4096)
    session.drain(0.0)  # the welcome went out
    for _ in range(100):
        session.ping("n")
    assert session.overflowed and session.closing
    sent = [orjson.loads(f) for f in session.drain(0.0)]
    assert all(f["type"] == "session.pong" for f in sent[:-1])
    assert len(sent) < 30
    error = sent[-1]["payload"]
    assert error["code"] == "INTERNAL_ERROR" and error["retryable"] is True
    assert error["details"] == {"limit": "max_queued_control_bytes", "max": 4096}
    session.ping("n")
    assert session.drain(0.0) == []


def test_a_resumed_session_starts_with_an_empty_bound() -> None:
    session = _session(4096)
    for _ in range(100):
        session.ping("n")
    token = orjson.loads(session.drain(0.0)[0])["payload"]["resume_token"]
    session.detach(1.0)
    assert session.resume(token, 0, 2.0) is None
    assert not session.overflowed and not session.closing


def test_errors_before_a_session_are_bounded_too() -> None:
    """300,000 one-byte frames before hello: the pre-session queue is bounded and then
    the connection stops taking frames (``overflowed``)."""
    conn = RuntimeConnection(max_preamble_bytes=2048, stamps=stamps())
    for _ in range(1000):
        conn.error(InvalidRequestError("frame is not valid JSON"))
        if conn.overflowed:
            break
    assert conn.overflowed and conn.closing
    frames = [orjson.loads(f) for f in conn.take(0.0)]
    assert len(frames) < 20
    assert frames[-1]["payload"]["details"] == {"limit": "max_preamble_bytes", "max": 2048}


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_input_bytes"):
        Limits(max_input_bytes=0)
    assert Limits(idle_session_sec=None).idle_session_sec is None
