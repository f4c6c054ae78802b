"""OpenTelemetry tracing across client and runtime (§11): one trace per request.

Run it: ``uv run python examples/otel_tracing.py`` (needs ``opentelemetry-sdk`` to export;
``arcp-sdk[otel]`` itself only needs the API). Both sides share one ``TracerProvider`` here so the
spans print together; in production each process exports to your collector.
"""

from __future__ import annotations

import asyncio
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from arcp import ARCPError, Client, JobContext, Runtime
from arcp.demo import register_demo_agents
from arcp.otel import current_traceparent, instrument_runtime, traced_job, traced_submit
from arcp_gen.errors import PermissionDeniedError


def one_line(span: ReadableSpan) -> str:
    """One console line per finished span: name, ids (shortened), status, ARCP attributes."""
    ctx, parent = span.context, span.parent
    assert ctx is not None
    up = f"{parent.span_id:016x}" if parent is not None else "-" * 16
    keys = ("arcp.job.status", "arcp.error.code", "arcp.budget.remaining")
    attrs = {k: v for k, v in (span.attributes or {}).items() if k in keys}
    ids = f"trace={ctx.trace_id:032x} span={ctx.span_id:016x} parent={up}"
    return f"{span.name:<26} {ids} {span.status.status_code.name:<5} {attrs}\n"


async def lookup(input: Any, ctx: JobContext) -> Any:
    """An agent calling a tool: it forwards the current trace context (§11)."""
    return {"headers": {"traceparent": current_traceparent()}, "query": input}


async def refuses(input: Any, ctx: JobContext) -> Any:
    raise PermissionDeniedError("this agent always refuses")


async def main() -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(formatter=one_line)))
    trace.set_tracer_provider(provider)  # the application configures exporting

    runtime = Runtime()
    register_demo_agents(runtime)
    instrument_runtime(runtime)  # every job runs in an "arcp.job <agent>" span
    runtime.register("lookup", lookup)  # registered later: traced too
    runtime.register("refuses", refuses)
    server = await runtime.serve_websocket()

    tracer = trace.get_tracer("example-app")
    async with Client.connect(server.url) as client:
        with tracer.start_as_current_span("handle GET /report"):
            print("echo ->", await traced_submit(client, "echo", {"hi": 1}))
            print("lookup ->", await traced_submit(client, "lookup", "arcp"))
            child = await traced_submit(
                client, "delegator", {"agent": "echo", "input": 2}, lease={"agent.delegate": ["*"]}
            )
            print("delegator ->", child["result"])
            spent = await traced_submit(
                client,
                "costly",
                {"steps": 2, "usd": 0.25},
                lease={"tool.call": ["search.*"], "cost.budget": ["USD:1.00"]},
            )
            print("costly -> budget left", spent["budget"])
            async with traced_job(client, "chatty", {"n": 2}) as job:
                kinds = [event.payload.kind async for event in job]
                print("chatty events ->", kinds, "trace", job.trace_id)
            try:
                await traced_submit(client, "refuses")
            except ARCPError as err:
                print("refuses ->", err.code)
    await runtime.aclose()
    provider.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
