"""Any frame a client sends leaves the session working and the runtime honest (wire-decisions:
Request failures; §5, §7, §8.3).

Hypothesis sends a live session sequences of frames: well-formed requests, requests with
fields missing, of the wrong type or out of range, unknown types and plain garbage. After
them the session must still run a job end to end, every frame the runtime sent must be a
valid message in a gap-free ``event_seq`` space, no error may carry a stack trace or be an
``INTERNAL_ERROR`` (bad input is the client's fault, not the runtime's), and every
job the session can list must have been announced to it with ``job.accepted`` (no phantom
jobs).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcp.ids import new_ulid
from arcp_gen.errors import ErrorCode
from tests.runtime.conftest import Gates, build_runtime
from tests.runtime.wire import Frame, Peer, connect

_SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats() | st.text(max_size=12)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_CODES = {code.value for code in ErrorCode}
_AGENTS = st.sampled_from(["echo", "denied", "crash", "versioned@1.0.0", "versioned@9", "nope", ""])
_JOB_IDS = st.sampled_from(["job_unknown", "", "x" * 300]) | st.text(max_size=10)

_REQUESTS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "job.submit": st.fixed_dictionaries(
        {"agent": _AGENTS},
        optional={
            "input": _JSON,
            "idempotency_key": st.sampled_from(["k1", "k2", ""]),
            "max_runtime_sec": st.sampled_from([0, 1, -1, 10**9, 0.5, "1"]),
            "lease_request": _JSON | st.just({"net.fetch": ["https://x/**"]}),
            "lease_constraints": _JSON | st.just({"expires_at": "2000-01-01T00:00:00Z"}),
        },
    ),
    "job.cancel": st.fixed_dictionaries({"job_id": _JOB_IDS}, optional={"reason": _JSON}),
    "job.subscribe": st.fixed_dictionaries(
        {"job_id": _JOB_IDS}, optional={"from_event_seq": _JSON, "history": _JSON}
    ),
    "job.unsubscribe": st.fixed_dictionaries({"job_id": _JOB_IDS}),
    "session.list_jobs": st.fixed_dictionaries(
        {}, optional={"limit": _JSON, "cursor": _JSON, "filter": _JSON}
    ),
    "session.ack": st.fixed_dictionaries({"last_processed_seq": _JSON}),
    "session.ping": st.fixed_dictionaries({"nonce": _JSON}, optional={"sent_at": _JSON}),
    "session.pong": st.fixed_dictionaries({"ping_nonce": _JSON}, optional={"received_at": _JSON}),
    "session.hello": st.fixed_dictionaries({}, optional={"client": _JSON, "auth": _JSON}),
    "session.resume": st.fixed_dictionaries(
        {}, optional={"session_id": _JSON, "resume_token": _JSON, "last_event_seq": _JSON}
    ),
    "job.event": st.fixed_dictionaries({"kind": st.just("log")}, optional={"body": _JSON}),
    "x-vendor.thing": _JSON.map(lambda v: {"v": v}),
}


@st.composite
def _frames(draw: st.DrawFn) -> bytes:
    """One frame: a request of a random type, maybe with a mangled envelope or payload, or
    not an ARCP envelope at all."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(st.binary(max_size=40) | st.sampled_from([b"{", b"[]", b"null", b'""']))
    type_ = draw(st.sampled_from(sorted(_REQUESTS)))
    payload: Any = draw(_REQUESTS[type_])
    if choice == 1:
        payload = draw(_JSON)  # a payload of the wrong shape
    envelope: dict[str, Any] = {"arcp": "1.1", "id": new_ulid(), "type": type_, "payload": payload}
    if choice == 2:
        field = draw(st.sampled_from(["arcp", "id", "type", "session_id", "job_id", "trace_id"]))
        envelope[field] = draw(_JSON)  # a mangled envelope field
    if choice == 3 and "job_id" in payload:
        envelope["job_id"] = payload["job_id"]
    try:
        return orjson.dumps(envelope)
    except (TypeError, orjson.JSONEncodeError):  # NaN, huge ints: send them as text anyway
        return repr(envelope).encode()


async def _drain_until(peer: Peer, request_id: str) -> list[Frame]:
    """Every frame up to the answer to ``request_id``."""
    frames: list[Frame] = []
    while True:
        frame = await peer.recv()
        frames.append(frame)
        if frame["payload"].get("request_id") == request_id:
            return frames


async def _scenario(frames: list[bytes]) -> None:
    runtime = build_runtime(Gates())
    try:
        peer = connect(runtime)
        await peer.hello()
        for data in frames:
            await peer.send_raw(data)
        # A well-formed submit after all of them: everything sent before it has been
        # handled by then, and it must still work.
        probe = await peer.send("job.submit", {"agent": "echo", "input": "still here"})
        seen = await _drain_until(peer, probe)
        assert seen[-1]["type"] == "job.accepted", seen[-1]
        job_id = seen[-1]["payload"]["job_id"]
        seen += await peer.until_terminal(job_id)
        assert seen[-1]["type"] == "job.result" and seen[-1]["payload"]["result"] == "still here"
        listed = await peer.request("session.list_jobs", {"limit": 1000})
        seen.append(listed)
        assert not peer.task.done(), "the connection ended"

        accepted = {f["payload"]["job_id"] for f in seen if f["type"] == "job.accepted"}
        assert listed["type"] == "session.jobs", listed
        assert {j["job_id"] for j in listed["payload"]["jobs"]} <= accepted
        for frame in seen:
            text = orjson.dumps(frame)
            assert b"Traceback" not in text and b'File "' not in text, frame
            if frame["type"] == "session.error":
                # bad input is the client's fault: never an unhandled error in the runtime
                assert frame["payload"]["code"] in _CODES - {"INTERNAL_ERROR"}, frame
            elif frame["type"] == "job.error":
                assert frame["payload"]["code"] in _CODES, frame
    finally:
        await runtime.aclose()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(_frames(), min_size=1, max_size=12))
def test_any_frames_leave_the_session_working_and_mint_no_phantom_jobs(frames: list[bytes]) -> None:
    asyncio.run(_scenario(frames))
