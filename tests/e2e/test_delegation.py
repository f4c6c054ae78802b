"""Delegation end to end (§9.4, §10): subset rules, carved budgets, children's lifetime."""

from __future__ import annotations

from typing import Any

import pytest

from arcp.client.lease import Lease, LeaseConstraints
from arcp.runtime import JobContext
from arcp_gen.errors import (
    InvalidRequestError,
    LeaseSubsetViolationError,
    PermissionDeniedError,
)
from arcp_gen.models import DelegateEvent, MetricEvent, ToolResultEvent
from tests.e2e.authority_stack import Auth, auth_fixture  # noqa: F401  # pyright: ignore[reportUnusedImport]
from tests.e2e.conftest import Stack

# -- delegation (§10) --------------------------------------------------------------------------


async def test_delegation_creates_a_visible_child_under_a_carved_budget(
    shared_stack: Stack,
) -> None:
    """§10: the child runs under a subset lease, with parent_job_id and the parent's trace;
    the parent emits `delegate` and returns the child's result."""
    lease = Lease().delegate("echo").tool_call("search.*").budget("USD", "1.00")
    child_lease = {"tool.call": ["search.web"], "cost.budget": ["USD:0.40"]}
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with await shared_stack.connect() as client:
        job = await client.submit(
            "delegator",
            {"input": {"hi": 1}, "lease": child_lease},
            lease=lease,
            trace_id=traceparent,
        )
        events = [e async for e in job]
        result = await job.result()
        assert result["result"] == {"hi": 1}
        delegates = [e.payload for e in events if isinstance(e.payload, DelegateEvent)]
        assert [d.body.child_job_id for d in delegates] == [result["child_job_id"]]
        assert delegates[0].body.lease.model_dump(by_alias=True, exclude_none=True) == child_lease
        assert job.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert {e.trace_id for e in events} == {job.trace_id}
        children = [j async for j in client.list_jobs() if j.parent_job_id == job.job_id]
        assert [c.job_id for c in children] == [result["child_job_id"]]
        assert children[0].trace_id == job.trace_id
        assert children[0].budget == {"USD": 0.4}
    remaining = [
        e.payload.body.value
        for e in events
        if isinstance(e.payload, MetricEvent) and e.payload.body.name == "cost.budget.remaining"
    ]
    assert remaining == [0.6, 1.0]  # carved for the child, then its unspent part returned
    assert job.budget == {"USD": 1.0}


@pytest.mark.parametrize(
    ("child_lease", "child_expiry_sec"),
    [
        ({"fs.read": ["/**"]}, None),  # a wider grant
        ({"tool.call": ["search.web"]}, None),  # a capability the parent lacks
        ({"fs.read": ["/data/**"], "cost.budget": ["USD:2.00"]}, None),  # more budget
        ({"fs.read": ["/data/**"], "cost.budget": ["USD:0.50"]}, 600),  # a later expiry
    ],
)
async def test_delegation_widening_authority_is_a_subset_violation(
    shared_stack: Stack, child_lease: dict[str, list[str]], child_expiry_sec: int | None
) -> None:
    """§9.4: any grant, budget or expiry beyond the parent's is LEASE_SUBSET_VIOLATION."""
    lease = Lease().delegate("echo").fs_read("/data/**").budget("USD", "1.00")
    constraints = LeaseConstraints.expires_in(seconds=300)
    child_constraints = (
        dict(LeaseConstraints.expires_in(seconds=child_expiry_sec)) if child_expiry_sec else None
    )
    async with await shared_stack.connect() as client:
        job = await client.submit(
            "delegator",
            {"lease": child_lease, "lease_constraints": child_constraints},
            lease=lease,
            lease_constraints=constraints,
        )
        events = [e.payload async for e in job]
        with pytest.raises(LeaseSubsetViolationError):
            await job.result()
    assert not [p for p in events if isinstance(p, DelegateEvent)]
    assert [
        p.body.error.code for p in events if isinstance(p, ToolResultEvent) and p.body.error
    ] == ["LEASE_SUBSET_VIOLATION"]


async def test_delegated_string_lease_is_refused_not_split(shared_stack: Stack) -> None:
    """§9.2, §10 (#12.1): a child lease naming a string instead of a list is INVALID_REQUEST;
    it used to be split into one-character patterns, ``*`` among them."""
    lease = Lease().delegate("echo").tool_call("*")
    async with await shared_stack.connect() as client:
        job = await client.submit("delegator", {"lease": {"tool.call": "search.*"}}, lease=lease)
        events = [e.payload async for e in job]
        with pytest.raises(InvalidRequestError) as info:
            await job.result()
    assert info.value.details["field"] == "lease_request.tool.call"
    assert not [p for p in events if isinstance(p, DelegateEvent)]


async def test_delegation_needs_agent_delegate(stack: Stack) -> None:
    async with await stack.connect() as client:
        job = await client.submit("delegator", {"lease": {}}, lease=Lease().delegate("chatty"))
        with pytest.raises(PermissionDeniedError):
            await job.result()


async def test_parent_end_cancels_live_children(auth: Auth) -> None:
    """§10, §9.8.2: a parent reaching a terminal state cancels its live children and their
    credentials are revoked."""
    seen: list[str] = []
    credential_ids: list[str] = []

    @auth.runtime.agent("abandoner")
    async def abandoner(input: Any, ctx: JobContext) -> Any:
        child = await ctx.delegate("slow", {"sec": 30}, lease={})
        seen.append(child.job_id)
        credential_ids.extend(c.id for c in child.credentials)
        return "left"

    async with await auth.connect() as client:
        job = await client.submit("abandoner", None, lease=Lease().delegate("slow"))
        (own,) = job.credentials
        assert await job.result() == "left"
        await auth.runtime.revocations_settled()
        child = auth.runtime.core.jobs.jobs[seen[0]]
        assert child.status == "cancelled"
        assert child.parent_job_id == job.job_id
        assert len(credential_ids) == 1
        assert sorted(auth.provisioner.revoked) == sorted([*credential_ids, own.id])
