"""Authority end to end: leases, expiry, budgets, model.use and trace (§9.1-§9.7, §11),
through the real client and the real runtime.

``stack`` (memory, WebSocket, stdio with ``arcp serve --demo``) covers what every runtime with
the demo agents offers; ``auth`` (see ``authority_stack``) adds a model policy, the reference
credential provisioner and no expiry grace.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from arcp.client import Client
from arcp.client.lease import Lease, LeaseConstraints
from arcp.demo import register_demo_agents
from arcp.ids import utc_timestamp
from arcp.runtime import JobContext, Runtime
from arcp.transport import Transport, memory_pair
from arcp_gen.errors import (
    BudgetExhaustedError,
    InvalidRequestError,
    LeaseExpiredError,
    PermissionDeniedError,
)
from arcp_gen.features import Feature
from arcp_gen.models import MetricEvent, ToolResultEvent
from tests.e2e.authority_stack import Auth, auth_fixture  # noqa: F401  # pyright: ignore[reportUnusedImport]
from tests.e2e.conftest import Stack

COSTLY_LEASE = {"tool.call": ["search.*"], "cost.budget": ["USD:1.00"]}


# -- budgets (§9.6, §13.5) --------------------------------------------------------------------


async def test_over_budget_is_a_tool_result_error_then_budget_exhausted(stack: Stack) -> None:
    """§9.6: cost metrics decrement the counter, cost.budget.remaining follows each, and the
    next gated call after exhaustion fails as a tool_result, then job.error (retryable false)."""
    async with await stack.connect() as client:
        assert Feature.COST_BUDGET in client.features
        job = await client.submit("costly", {"steps": 10, "usd": 0.25}, lease=COSTLY_LEASE)
        assert job.accepted.budget == {"USD": 1.0}
        events = [e.payload async for e in job]
        with pytest.raises(BudgetExhaustedError) as caught:
            await job.result()
    assert caught.value.retryable is False
    assert job.status == "error"
    remaining = [
        p.body.value
        for p in events
        if isinstance(p, MetricEvent) and p.body.name == "cost.budget.remaining"
    ]
    assert remaining == [0.75, 0.5, 0.25, 0.0]
    assert job.budget == {"USD": 0.0}
    errors = [p.body.error for p in events if isinstance(p, ToolResultEvent) and p.body.error]
    assert [e.code for e in errors] == ["BUDGET_EXHAUSTED"]
    assert errors[0].retryable is False


async def test_budget_is_visible_to_subscribers_and_listings(shared_stack: Stack) -> None:
    """§7.6, §6.6: job.subscribed.budget and session.jobs[].budget carry the current counters."""
    async with await shared_stack.connect() as client:
        job = await client.submit(
            "costly",
            {"steps": 2, "usd": 0.25},
            lease=Lease().tool_call("search.*").budget("USD", "1.00"),
        )
        assert await job.result() == {"steps": 2, "budget": {"USD": 0.5}}
        listed = [j async for j in client.list_jobs() if j.job_id == job.job_id]
        assert listed[0].budget == {"USD": 0.5}
        async with await shared_stack.connect() as other:
            sub = await other.subscribe(job.job_id)
            assert sub.subscribed.budget == {"USD": 0.5}
            assert sub.budget == {"USD": 0.5}


# -- coverage (§9.3) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/workspace/src/a.py", True), ("/workspace/../etc/passwd", False), ("/etc/passwd", False)],
)
async def test_fs_read_is_confined_to_the_lease(
    shared_stack: Stack, path: str, allowed: bool
) -> None:
    """§9.3: `..` never escapes a grant's root; a denial is a tool_result, then job.error."""
    async with await shared_stack.connect() as client:
        job = await client.submit("reader", {"path": path}, lease=Lease().fs_read("/workspace/**"))
        events = [e.payload async for e in job]
        if allowed:
            assert await job.result() == {"path": path, "allowed": True}
            return
        with pytest.raises(PermissionDeniedError):
            await job.result()
    assert [
        p.body.error.code for p in events if isinstance(p, ToolResultEvent) and p.body.error
    ] == ["PERMISSION_DENIED"]


