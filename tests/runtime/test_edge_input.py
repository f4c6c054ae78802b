"""Edge-case input answered per the spec, never INTERNAL_ERROR (#13.4, #12.1, #12.8).

Every test drives raw frames into a real runtime over the memory transport; every frame the
runtime sends back must decode under the schema (``Peer.recv`` checks it).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from arcp.demo import register_demo_agents
from arcp.runtime import Runtime
from tests.runtime.wire import Peer, connect


async def _still_works(peer: Peer) -> None:
    accepted = await peer.submit("echo", "ok")
    result = (await peer.until_terminal(accepted["job_id"]))[-1]
    assert result["payload"]["result"] == "ok"


def _raw_submit(peer: Peer, rid: str, payload: bytes) -> bytes:
    assert peer.session_id is not None
    head = b'{"arcp":"1.1","id":"%s","session_id":"%s"' % (rid.encode(), peer.session_id.encode())
    return head + b',"type":"job.submit","payload":' + payload + b"}"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        # An integer above 2**64 used to reach the idempotency fingerprint: INTERNAL_ERROR.
        (b'{"agent":"echo","input":18446744073709551616}', "payload.input"),
        (b'{"agent":"echo","input":{"n":[1,-99999999999999999999999]}}', "payload.input.n[1]"),
        # 1e400 overflows a double (parsed as infinity) and used to become null silently.
        (b'{"agent":"echo","input":{"x":1e400}}', "payload.input.x"),
        (b'{"agent":"echo","input":[-1e400]}', "payload.input[0]"),
        (b'{"agent":"echo","input":Infinity}', "payload.input"),
        (b'{"agent":"echo","max_runtime_sec":1e400}', "payload.max_runtime_sec"),
        (b'{"agent":"echo","max_runtime_sec":100000000000000000000000}', "payload.max_runtime_sec"),
        (
            b'{"agent":"echo","lease_constraints":{"x":NaN}}',
            "payload.lease_constraints.x",
        ),
    ],
)
async def test_numbers_json_cannot_carry_are_invalid_requests(
    rt: Runtime, payload: bytes, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    """RFC 8259 §6 has no NaN/Infinity and we write no integer beyond 64 bits: such a submit is
    INVALID_REQUEST naming the field, correlated, with no job and no ERROR log (§7.1)."""
    peer = connect(rt)
    await peer.hello()
    with caplog.at_level(logging.DEBUG, logger="arcp"):
        await peer.send_raw(_raw_submit(peer, "r-edge", payload))
        error = await peer.expect("session.error")
    assert error["payload"]["code"] == "INVALID_REQUEST"
    assert error["payload"]["request_id"] == "r-edge"
    assert error["payload"]["details"]["field"] == field
    assert error["payload"]["retryable"] is False
    assert len(rt.core.jobs) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    await _still_works(peer)
    assert peer.last_seq == 1


async def test_nan_is_not_json_and_keeps_the_request_id(rt: Runtime) -> None:
    """A bare NaN is not JSON (RFC 8259): INVALID_REQUEST, still correlated to the request."""
    peer = connect(rt)
    await peer.hello()
    await peer.send_raw(_raw_submit(peer, "r-nan", b'{"agent":"echo","input":NaN}'))
    error = await peer.expect("session.error")
    assert error["payload"]["code"] == "INVALID_REQUEST"
    assert error["payload"]["request_id"] == "r-nan"
    assert "NaN" in error["payload"]["message"]
    assert len(rt.core.jobs) == 0
    await _still_works(peer)


async def test_numbers_at_the_64_bit_edges_are_kept_exactly(rt: Runtime) -> None:
    """The integers the codec writes exactly come back unchanged; tiny doubles are fine."""
    peer = connect(rt)
    await peer.hello()
    value: list[Any] = [2**64 - 1, -(2**63), 1e308, -0.0, 5e-324]
    accepted = await peer.submit("echo", value)
    result = (await peer.until_terminal(accepted["job_id"]))[-1]
    assert result["payload"]["result"] == value


@pytest.mark.parametrize("amount", ["9" * 400, "1" * 31, "1." + "0" * 31])
async def test_budget_amount_too_long_is_refused(rt: Runtime, amount: str) -> None:
    """§9.6: an amount a JSON number cannot carry is refused up front; it used to be echoed as
    ``budget: {"USD": null}``, which broke the schema of ``job.accepted``."""
    peer = connect(rt)
    await peer.hello()
    error = await peer.request(
        "job.submit", {"agent": "echo", "lease_request": {"cost.budget": [f"USD:{amount}"]}}
    )
    assert error["type"] == "session.error"
    assert error["payload"]["code"] == "INVALID_REQUEST"
    assert "digits" in error["payload"]["message"]
    assert len(rt.core.jobs) == 0
    await _still_works(peer)


async def test_largest_budget_amount_is_accepted_and_on_the_wire(rt: Runtime) -> None:
    """§9.6: 30 digits either side of the point is accepted; the echo is a finite number."""
    peer = connect(rt)
    await peer.hello()
    amount = "9" * 30 + "." + "9" * 30
    accepted = await peer.submit("echo", None, lease_request={"cost.budget": [f"USD:{amount}"]})
    assert accepted["type"] == "job.accepted"
    assert accepted["payload"]["budget"]["USD"] == float(amount)


@pytest.mark.parametrize(
    ("lease", "field"),
    [
        ({"tool.call": "search.*"}, "payload.lease_request.tool.call"),
        ({"cost.budget": "USD:5"}, "payload.lease_request.cost.budget"),
        ({"fs.read": {"/": True}}, "payload.lease_request.fs.read"),
    ],
)
async def test_non_array_pattern_list_is_refused_never_coerced(
    rt: Runtime, lease: dict[str, Any], field: str
) -> None:
    """§9.2: a namespace maps to an array; a string is INVALID_REQUEST naming the field, never
    split into one-character patterns (a lone ``*`` would grant every tool)."""
    peer = connect(rt)
    await peer.hello()
    error = await peer.request("job.submit", {"agent": "echo", "lease_request": lease})
    assert error["type"] == "session.error"
    assert error["payload"]["code"] == "INVALID_REQUEST"
    assert error["payload"]["details"]["field"] == field
    assert "must be an array" in error["payload"]["message"]
    assert len(rt.core.jobs) == 0


@pytest.mark.parametrize(
    "auth",
    [{"scheme": "bearer"}, {"token": "t"}, {"scheme": "basic", "token": "t"}, {}],
)
async def test_hello_with_malformed_auth_is_unauthenticated_then_closed(
    rt: Runtime, auth: dict[str, Any]
) -> None:
    """wire-decisions: a missing or bad token is UNAUTHENTICATED, then the transport closes
    (§6.1); it used to be INVALID_REQUEST on an open connection."""
    peer = connect(rt)
    rid = await peer.send("session.hello", {"client": {"name": "t"}, "auth": auth})
    error = await peer.expect("session.error")
    assert error["payload"]["code"] == "UNAUTHENTICATED"
    assert error["payload"]["request_id"] == rid
    assert "token" not in str(error["payload"].get("details", ""))
    await peer.task  # the runtime closed the connection
    assert not rt.core.sessions


async def test_chunked_demo_agent_counts_utf8_bytes() -> None:
    """#12.8: ``input.bytes`` and ``result_size`` are UTF-8 bytes (§8.4), though the demo
    text has a two-byte character; every chunk stays within ``chunk_size`` bytes."""
    rt = Runtime(tokens={"t": "alice"})
    register_demo_agents(rt)
    try:
        peer = connect(rt)
        await peer.hello()
        accepted = await peer.submit("chunked", {"bytes": 5000, "chunk_size": 700})
        frames = await peer.until_terminal(accepted["job_id"])
        chunks = [
            f["payload"]["body"]
            for f in frames
            if f["type"] == "job.event" and f["payload"]["kind"] == "result_chunk"
        ]
        data = "".join(c["data"] for c in chunks).encode()
        assert len(data) == 5000
        assert all(len(c["data"].encode()) <= 700 for c in chunks)
        assert frames[-1]["payload"]["result_size"] == 5000
        inline = connect(rt)
        await inline.hello(features=["progress"])
        accepted = await inline.submit("chunked", {"bytes": 333, "chunk_size": 10})
        result = (await inline.until_terminal(accepted["job_id"]))[-1]
        assert len(result["payload"]["result"].encode()) == 333
    finally:
        await rt.aclose()


async def test_non_finite_agent_numbers_never_reach_the_wire() -> None:
    """§8.2: a NaN or infinite metric is logged and dropped, a non-finite progress value is a
    ValueError for the agent; every frame the runtime sends still decodes under the schema
    (a NaN used to go out as ``"value": null``)."""
    rt = Runtime(tokens={"t": "alice"})
    refused: list[str] = []

    @rt.agent("reporter")
    async def reporter(input: Any, ctx: Any) -> Any:
        await ctx.metric("latency", float("nan"), "ms")
        await ctx.metric("latency", float("inf"), "ms")
        await ctx.metric("latency", 1.5, "ms")
        for current, total in ((float("inf"), None), (1, float("nan")), (float("nan"), 2)):
            try:
                await ctx.progress(current, total)
            except ValueError as exc:
                refused.append(str(exc))
        await ctx.progress(1, 2)
        return "done"

    try:
        peer = connect(rt)
        await peer.hello()
        accepted = await peer.submit("reporter")
        frames = await peer.until_terminal(accepted["job_id"])  # each one schema-checked
    finally:
        await rt.aclose()
    bodies = [(f["payload"]["kind"], f["payload"]["body"]) for f in frames[:-1]]
    assert bodies == [
        ("metric", {"name": "latency", "value": 1.5, "unit": "ms"}),
        ("progress", {"current": 1, "total": 2}),
    ]
    assert len(refused) == 3
    assert frames[-1]["payload"]["result"] == "done"


async def test_agent_values_that_would_break_the_schema_are_refused() -> None:
    """§8.2, §7.1: a non-string log message, thought, status or tool name is a TypeError for
    the agent, and a result holding NaN ends the job INTERNAL_ERROR like any non-JSON result;
    both used to reach the client as frames it could not decode or as a silent ``null``."""
    rt = Runtime(tokens={"t": "alice"})
    refused: list[str] = []

    @rt.agent("sloppy")
    async def sloppy(input: Any, ctx: Any) -> Any:
        calls = (
            lambda: ctx.log(123),
            lambda: ctx.thought(["x"]),
            lambda: ctx.status(7),
            lambda: ctx.tool_call(["search.web"]),
        )
        for call in calls:
            try:
                await call()
            except TypeError as exc:
                refused.append(str(exc))
        return {"score": float("nan")} if input == "nan" else "ok"

    try:
        peer = connect(rt)
        await peer.hello()
        accepted = await peer.submit("sloppy", "ok")
        frames = await peer.until_terminal(accepted["job_id"])  # each one schema-checked
        assert [f["type"] for f in frames] == ["job.result"]
        assert len(refused) == 4
        accepted = await peer.submit("sloppy", "nan")
        error = (await peer.until_terminal(accepted["job_id"]))[-1]
    finally:
        await rt.aclose()
    assert error["type"] == "job.error"
    assert error["payload"]["code"] == "INTERNAL_ERROR"
    assert error["payload"]["message"] == "the agent's result is not JSON"
