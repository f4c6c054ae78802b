"""Event kinds, feature-gated events, streamed results, ack and back-pressure (§6.5, §8)."""

from __future__ import annotations

import base64
from typing import Any

from arcp.runtime import JobContext, Runtime
from arcp_gen.errors import InvalidRequestError
from tests.runtime.conftest import Gates, build_runtime
from tests.runtime.wire import connect


async def test_every_event_kind_is_well_formed() -> None:
    """§8.2: each emitter produces its kind with the spelled body; vendor kinds pass through."""
    rt = Runtime()

    @rt.agent("kinds")
    async def kinds(input: Any, ctx: JobContext) -> Any:
        await ctx.log("hello", level="warning")
        await ctx.thought("hmm")
        await ctx.status("planning", "step 1")
        await ctx.metric("tokens", 12, unit="count", dimensions={"model": "m"})
        call = await ctx.tool_call("search", {"q": "x"})
        await ctx.tool_result(call, result=[1])
        await ctx.tool_result(call, error=InvalidRequestError("bad args"))
        await ctx.artifact("file:///tmp/a", "text/plain", byte_size=3, sha256="ab" * 32)
        await ctx.emit("x-vendor.acme.thing", {"k": 1})
        return {"job": ctx.job_id, "agent": ctx.agent, "trace": ctx.trace_id}

    peer = connect(rt)
    await peer.hello()
    accepted = await peer.submit("kinds", lease_request={"tool.call": ["search"]})
    frames = await peer.until_terminal(accepted["job_id"])
    events = [f["payload"] for f in frames[:-1]]
    assert [e["kind"] for e in events] == [
        "log",
        "thought",
        "status",
        "metric",
        "tool_call",
        "tool_result",
        "tool_result",
        "artifact_ref",
        "x-vendor.acme.thing",
    ]
    assert events[0]["body"] == {"level": "warn", "message": "hello"}
    assert events[4]["body"]["call_id"] == events[5]["body"]["call_id"]
    assert events[6]["body"]["error"]["code"] == "INVALID_REQUEST"
    assert frames[-1]["payload"]["result"] == {
        "job": accepted["job_id"],
        "agent": "kinds@1.0.0",
        "trace": accepted["trace_id"],
    }
    await rt.aclose()


async def test_progress_only_reaches_sessions_that_negotiated_it(rt: Runtime) -> None:
    """§8.2.1: progress events are sent only where `progress` is in the effective set, and
    skipping them leaves no gap in event_seq."""
    with_progress, without = connect(rt), connect(rt)
    await with_progress.hello()
    await without.hello(features=["subscribe"])
    job_a = (await with_progress.submit("progress"))["job_id"]
    kinds = [f["payload"].get("kind") for f in await with_progress.until_terminal(job_a)]
    assert kinds == ["progress", "progress", "progress", "log", None]
    job_b = (await without.submit("progress"))["job_id"]
    frames = await without.until_terminal(job_b)
    assert [f["payload"].get("kind") for f in frames] == ["log", None]
    assert [f["event_seq"] for f in frames] == [1, 2]


async def test_streamed_result_arrives_in_ordered_chunks(gates: Gates) -> None:
    """§8.4: chunks ≤ the size limit, chunk_seq from 0, more=false on the last, then a
    job.result with result_id and result_size and no inline result."""
    rt = build_runtime(gates, max_result_chunk_bytes=4)
    peer = connect(rt)
    await peer.hello()
    job_id = (await peer.submit("stream", {"pieces": ["héllo ", "wörld"]}))["job_id"]
    frames = await peer.until_terminal(job_id)
    chunks = [f["payload"]["body"] for f in frames[:-1]]
    assert [c["chunk_seq"] for c in chunks] == list(range(len(chunks)))
    assert [c["more"] for c in chunks] == [True] * (len(chunks) - 1) + [False]
    assert all(len(c["data"].encode()) <= 4 for c in chunks)
    assert "".join(c["data"] for c in chunks) == "héllo wörld"
    result = frames[-1]["payload"]
    assert "result" not in result
    assert result["result_id"] == chunks[0]["result_id"]
    assert result["result_size"] == len("héllo wörld".encode())
    await rt.aclose()


