"""Property: whatever the network does (duplicates, losses, drops), resume makes the client
deliver every event exactly once, in order (§6.3, §8.3).

A loss happens on a connection, never in the replay that starts a resumed one: a runtime that
replays from ``last_event_seq + 1`` fills the gap. (A runtime that does not is one that lost
the events; the client then accepts the jump instead of resuming forever, see
``test_a_gap_a_resume_does_not_fill_is_accepted``.)"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from arcp.codec import decode
from arcp.protocol.client_events import ConnectionBroken, Welcomed
from arcp.protocol.client_session import ClientSession, ClientState
from arcp_gen.messages import JobEventMessage

N = 25
TS = "2026-05-13T19:42:13.000Z"


def _frame(type_: str, payload: dict[str, Any], **env: Any) -> Any:
    return decode(
        orjson.dumps({"arcp": "1.1", "id": "x", "type": type_, **env, "payload": payload})
    )


def _welcome(token: str) -> Any:
    return _frame(
        "session.welcome",
        {
            "runtime": {"name": "rt"},
            "resume_token": token,
            "heartbeat_interval_sec": 30,
            "capabilities": {"features": ["ack"]},
        },
        session_id="sess_1",
    )


EVENTS = [
    _frame(
        "job.event",
        {"kind": "log", "ts": TS, "body": {"level": "info", "message": str(seq)}},
        session_id="sess_1",
        job_id="job_1",
        event_seq=seq,
    )
    for seq in range(1, N + 1)
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["next", "dup", "lose", "drop"]), max_size=80))
def test_exactly_once_in_order_across_drops(actions: list[str]) -> None:
    """§6.3, §8.3: duplicates are dropped, a loss is a gap that forces a resume, a drop
    resumes from last_event_seq; the application sees 1..N once each."""
    session = ClientSession(token="t")
    session.start(0.0)
    session.data_to_send()
    session.receive(_welcome("rt-0"), 0.0)
    delivered: list[int] = []
    cursor = 1  # the next seq the runtime sends on the current connection
    tokens = 0
    replaying = False  # the next frame is the first of a resume's replay

    def reconnect() -> int:
        nonlocal tokens, replaying
        replaying = True
        assert session.connection_lost()
        session.resume(1.0)
        [resume] = [orjson.loads(f) for f in session.data_to_send()]
        assert resume["payload"]["resume_token"] == f"rt-{tokens}"
        tokens += 1
        out = session.receive(_welcome(f"rt-{tokens}"), 1.0)
        assert isinstance(out, Welcomed) and out.resumed
        return resume["payload"]["last_event_seq"] + 1  # the runtime replays from here

    def deliver(seq: int, *, fresh: bool = True) -> None:
        nonlocal cursor, replaying
        replaying = replaying and not fresh
        out = session.receive(EVENTS[seq - 1], 1.0)
        if isinstance(out, JobEventMessage):
            delivered.append(out.event_seq)
        elif isinstance(out, ConnectionBroken):
            assert session.state is ClientState.BROKEN
            cursor = reconnect()

    for action in actions:
        if action == "drop":
            cursor = reconnect()
        elif cursor > N:
            continue
        elif action == "next":
            cursor += 1
            deliver(cursor - 1)
        elif action == "dup" and cursor > 1:
            deliver(cursor - 1, fresh=False)
        elif action == "lose" and not replaying:
            cursor += 1  # the frame never arrives
    while cursor <= N:
        cursor += 1
        deliver(cursor - 1)
    if session.last_event_seq < N:
        # The tail was lost and nothing followed it; in a real session the next frame (the
        # terminal message, a heartbeat loss) reveals that. Resume once more.
        cursor = reconnect()
        while cursor <= N:
            cursor += 1
            deliver(cursor - 1)
    assert delivered == list(range(1, N + 1))


def test_a_gap_a_resume_does_not_fill_is_accepted() -> None:
    """§8.3 with a runtime that does not buffer while detached (docs/interop.md): a gap
    resumes once; when the replay still jumps, the events are lost, and the client accepts
    the jump (with a warning) instead of resuming again and again."""
    session = ClientSession(token="t")
    session.start(0.0)
    session.receive(_welcome("rt-0"), 0.0)
    assert isinstance(session.receive(EVENTS[0], 0.0), JobEventMessage)
    assert isinstance(session.receive(EVENTS[3], 0.0), ConnectionBroken)  # 2, 3 missing
    assert session.connection_lost()
    session.resume(1.0)
    session.data_to_send()
    assert isinstance(session.receive(_welcome("rt-1"), 1.0), Welcomed)
    out = session.receive(EVENTS[3], 1.0)  # the replay does not have 2 and 3 either
    assert isinstance(out, JobEventMessage) and out.event_seq == 4
    assert session.last_event_seq == 4 and session.state is ClientState.OPEN
    assert isinstance(session.receive(EVENTS[4], 1.0), JobEventMessage)
