"""OpenTelemetry spans for ARCP jobs, on both sides of the wire, in one trace (§11).

Requires ``opentelemetry-api`` (``pip install 'arcp-sdk[otel]'``); exporting spans is the
application's job (configure a ``TracerProvider`` with the SDK). Importing :mod:`arcp` never
imports OpenTelemetry; only this module does.

* :func:`instrument_runtime`: every job a runtime runs (submitted or delegated, agents
  registered before or after the call) runs inside a span ``arcp.job <name@version>`` whose
  trace id is the job's ``trace_id``. Its parent is the current span when that is already in
  the job's trace (a delegating job's span, §10), else a remote parent carrying the job's
  ``ctx.traceparent`` span id, the id the runtime forwards to tools and sub-agents (§11);
  a current span from another trace (the connection's) is kept as a span link.
* :func:`traced_job` / :func:`traced_submit`: a span ``arcp.submit <agent>`` around a
  submission whose trace id is sent as the job's ``trace_id``, so the runtime's span joins
  the client's trace.

Attributes: ``arcp.job_id``, ``arcp.agent``, ``arcp.parent_job_id`` (delegated jobs),
``arcp.lease.expires_at`` and ``arcp.budget.remaining`` (when present, §9.5, §9.6; the
budget as ``["USD=4.5", ...]`` plus one ``arcp.budget.remaining.<currency>`` number each),
``arcp.job.status`` and ``arcp.error.code`` when the job did not succeed (span status ERROR).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

try:
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.trace import (
        Link,
        NonRecordingSpan,
        Span,
        SpanContext,
        SpanKind,
        Status,
        StatusCode,
        TraceFlags,
        Tracer,
        TracerProvider,
    )
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "arcp.otel needs the OpenTelemetry API: pip install 'arcp-sdk[otel]'"
    ) from exc

from arcp._version import __version__
from arcp_gen.errors import ARCPError

if TYPE_CHECKING:
    from arcp.client import Client, JobHandle
    from arcp.protocol.job_table import JobRecord
    from arcp.runtime import JobContext, Runtime

__all__ = [
    "INSTRUMENTATION_NAME",
    "current_traceparent",
    "instrument_runtime",
    "traced_job",
    "traced_submit",
    "uninstrument_runtime",
]

INSTRUMENTATION_NAME: Final = "arcp"
"""The instrumentation scope name of every span this module starts."""

Agent = Callable[[Any, "JobContext"], Awaitable[Any]]
_Start = Callable[..., None]
_ORIGINAL_START: Final = "_arcp_otel_original_start"


def _tracer(tracer_provider: TracerProvider | None) -> Tracer:
    return trace.get_tracer(INSTRUMENTATION_NAME, __version__, tracer_provider=tracer_provider)


def _trace_id_int(value: str) -> int | None:
    """The trace id of a 32-hex trace-id or a ``traceparent`` (§11), or None if neither."""
    value = value.strip().lower()
    if len(value) == 55 and value[2] == "-":
        value = value[3:35]
    try:
        number = int(value, 16) if len(value) == 32 else 0
    except ValueError:
        return None
    return number or None


def _span_id_int(value: str | None) -> int:
    try:
        number = int(value, 16) if value and len(value) == 16 else 0
    except ValueError:
        number = 0
    return number or secrets.randbits(64) or 1


def _remote_parent(trace_id: int, span_id: int) -> Context:
    parent = SpanContext(
        trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, to forward to a tool server (§11)."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    flags = int(span_context.trace_flags)
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{flags:02x}"


# -- shared attribute helpers -----------------------------------------------------------------


def _budget_attributes(budget: Mapping[str, float] | None) -> dict[str, Any]:
    if not budget:
        return {}
    attributes: dict[str, Any] = {
        "arcp.budget.remaining": [f"{cur}={value}" for cur, value in sorted(budget.items())]
    }
    for currency, value in budget.items():
        attributes[f"arcp.budget.remaining.{currency}"] = float(value)
    return attributes


def _authority_attributes(
    constraints: Mapping[str, Any] | None, budget: Mapping[str, float] | None
) -> dict[str, Any]:
    attributes = _budget_attributes(budget)
    expires_at = (constraints or {}).get("expires_at")
    if isinstance(expires_at, str):
        attributes["arcp.lease.expires_at"] = expires_at
    return attributes


def _fail(span: Span, status: str, code: str, message: str) -> None:
    span.set_attribute("arcp.job.status", status)
    span.set_attribute("arcp.error.code", code)
    span.set_status(Status(StatusCode.ERROR, f"{code}: {message}"))


# -- runtime side ---------------------------------------------------------------------------------


def _job_parent(ctx: JobContext) -> tuple[Context | None, list[Link]]:
    """The current context when already in the job's trace, else a remote parent (§11);
    plus a link to the current span when that is in another trace (e.g. the connection's
    span from ASGI instrumentation)."""
    trace_id = _trace_id_int(ctx.trace_id)
    if trace_id is None:
        return None, []
    current = trace.get_current_span().get_span_context()
    if current.is_valid and current.trace_id == trace_id:
        return None, []  # e.g. a delegated child started inside its parent's span (§10)
    links = [Link(current)] if current.is_valid else []
    # Forward-compatible: a JobContext exposing the submitter's span id (kept from a full
    # ``traceparent`` trace_id) as ``remote_parent_span_id`` makes that span the parent.
    parent_span: str | None = getattr(ctx, "remote_parent_span_id", None)
    if parent_span is None:
        parent_span = ctx.traceparent.split("-")[2]
    return _remote_parent(trace_id, _span_id_int(parent_span)), links


def _traced_agent(tracer: Tracer, job: JobRecord, handler: Agent) -> Agent:
    async def traced(input: Any, ctx: JobContext) -> Any:
        attributes: dict[str, Any] = {"arcp.job_id": ctx.job_id, "arcp.agent": ctx.agent}
        if ctx.parent_job_id is not None:
            attributes["arcp.parent_job_id"] = ctx.parent_job_id
        attributes.update(_authority_attributes(ctx.lease_constraints, ctx.budget))
        parent, links = _job_parent(ctx)
        with tracer.start_as_current_span(
            f"arcp.job {ctx.agent}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
            links=links,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                result = await handler(input, ctx)
            except asyncio.CancelledError:
                outcome = job.outcome[1] if job.outcome is not None else {}
                status = job.status if job.status != "running" else "cancelled"
                code = str(outcome.get("code", "CANCELLED"))
                _fail(span, status, code, str(outcome.get("message", "the job was stopped")))
                raise
            except ARCPError as err:
                span.record_exception(err)
                _fail(span, "error", err.code.value, err.message)
                raise
            except Exception as err:
                span.record_exception(err)
                _fail(span, "error", "INTERNAL_ERROR", "the agent failed unexpectedly")
                raise
            finally:
                span.set_attributes(_budget_attributes(ctx.budget))
            span.set_attribute("arcp.job.status", "success")
            return result

    return traced


def instrument_runtime(runtime: Runtime, tracer_provider: TracerProvider | None = None) -> None:
    """Run every job of ``runtime`` inside an ``arcp.job <agent>`` span (§11). Idempotent.

    Covers agents registered before and after the call, and delegated children (§10), by
    wrapping each agent as its job starts (the runtime's ``jobs.start``).
    """
    jobs = runtime.jobs
    if _ORIGINAL_START in vars(jobs):
        return
    tracer = _tracer(tracer_provider)
    original: _Start = jobs.start

    def start(job: JobRecord, handler: Agent, *args: Any, **kwargs: Any) -> None:
        original(job, _traced_agent(tracer, job, handler), *args, **kwargs)

    vars(jobs)[_ORIGINAL_START] = original
    vars(jobs)["start"] = start


def uninstrument_runtime(runtime: Runtime) -> None:
    """Undo :func:`instrument_runtime`; jobs already running keep their spans."""
    state = vars(runtime.jobs)
    if state.pop(_ORIGINAL_START, None) is not None:
        state.pop("start", None)


# -- client side ---------------------------------------------------------------------------------


async def _finish(span: Span, handle: JobHandle) -> None:
    if handle.budget is not None:
        span.set_attributes(_budget_attributes(handle.budget))
    if not handle.done:  # the block left before the job ended
        span.set_attribute("arcp.job.status", handle.status)
        return
    try:
        await handle.result()
    except ARCPError as err:
        _fail(span, handle.status, err.code.value, err.message)
    except Exception as err:  # e.g. the connection was lost before the end
        _fail(span, handle.status, type(err).__name__, str(err))
    else:
        span.set_attribute("arcp.job.status", "success")


@asynccontextmanager
async def traced_job(
    client: Client,
    agent: str,
    input: Any = None,
    *,
    tracer_provider: TracerProvider | None = None,
    **submit_options: Any,
) -> AsyncGenerator[JobHandle]:
    """Submit inside a span ``arcp.submit <agent>`` and yield the :class:`JobHandle`.

    The span's trace id is sent as the job's ``trace_id`` (§11): the current span's trace,
    or the ``trace_id`` passed in ``submit_options``. The span ends when the block exits;
    if the job ended by then, a failure sets its status to ERROR.
    """
    wanted: str | None = submit_options.pop("trace_id", None)
    parent: Context | None = None
    if wanted is not None:
        trace_id = _trace_id_int(wanted)
        if trace_id is None:
            raise ValueError("trace_id must be a W3C trace-id or traceparent")
        current = trace.get_current_span().get_span_context()
        if not (current.is_valid and current.trace_id == trace_id):
            parent = _remote_parent(trace_id, _span_id_int(None))
    with _tracer(tracer_provider).start_as_current_span(
        f"arcp.submit {agent}",
        context=parent,
        kind=SpanKind.CLIENT,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        span_context = span.get_span_context()
        trace_id_hex = f"{span_context.trace_id:032x}" if span_context.is_valid else wanted
        try:
            handle = await client.submit(agent, input, trace_id=trace_id_hex, **submit_options)
        except Exception as err:  # refused (ARCPError), or e.g. the connection was lost
            span.record_exception(err)
            code = err.code.value if isinstance(err, ARCPError) else type(err).__name__
            _fail(span, "refused", code, str(err))
            raise
        span.set_attribute("arcp.job_id", handle.job_id)
        span.set_attribute("arcp.agent", handle.agent or agent)
        constraints = handle.accepted.lease_constraints
        span.set_attributes(
            _authority_attributes(
                None if constraints is None else constraints.model_dump(mode="json"),
                handle.budget,
            )
        )
        try:
            yield handle
        except BaseException as err:
            if isinstance(err, Exception):
                span.record_exception(err)
            if isinstance(err, ARCPError):
                _fail(span, handle.status, err.code.value, err.message)
            else:
                _fail(span, handle.status, type(err).__name__, str(err))
            raise
        await _finish(span, handle)


async def traced_submit(
    client: Client,
    agent: str,
    input: Any = None,
    *,
    tracer_provider: TracerProvider | None = None,
    **submit_options: Any,
) -> Any:
    """Submit and await the result inside a span ``arcp.submit <agent>`` (§7.1, §11).

    Returns the job's result or raises its ``ARCPError`` (the span's status is then ERROR).
    """
    async with traced_job(
        client, agent, input, tracer_provider=tracer_provider, **submit_options
    ) as handle:
        return await handle.result()
