"""Idempotency keys claimed by a node that died before the job row followed (§7.2, #13).

On PostgreSQL a node claims a key in a commit of its own, then writes the job row with its
next batch. A ``kill -9`` between the two left a claim without a job, and every retry of the
key was answered ``INTERNAL_ERROR`` ("not visible yet") for ever. The claim is now released
when its node starts again, or by any node once its node went silent.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from arcp.client import Client
from arcp.cluster import node as cluster_node
from arcp.protocol.job_table import submit_fingerprint
from arcp.protocol.lease import Lease
from arcp.runtime import JobContext, Runtime
from arcp.store.postgres import PostgresStore
from arcp.transport.memory import memory_pair
from tests.pg_cluster import silence_node


def runtime(dsn: str, node_id: str) -> Runtime:
    rt = Runtime("arcp-test", "1.0.0", store=PostgresStore(dsn, node_id=node_id))

    @rt.agent("echo")
    async def echo(input: Any, ctx: JobContext) -> Any:
        return input

    return rt


async def _orphan_claim(dsn: str, node_id: str, key: str) -> None:
    """What a node killed right after claiming ``key`` leaves behind: the claim only."""
    store = PostgresStore(dsn, node_id=node_id)
    await store.open()
    try:
        db = store.cluster()
        await db.alive()
        # the fingerprint of the submit below, as the runtime computes it (§7.2)
        lease = Lease.from_request(None).to_wire()
        fingerprint = submit_fingerprint("echo", {"a": 1}, lease, None, None)[0]
        assert await db.claim_key("anonymous", key, fingerprint, "job_never_written") is None
    finally:
        await store.close()


async def _submit(rt: Runtime, key: str) -> Any:
    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(rt.serve(theirs))
    try:
        async with await Client.connect(ours) as client:
            handle = await asyncio.wait_for(
                client.submit("echo", {"a": 1}, idempotency_key=key), 30
            )
            return await asyncio.wait_for(handle.result(), 30)
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)


async def test_a_node_restarted_after_a_kill_releases_its_stale_claims(postgres_dsn: str) -> None:
    """§7.2: the retry of a key whose first submit died with its node is accepted."""
    await _orphan_claim(postgres_dsn, "n1", "k-1")
    rt = runtime(postgres_dsn, "n1")  # the same node, started again
    try:
        assert await _submit(rt, "k-1") == {"a": 1}
    finally:
        await rt.aclose()


async def test_a_live_node_releases_the_stale_claims_of_a_silent_one(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§7.2: a claim of a node that went silent is released by the orphan sweep."""
    monkeypatch.setattr(cluster_node, "ALIVE_EVERY_SEC", 3600.0)
    await _orphan_claim(postgres_dsn, "dead", "k-2")
    await silence_node(postgres_dsn, "dead")
    rt = runtime(postgres_dsn, "live")
    try:
        await rt.open()
        assert rt.cluster is not None
        await rt.cluster.end_orphans()
        assert await _submit(rt, "k-2") == {"a": 1}
    finally:
        await rt.aclose()