async def test_base64_chunks_decode_to_the_bytes_written(gates: Gates) -> None:
    """§8.4: binary results use base64 chunks whose decoded concatenation is the result."""
    rt = build_runtime(gates, max_result_chunk_bytes=8)
    peer = connect(rt)
    await peer.hello()
    data = bytes(range(40))
    job_id = (
        await peer.submit("stream", {"encoding": "base64", "pieces": [data.decode("latin-1")]})
    )["job_id"]
    frames = await peer.until_terminal(job_id)
    chunks = [f["payload"]["body"] for f in frames[:-1]]
    assert all(c["encoding"] == "base64" and len(c["data"]) <= 8 for c in chunks)
    joined = b"".join(base64.b64decode(c["data"]) for c in chunks)
    assert joined == data.decode("latin-1").encode()


async def test_without_result_chunk_the_result_is_inline(rt: Runtime) -> None:
    """§8.4: an agent checks can_stream_result; without the feature it returns inline."""
    peer = connect(rt)
    await peer.hello(features=[])
    job_id = (await peer.submit("stream", {"text": "inline", "pieces": []}))["job_id"]
    frames = await peer.until_terminal(job_id)
    assert [f["type"] for f in frames] == ["job.result"]
    assert frames[0]["payload"]["result"] == "inline"


async def test_streamed_result_over_the_cap_is_internal_error(gates: Gates) -> None:
    """§8.4, wire-decisions: a streamed result over max_result_bytes ends in INTERNAL_ERROR."""
    rt = build_runtime(gates, max_result_bytes=5)
    peer = connect(rt)
    await peer.hello()
    job_id = (await peer.submit("stream", {"pieces": ["abc", "defg"]}))["job_id"]
    end = (await peer.until_terminal(job_id))[-1]
    assert (end["type"], end["payload"]["code"]) == ("job.error", "INTERNAL_ERROR")
    await rt.aclose()


async def test_ack_frees_the_buffer_and_back_pressure_signals_lag(gates: Gates) -> None:
    """§6.5: past the threshold of unacknowledged events one back_pressure status is sent on
    the job whose event crossed it; acking re-arms it and frees buffered events."""
    rt = build_runtime(gates, back_pressure_threshold=5)
    peer = connect(rt)
    await peer.hello()
    job_id = (await peer.submit("chatty", {"n": 12}))["job_id"]
    frames = await peer.until_terminal(job_id)
    pressure = [f for f in frames if f["payload"].get("body", {}).get("phase") == "back_pressure"]
    assert len(pressure) == 1
    assert pressure[0]["event_seq"] == 6 and pressure[0]["job_id"] == job_id
    session = rt.core.sessions[peer.session_id or ""]
    assert len(session.buffer) == peer.last_seq
    await peer.send("session.ack", {"last_processed_seq": peer.last_seq})
    await peer.send("session.ping", {"nonce": "sync"})
    await peer.expect("session.pong")
    assert len(session.buffer) == 0
    job_id = (await peer.submit("chatty", {"n": 6}))["job_id"]
    frames = await peer.until_terminal(job_id)
    assert any(f["payload"].get("body", {}).get("phase") == "back_pressure" for f in frames)
    await rt.aclose()


async def test_no_back_pressure_without_ack(gates: Gates) -> None:
    """§6.5: lag is measured against acks, so without `ack` no back_pressure is sent."""
    rt = build_runtime(gates, back_pressure_threshold=2)
    peer = connect(rt)
    await peer.hello(features=["subscribe"])
    job_id = (await peer.submit("chatty", {"n": 6}))["job_id"]
    frames = await peer.until_terminal(job_id)
    assert len(frames) == 7
    await rt.aclose()


async def test_aclose_ends_jobs_and_flushes_before_closing(gates: Gates) -> None:
    """Graceful shutdown: running jobs end with one terminal message that is delivered before
    the transport closes; new connections are refused."""
    rt = build_runtime(gates)
    peer = connect(rt)
    await peer.hello()
    job_id = (await peer.submit("forever"))["job_id"]
    await peer.expect("job.event")
    await rt.aclose()
    end = await peer.expect("job.error")
    assert (end["job_id"], end["payload"]["final_status"]) == (job_id, "cancelled")
    await peer.task
    late = connect(rt)
    await late.task
    assert late.transport.closed
