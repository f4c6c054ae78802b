"""Jobs whose node went silent: taken over and ended by a live node (§7.3, §9.8.2, §12).

Two in-process runtimes on one PostgreSQL database, each a cluster node. Keep-alives are
slowed down so that only the test decides who looks silent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from arcp.client import Client
from arcp.cluster import node as cluster_node
from arcp.runtime import JobContext, Runtime
from arcp.runtime.credentials import InProcessProvisioner
from arcp.store.postgres import PostgresStore
from arcp.transport.base import Transport
from arcp.transport.memory import memory_pair
from arcp_gen.errors import InternalError
from tests.pg_cluster import silence_node


@pytest.fixture(autouse=True)
def no_keep_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    """A node says it is alive when it starts, then not again during a test."""
    monkeypatch.setattr(cluster_node, "ALIVE_EVERY_SEC", 3600.0)


def runtime(dsn: str, node_id: str, provisioner: InProcessProvisioner) -> Runtime:
    rt = Runtime(
        "arcp-test",
        "1.0.0",
        tokens={"t": "alice"},
        store=PostgresStore(dsn, node_id=node_id),
        provisioner=provisioner,
    )

    @rt.agent("forever")
    async def forever(input: Any, ctx: JobContext) -> Any:
        await ctx.log("started")
        await asyncio.Event().wait()

    return rt


class Serving:
    """Memory connections to one runtime, and the tasks serving them."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.tasks: list[asyncio.Task[None]] = []

    async def dial(self) -> Transport:
        ours, theirs = memory_pair()
        self.tasks.append(asyncio.ensure_future(self.rt.serve(theirs)))
        return ours

    async def aclose(self) -> None:
        await self.rt.aclose()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.fixture
async def nodes(postgres_dsn: str) -> AsyncIterator[tuple[Serving, Serving, InProcessProvisioner]]:
    provisioner = InProcessProvisioner()  # one upstream gateway for both nodes
    a = Serving(runtime(postgres_dsn, "a", provisioner))
    b = Serving(runtime(postgres_dsn, "b", provisioner))
    await a.rt.open()
    await b.rt.open()
    try:
        yield a, b, provisioner
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_silent_node_s_job_is_ended_and_its_credential_revoked_by_a_live_one(
    nodes: tuple[Serving, Serving, InProcessProvisioner], postgres_dsn: str
) -> None:
    """§7.3, §12: B ends the job of silent A with INTERNAL_ERROR (retryable) for a subscriber
    on B; §9.8.2: B revokes the job's credential, recorded when A issued it."""
    a, b, provisioner = nodes
    async with Client.connect(a.dial, token="t") as on_a, Client.connect(b.dial, token="t") as on_b:
        job = await on_a.submit("forever")
        (credential,) = job.credentials
        sub = await on_b.subscribe(job.job_id)
        await asyncio.sleep(0.2)
        await silence_node(postgres_dsn, "a")
        assert b.rt.cluster is not None
        await b.rt.cluster.end_orphans()
        with pytest.raises(InternalError) as ended:
            await asyncio.wait_for(sub.result(), 10)
        assert ended.value.retryable
        await b.rt.revocations_settled()
        assert provisioner.revoked == [credential.id]
        listed = {entry.job_id: entry async for entry in on_b.list_jobs()}
        assert listed[job.job_id].status == "error"

        # A was only stalled: it finds the job gone, stops it and tells its own session.
        assert a.rt.cluster is not None
        await a.rt.cluster.end_orphans()
        with pytest.raises(InternalError):
            await asyncio.wait_for(job.result(), 10)
        status = {entry.job_id: entry.status async for entry in on_b.list_jobs()}
        assert status[job.job_id] == "error"


async def test_the_jobs_of_live_nodes_are_left_alone(
    nodes: tuple[Serving, Serving, InProcessProvisioner],
) -> None:
    a, b, provisioner = nodes
    async with Client.connect(a.dial, token="t") as on_a:
        job = await on_a.submit("forever")
        assert b.rt.cluster is not None and a.rt.cluster is not None
        await b.rt.cluster.end_orphans()
        await a.rt.cluster.end_orphans()
        listed = {entry.job_id: entry async for entry in on_a.list_jobs()}
        assert listed[job.job_id].status == "running"
        assert provisioner.revoked == []
        await on_a.cancel(job.job_id)