async def test_malformed_leases_are_refused_at_submit(stack: Stack) -> None:
    """§9.2, §9.5: bad namespaces, duplicate currencies and past or non-Z expiries are
    INVALID_REQUEST; none mints a job."""
    past = utc_timestamp(datetime.now(UTC) - timedelta(seconds=5))
    async with await stack.connect() as client:
        for lease, constraints in (
            ({"fs.list": ["/"]}, None),
            ({"cost.budget": ["USD:1", "USD:2"]}, None),
            (None, {"expires_at": past}),
            (None, {"expires_at": "2099-01-01T00:00:00+00:00"}),
        ):
            with pytest.raises(InvalidRequestError):
                await client.submit("echo", 1, lease=lease, lease_constraints=constraints)
        assert await (await client.submit("echo", 2)).result() == 2


# -- expiry (§9.5, §13.4) -----------------------------------------------------------------------


async def test_lease_expiring_mid_run_ends_the_job(auth: Auth) -> None:
    """§9.5: a job still running when its lease expires ends LEASE_EXPIRED, not retryable."""
    async with await auth.connect() as client:
        job = await client.submit(
            "ticker",
            None,
            lease=Lease().tool_call("tick"),
            lease_constraints=LeaseConstraints.expires_in(seconds=0.3),
        )
        assert job.accepted.lease_constraints is not None
        with pytest.raises(LeaseExpiredError) as caught:
            await job.result()
    assert caught.value.retryable is False
    assert job.status == "error"


async def test_an_agent_that_swallows_expiry_still_ends_lease_expired(auth: Auth) -> None:
    """§9.5: once the gate saw the lease expired, the job ends LEASE_EXPIRED whatever the agent does."""

    @auth.runtime.agent("stubborn")
    async def stubborn(input: Any, ctx: JobContext) -> Any:
        while True:
            with contextlib.suppress(LeaseExpiredError):
                await ctx.check_read("/data/x")
            await asyncio.sleep(0.02)

    async with await auth.connect() as client:
        job = await client.submit(
            "stubborn",
            None,
            lease=Lease().fs_read("/data/**"),
            lease_constraints=LeaseConstraints.expires_in(seconds=0.2),
        )
        with pytest.raises(LeaseExpiredError):
            await job.result()


# -- model.use (§9.7) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lease", "model", "ok"),
    [
        (Lease().model_use("tier-fast/*"), "tier-fast/mini", True),
        (Lease().model_use("tier-fast/*"), "tier-large/max", False),
        (Lease(), "tier-fast/mini", False),  # policy "require": no grant, no model
    ],
)
async def test_model_use_is_gated(auth: Auth, lease: Lease, model: str, ok: bool) -> None:
    async with await auth.connect() as client:
        assert Feature.MODEL_USE in client.features
        job = await client.submit("modeler", {"model": model}, lease=lease)
        if ok:
            assert await job.result() == {"model": model, "credentials": 1}
        else:
            with pytest.raises(PermissionDeniedError):
                await job.result()


async def test_model_policy_allow_permits_any_model_without_a_grant() -> None:
    runtime = Runtime(model_policy="allow")
    register_demo_agents(runtime)
    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))

    async def dial() -> Transport:
        return ours

    async with await Client.connect(dial, token="t", reconnect=False) as client:
        job = await client.submit("modeler", {"model": "any/model"})
        assert (await job.result())["model"] == "any/model"
    await runtime.aclose()
    serving.cancel()


async def test_agents_get_a_traceparent_to_forward(auth: Auth) -> None:
    """§11: ctx.traceparent carries the job's trace-id with a span of its own."""

    @auth.runtime.agent("tracer")
    async def tracer(input: Any, ctx: JobContext) -> Any:
        return ctx.traceparent

    async with await auth.connect() as client:
        job = await client.submit("tracer", trace_id="0af7651916cd43dd8448eb211c80319c")
        version, trace, span, flags = (await job.result()).split("-")
    assert (version, trace, flags) == ("00", "0af7651916cd43dd8448eb211c80319c", "01")
    assert len(span) == 16 and int(span, 16) >= 0
