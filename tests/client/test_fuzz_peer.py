"""A lying runtime cannot break the client (§5, §8.3; wire-decisions: Request failures).

Hypothesis scripts a runtime that, after accepting a job, sends the client any mix of events
in and out of sequence, terminal messages for jobs it never announced, uncorrelated answers,
session errors, pings and garbage, then the job's result. Whatever it sends, the client's
reader never fails, the job's stream yields typed events in strictly increasing
``event_seq`` order, and the job ends with its result, a typed ARCP error, or
``ConnectionLostError`` (the client dropped a connection it could not trust).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcp.client import Client, ConnectionLostError
from arcp.ids import new_ulid
from arcp.transport import memory_pair
from arcp_gen.errors import ARCPError, ErrorCode
from arcp_gen.messages import JobEventMessage
from tests.client.test_client_scripted import TS, Peer

_JOB = "job_J"
_TEXT = st.text(max_size=10)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)
_BODIES = {
    "log": st.fixed_dictionaries({"level": st.sampled_from(["info", "loud"]), "message": _TEXT}),
    "progress": st.fixed_dictionaries({"current": st.integers(-1, 5)}, optional={"total": _JSON}),
    "status": st.fixed_dictionaries({"phase": _TEXT}),
    "metric": st.fixed_dictionaries({"name": _TEXT, "value": _JSON}),
    "result_chunk": st.fixed_dictionaries(
        {"result_id": st.just("res_1"), "chunk_seq": st.integers(-1, 3), "data": _TEXT},
        optional={"encoding": st.sampled_from(["utf8", "base64", "rot13"]), "more": _JSON},
    ),
    "x-vendor.thing": _JSON.map(lambda v: {"v": v}),
}


@st.composite
def _lie(draw: st.DrawFn, seq: int) -> tuple[dict[str, Any] | bytes, int]:
    """One frame a runtime should not (or may) send, and the session seq after it."""
    choice = draw(st.integers(0, 7))
    job_id = draw(st.sampled_from([_JOB, _JOB, "job_other"]))
    if choice <= 2:  # an event: the next seq most of the time, else a repeat or a jump
        step = draw(st.sampled_from([1, 1, 1, 0, -1, 2, 5]))
        kind = draw(st.sampled_from(sorted(_BODIES)))
        event = {
            "kind": kind,
            "ts": draw(st.sampled_from([TS, "yesterday"])),
            "body": draw(_BODIES[kind]),
        }
        frame: dict[str, Any] = {"type": "job.event", "job_id": job_id, "event_seq": seq + step}
        frame["payload"] = event
        return frame, max(seq, seq + step)
    if choice == 3:  # a terminal message, maybe for a job the client never heard of
        step = draw(st.sampled_from([1, 0, 3]))
        if draw(st.booleans()):
            payload: Any = {"final_status": "success", "result": draw(_JSON)}
            type_ = "job.result"
        else:
            code = draw(st.sampled_from([c.value for c in ErrorCode] + ["NOT_A_CODE"]))
            payload = {"code": code, "message": "m", "final_status": "error"}
            type_ = "job.error"
        other = {"type": type_, "job_id": "job_other", "event_seq": seq + step}
        return other | {"payload": payload}, max(seq, seq + step)
    if choice == 4:
        request_id = draw(st.sampled_from([new_ulid(), "nope"]))
        payload = {"job_id": "job_other", "lease": {}, "request_id": request_id}
        return {"type": "job.accepted", "job_id": "job_other", "payload": payload}, seq
    if choice == 5:
        code = draw(st.sampled_from(["INVALID_REQUEST", "JOB_NOT_FOUND", "NOT_A_CODE"]))
        payload = {"code": code, "message": "m", "request_id": new_ulid()}
        return {"type": "session.error", "payload": payload}, seq
    if choice == 6:
        return {
            "type": draw(st.sampled_from(["session.ping", "session.pong", "x.y"])),
            "payload": draw(_JSON),
        }, seq
    return draw(st.binary(max_size=20) | st.sampled_from([b"{}", b"[]", b"null"])), seq


@st.composite
def _script(draw: st.DrawFn) -> list[dict[str, Any] | bytes]:
    seq = 0
    frames: list[dict[str, Any] | bytes] = []
    for _ in range(draw(st.integers(0, 12))):
        frame, seq = draw(_lie(seq))
        frames.append(frame)
    frames.append(
        {
            "type": "job.result",
            "job_id": _JOB,
            "event_seq": seq + 1,
            "payload": {"final_status": "success", "result": "the end"},
        }
    )
    return frames


async def _scenario(script: list[dict[str, Any] | bytes]) -> None:
    mine, theirs = memory_pair()
    peer = Peer(theirs)
    welcoming = asyncio.create_task(peer.welcome())
    client = await Client.connect(mine, token="t", heartbeat=False, reconnect=False)
    await welcoming
    submitting = asyncio.create_task(client.submit("echo", {}))
    request = await peer.expect("job.submit")
    await peer.accept(request, _JOB, correlate=True)
    handle = await submitting
    for frame in script:
        if isinstance(frame, bytes):
            await theirs.send(frame)
        else:
            await peer.send(
                frame["type"],
                frame["payload"],
                session_id="sess_S",
                **{k: v for k, v in frame.items() if k not in ("type", "payload")},
            )
    seqs: list[int] = []
    try:
        async with asyncio.timeout(5):
            async for event in handle:
                assert type(event) is JobEventMessage
                seqs.append(event.event_seq)
            outcome: Any = await handle.result()
    except (ARCPError, ConnectionLostError) as exc:
        outcome = exc
    assert seqs == sorted(set(seqs)), seqs
    assert outcome == "the end" or isinstance(outcome, ARCPError | ConnectionLostError), outcome
    theirs.drop()
    await client.close()


@contextlib.contextmanager
def _client_errors() -> Iterator[list[str]]:
    """The ERROR records of the client's loggers meanwhile (a failed reader logs one)."""
    failures: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            failures.append(record.getMessage())

    handler = Collect(logging.ERROR)
    logging.getLogger("arcp").addHandler(handler)
    try:
        yield failures
    finally:
        logging.getLogger("arcp").removeHandler(handler)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_script())
def test_whatever_the_runtime_sends_the_client_stays_sound(
    script: list[dict[str, Any] | bytes],
) -> None:
    with _client_errors() as failures:
        asyncio.run(_scenario(script))
    assert not failures, failures
