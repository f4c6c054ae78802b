"""Authority on the wire (§7.1, §7.6, §9, §10): what the runtime sends, frame by frame."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from arcp.ids import utc_timestamp
from arcp.runtime import JobContext, Runtime
from arcp.runtime.credentials import CredentialRequest, InProcessProvisioner, IssuedCredential
from tests.runtime.wire import connect


def _in(seconds: float) -> str:
    return utc_timestamp(datetime.now(UTC) + timedelta(seconds=seconds))


async def test_accepted_echoes_lease_constraints_and_budget() -> None:
    """§7.1: job.accepted carries the effective lease, constraints and initial budget."""
    rt = Runtime()

    @rt.agent("idle")
    async def idle(input: Any, ctx: JobContext) -> Any:
        return ctx.budget

    peer = connect(rt)
    await peer.hello()
    expires = _in(60)
    accepted = await peer.submit(
        "idle",
        lease_request={"tool.call": ["a.*"], "cost.budget": ["USD:2.50", "credits:7"]},
        lease_constraints={"expires_at": expires},
    )
    p = accepted["payload"]
    assert p["lease"] == {"tool.call": ["a.*"], "cost.budget": ["USD:2.50", "credits:7"]}
    assert p["lease_constraints"] == {"expires_at": expires}
    assert p["budget"] == {"USD": 2.5, "credits": 7.0}
    assert "credentials" not in p
    frames = await peer.until_terminal(p["job_id"])
    assert frames[-1]["payload"]["result"] == {"USD": 2.5, "credits": 7.0}
    await rt.aclose()


async def test_bad_cost_metrics_are_dropped_and_logged_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """§9.6: a negative or non-finite cost produces no decrement and does not kill the job."""
    rt = Runtime()

    @rt.agent("sloppy")
    async def sloppy(input: Any, ctx: JobContext) -> Any:
        await ctx.metric("cost.x", -1, unit="USD")
        await ctx.metric("cost.x", float("inf"), unit="USD")
        await ctx.metric("cost.x", 0.5, unit="USD")
        return ctx.budget

    peer = connect(rt)
    await peer.hello()
    caplog.set_level(logging.WARNING, "arcp.runtime")
    accepted = await peer.submit("sloppy", lease_request={"cost.budget": ["USD:1"]})
    frames = await peer.until_terminal(accepted["payload"]["job_id"])
    bodies = [f["payload"]["body"] for f in frames[:-1]]
    assert bodies == [
        {"name": "cost.x", "value": 0.5, "unit": "USD"},
        {"name": "cost.budget.remaining", "value": 0.5, "unit": "USD"},
    ]
    assert frames[-1]["payload"]["result"] == {"USD": 0.5}
    assert sum("invalid cost" in r.getMessage() for r in caplog.records) == 2
    await rt.aclose()


async def test_other_principals_cannot_subscribe_by_default() -> None:
    """§14: same principal only, unless an observer policy says otherwise."""
    rt = Runtime(tokens={"a": "alice", "b": "bob"})
    go = asyncio.Event()

    @rt.agent("wait")
    async def wait(input: Any, ctx: JobContext) -> Any:
        await go.wait()
        return 1

    alice, bob = connect(rt), connect(rt)
    await alice.hello("a")
    await bob.hello("b")
    accepted = await alice.submit("wait")
    job_id = accepted["payload"]["job_id"]
    refused = await bob.request("job.subscribe", {"job_id": job_id})
    assert refused["payload"]["code"] == "JOB_NOT_FOUND"
    go.set()
    await rt.aclose()


async def test_subscribed_descriptor_carries_authority_and_no_credentials() -> None:
    """§7.6: lease, constraints, current budget and parent_job_id; never credentials."""
    go = asyncio.Event()
    rt = Runtime(
        tokens={"a": "alice", "b": "bob"},
        provisioner=InProcessProvisioner(),
        observer_policy=lambda principal, job: True,
    )

    @rt.agent("spend")
    async def spend(input: Any, ctx: JobContext) -> Any:
        await ctx.metric("cost.llm", 0.25, unit="USD")
        await go.wait()
        return 1

    alice, bob = connect(rt), connect(rt)
    await alice.hello("a")
    await bob.hello("b")
    expires = _in(60)
    accepted = await alice.submit(
        "spend", lease_request={"cost.budget": ["USD:1"]}, lease_constraints={"expires_at": expires}
    )
    p = accepted["payload"]
    assert [c["constraints"] for c in p["credentials"]] == [
        {"cost.budget": ["USD:1"], "expires_at": utc_timestamp(datetime.fromisoformat(expires))}
    ]
    await alice.until(lambda f: f["payload"].get("body", {}).get("name") == "cost.budget.remaining")
    sub = await bob.request("job.subscribe", {"job_id": p["job_id"]})
    d = sub["payload"]
    assert (d["budget"], d["lease_constraints"], d["parent_job_id"]) == (
        {"USD": 0.75},
        {"expires_at": expires},
        None,
    )
    assert "credentials" not in d
    go.set()
    await rt.aclose()


class _Broken(InProcessProvisioner):
    async def issue(self, request: CredentialRequest) -> IssuedCredential:
        raise RuntimeError("gateway down")


async def test_a_job_without_its_credential_is_refused() -> None:
    """§9.8.2: credentials are issued no later than job.accepted; failing that, the submit
    is answered with session.error and no job exists."""
    rt = Runtime(provisioner=_Broken())
    rt.register("echo", lambda input, ctx: asyncio.sleep(0, input))
    peer = connect(rt)
    await peer.hello()
    error = await peer.submit("echo", 1)
    assert (error["type"], error["payload"]["code"]) == ("session.error", "INTERNAL_ERROR")
    assert len(rt.core.jobs) == 0
    await rt.revocations_settled()
    await peer.send("session.ping", {"nonce": "n1", "sent_at": utc_timestamp()})
    assert (await peer.recv())["type"] == "session.pong"  # nothing about the refused job
    await rt.aclose()


class _Slow(InProcessProvisioner):
    def __init__(self) -> None:
        super().__init__()
        self.go = asyncio.Event()

    async def issue(self, request: CredentialRequest) -> IssuedCredential:
        await self.go.wait()
        return await super().issue(request)


async def test_an_idempotent_retry_during_issuance_gets_the_same_acceptance() -> None:
    """§7.2, §9.8.2: a retry that arrives while the credential is being issued is answered
    with the same job.accepted (credentials included) once it exists."""
    slow = _Slow()
    rt = Runtime(provisioner=slow)
    rt.register("echo", lambda input, ctx: asyncio.sleep(0, input))
    first, retry = connect(rt), connect(rt)
    await first.hello()
    await retry.hello()
    rid_first = await first.send(
        "job.submit", {"agent": "echo", "input": 1, "idempotency_key": "k"}
    )
    rid_retry = await retry.send(
        "job.submit", {"agent": "echo", "input": 1, "idempotency_key": "k"}
    )
    await asyncio.sleep(0.01)
    slow.go.set()
    a = (await first.until(lambda f: f["payload"].get("request_id") == rid_first))[-1]
    b = (await retry.until(lambda f: f["payload"].get("request_id") == rid_retry))[-1]
    assert a["type"] == b["type"] == "job.accepted"
    assert a["payload"]["job_id"] == b["payload"]["job_id"]
    assert a["payload"]["credentials"] == b["payload"]["credentials"]
    assert len(slow.issued) == 1
    await rt.aclose()
