"""OpenTelemetry spans on both sides of a real WebSocket connection, in one trace (§11)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from arcp import Client, JobContext, Runtime
from arcp.demo import register_demo_agents
from arcp.otel import (
    current_traceparent,
    instrument_runtime,
    traced_job,
    traced_submit,
    uninstrument_runtime,
)
from arcp.transport import Transport, memory_pair
from arcp_gen.errors import InvalidRequestError, JobCancelledError

COSTLY_LEASE = {"tool.call": ["search.*"], "cost.budget": ["USD:1.00"]}


class Tracing:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def spans(self, prefix: str = "arcp.") -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.name.startswith(prefix)]

    def one(self, name: str) -> ReadableSpan:
        found = [s for s in self.exporter.get_finished_spans() if s.name == name]
        assert len(found) == 1, [s.name for s in self.exporter.get_finished_spans()]
        return found[0]


@pytest.fixture
def tracing() -> Tracing:
    return Tracing()


@pytest.fixture
async def runtime(tracing: Tracing) -> AsyncIterator[Runtime]:
    rt = Runtime()
    register_demo_agents(rt)
    instrument_runtime(rt, tracer_provider=tracing.provider)
    yield rt
    await rt.aclose()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[Client]:
    server = await runtime.serve_websocket()
    async with Client.connect(server.url) as c:
        yield c


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_client_and_runtime_spans_share_one_trace(tracing: Tracing, client: Client) -> None:
    tracer = tracing.provider.get_tracer("app")
    with tracer.start_as_current_span("request") as request:
        assert await traced_submit(client, "echo", {"x": 1}, tracer_provider=tracing.provider)
    submit, job = tracing.one("arcp.submit echo"), tracing.one("arcp.job echo@1.0.0")
    trace_id = request.get_span_context().trace_id
    assert submit.context is not None and job.context is not None
    assert submit.context.trace_id == job.context.trace_id == trace_id
    assert submit.parent is not None and submit.parent.span_id == request.get_span_context().span_id
    assert submit.kind is SpanKind.CLIENT and job.kind is SpanKind.SERVER
    assert job.parent is not None and job.parent.is_remote
    assert attrs(submit)["arcp.job_id"] == attrs(job)["arcp.job_id"]
    assert attrs(submit)["arcp.agent"] == attrs(job)["arcp.agent"] == "echo@1.0.0"
    assert attrs(job)["arcp.job.status"] == attrs(submit)["arcp.job.status"] == "success"
    assert submit.status.status_code is job.status.status_code is StatusCode.UNSET


async def test_a_root_submit_span_sends_its_trace_id(tracing: Tracing, client: Client) -> None:
    async with traced_job(client, "echo", 1, tracer_provider=tracing.provider) as handle:
        assert await handle.result() == 1
    submit, job = tracing.one("arcp.submit echo"), tracing.one("arcp.job echo@1.0.0")
    assert submit.parent is None
    assert submit.context is not None and job.context is not None
    assert handle.trace_id == f"{submit.context.trace_id:032x}"
    assert job.context.trace_id == submit.context.trace_id


async def test_explicit_trace_id_is_kept(tracing: Tracing, client: Client) -> None:
    wanted = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = f"00-{wanted}-00f067aa0ba902b7-01"
    assert await traced_submit(client, "echo", 2, tracer_provider=tracing.provider, trace_id=parent)
    spans = tracing.spans()
    assert len(spans) == 2
    assert {f"{s.context.trace_id:032x}" for s in spans if s.context is not None} == {wanted}


async def test_lease_expiry_and_budget_attributes(tracing: Tracing, client: Client) -> None:
    expires = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    result = await traced_submit(
        client,
        "costly",
        {"steps": 2, "usd": 0.25},
        tracer_provider=tracing.provider,
        lease=COSTLY_LEASE,
        lease_constraints={"expires_at": expires},
    )
    assert result["steps"] == 2
    submit, job = tracing.one("arcp.submit costly"), tracing.one("arcp.job costly@1.0.0")
    for span in (submit, job):
        assert attrs(span)["arcp.lease.expires_at"] == expires
        assert attrs(span)["arcp.budget.remaining"] == ("USD=0.5",)
        assert attrs(span)["arcp.budget.remaining.USD"] == 0.5


async def test_failing_jobs_mark_both_spans_as_errors(
    tracing: Tracing, runtime: Runtime, client: Client
) -> None:
    async def refuses(input: Any, ctx: JobContext) -> Any:
        raise InvalidRequestError("no thanks")

    async def crashes(input: Any, ctx: JobContext) -> Any:
        raise RuntimeError("boom")

    # Registered after instrument_runtime: still traced.
    runtime.register("refuses", refuses)
    runtime.register("crashes", crashes)
    with pytest.raises(InvalidRequestError):
        await traced_submit(client, "refuses", None, tracer_provider=tracing.provider)
    for name in ("arcp.submit refuses", "arcp.job refuses@1.0.0"):
        span = tracing.one(name)
        assert span.status.status_code is StatusCode.ERROR
        assert attrs(span)["arcp.error.code"] == "INVALID_REQUEST"
        assert attrs(span)["arcp.job.status"] == "error"

    with pytest.raises(Exception, match="unexpectedly"):
        await traced_submit(client, "crashes", None, tracer_provider=tracing.provider)
    job = tracing.one("arcp.job crashes@1.0.0")
    assert job.status.status_code is StatusCode.ERROR
    assert attrs(job)["arcp.error.code"] == "INTERNAL_ERROR"
    assert [e.name for e in job.events] == ["exception"]


async def test_cancelled_job(tracing: Tracing, client: Client) -> None:
    with pytest.raises(JobCancelledError):
        async with traced_job(client, "slow", {"sec": 60}, tracer_provider=tracing.provider) as h:
            await h.cancel("enough")
            await h.result()
    await client.submit("echo", None)  # let the runtime's job task unwind first
    for name in ("arcp.submit slow", "arcp.job slow@1.0.0"):
        span = tracing.one(name)
        assert span.status.status_code is StatusCode.ERROR
        assert attrs(span)["arcp.error.code"] == "CANCELLED"
        assert attrs(span)["arcp.job.status"] == "cancelled"


async def test_delegated_child_span_nests_under_its_parent_job(
    tracing: Tracing, client: Client
) -> None:
    result = await traced_submit(
        client,
        "delegator",
        {"agent": "echo", "input": 7},
        tracer_provider=tracing.provider,
        lease={"agent.delegate": ["echo"]},
    )
    assert result["result"] == 7
    parent, child = tracing.one("arcp.job delegator@1.0.0"), tracing.one("arcp.job echo@1.0.0")
    assert parent.context is not None and child.parent is not None
    assert child.parent.span_id == parent.context.span_id
    assert attrs(child)["arcp.parent_job_id"] == attrs(parent)["arcp.job_id"]


async def test_current_traceparent_inside_a_job(
    tracing: Tracing, runtime: Runtime, client: Client
) -> None:
    async def report(input: Any, ctx: JobContext) -> Any:
        return current_traceparent()

    runtime.register("report", report)
    traceparent = await traced_submit(client, "report", None, tracer_provider=tracing.provider)
    job = tracing.one("arcp.job report@1.0.0")
    assert job.context is not None
    assert traceparent == f"00-{job.context.trace_id:032x}-{job.context.span_id:016x}-01"
    assert current_traceparent() is None


async def test_instrumenting_twice_and_uninstrumenting(
    tracing: Tracing, runtime: Runtime, client: Client
) -> None:
    instrument_runtime(runtime, tracer_provider=tracing.provider)
    await (await client.submit("echo", 1)).result()
    assert [s.name for s in tracing.spans()] == ["arcp.job echo@1.0.0"]
    uninstrument_runtime(runtime)
    await (await client.submit("echo", 2)).result()
    assert len(tracing.spans()) == 1


def test_importing_arcp_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, arcp, arcp.transport.asgi, arcp.client, arcp.runtime\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_a_connection_span_from_another_trace_becomes_a_link(
    tracing: Tracing, runtime: Runtime
) -> None:
    tracer = tracing.provider.get_tracer("server")

    async def serve(transport: Transport) -> None:
        with tracer.start_as_current_span("websocket connection"):
            await runtime.serve(transport)

    ours, theirs = memory_pair()
    serving = asyncio.create_task(serve(theirs))
    async with Client.connect(ours) as client:
        assert await traced_submit(client, "echo", 3, tracer_provider=tracing.provider) == 3
    await serving
    connection = tracing.one("websocket connection")
    job, submit = tracing.one("arcp.job echo@1.0.0"), tracing.one("arcp.submit echo")
    assert job.context is not None and submit.context is not None
    assert connection.context is not None
    assert job.context.trace_id == submit.context.trace_id != connection.context.trace_id
    assert [link.context.span_id for link in job.links] == [connection.context.span_id]


def test_arcp_otel_without_the_api_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None\n"
        "try:\n"
        "    import arcp.otel\n"
        "except ImportError as exc:\n"
        '    assert "arcp-sdk[otel]" in str(exc), exc\n'
        "else:\n"
        "    raise SystemExit('imported')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
