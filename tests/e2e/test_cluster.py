"""Two runtime nodes on one PostgreSQL database (§6.3, §6.6, §7.2, §7.4, §7.6, §8.3).

Real `arcp serve` processes, each with its own node id, share a throwaway database. A
client submits through node A, then everything else happens through node B: the session is
resumed there, the job (still running on A) is listed, subscribed to and cancelled, and the
event stream stays gap-free across the move.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arcp.client import Client, ReconnectPolicy
from arcp.transport.base import Transport
from arcp.transport.websocket import WebSocketTransport, connect_websocket
from arcp_gen.errors import InternalError, JobCancelledError
from arcp_gen.models import ProgressEvent
from tests.cli.conftest import ProgressSeen, free_port, start_serve


@asynccontextmanager
async def node(dsn: str, node_id: str) -> AsyncIterator[str]:
    """``arcp serve --demo`` as node ``node_id`` on ``dsn``; yields its URL."""
    proc, url = await start_node(dsn, node_id, free_port())
    try:
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)


async def start_node(dsn: str, node_id: str, port: int) -> tuple[asyncio.subprocess.Process, str]:
    """Start node ``node_id`` on ``port``; returns it and its URL once it listens."""
    proc = await start_serve(port, "--store", dsn, "--node-id", node_id)
    return proc, f"ws://127.0.0.1:{port}/arcp"


# A node restart takes 10-15 s on a loaded 2-core machine: give the client time to wait for it.
PATIENT = ReconnectPolicy(attempts=60, max_delay=1.0, give_up_after=60.0)


class Dialer:
    """Connects to whichever node is current; ``move_to`` cuts the connection and switches."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ends: list[WebSocketTransport] = []

    async def __call__(self) -> Transport:
        transport = await connect_websocket(self.url)
        self.ends.append(transport)
        return transport

    def move_to(self, url: str) -> None:
        self.url = url
        self.ends[-1].drop()


async def test_a_job_submitted_through_a_is_followed_listed_subscribed_and_cancelled_through_b(
    postgres_dsn: str,
) -> None:
    async with node(postgres_dsn, "a") as url_a, node(postgres_dsn, "b") as url_b:
        dialer = Dialer(url_a)
        async with Client.connect(dialer, token="t", reconnect=PATIENT) as client:
            session = client.session_id
            job = await client.submit("progress", {"n": 100_000, "delay_ms": 5})
            seen = ProgressSeen()
            async for event in job:
                count = seen.add(event)
                if count == 20:
                    dialer.move_to(url_b)  # §6.3: resume through the other node
                if count == 60:
                    break
            assert client.session_id == session
            assert dialer.url == url_b and len(dialer.ends) == 2
            seen.assert_gap_free()  # §8.3: one stream across the move

            # §6.6: node B lists the job running on node A.
            listed = {entry.job_id: entry async for entry in client.list_jobs()}
            assert listed[job.job_id].status == "running"

            # §7.6: another session on node B subscribes, with history.
            async with Client.connect(url_b, token="t") as other:
                sub = await other.subscribe(job.job_id, history=True, from_event_seq=0)
                seen = 0
                async for event in sub:
                    assert isinstance(event.payload, ProgressEvent)
                    assert int(event.payload.body.current) == seen + 1
                    seen += 1
                    if seen == 80:
                        break

                # §7.4: the submitting session cancels through node B; node A stops the job.
                await client.cancel(job.job_id)
                try:
                    await asyncio.wait_for(job.result(), 30)
                except JobCancelledError:
                    pass
                else:
                    raise AssertionError("the job was not cancelled")
                try:
                    await asyncio.wait_for(sub.result(), 30)
                except JobCancelledError:
                    pass
                else:
                    raise AssertionError("the subscriber did not see the cancel")

            listed = {entry.job_id: entry async for entry in client.list_jobs()}
            assert listed[job.job_id].status == "cancelled"


async def test_idempotency_holds_across_nodes_under_concurrent_duplicates(
    postgres_dsn: str,
) -> None:
    """§7.2: the same key submitted at once through both nodes names one job."""
    async with (
        node(postgres_dsn, "a") as url_a,
        node(postgres_dsn, "b") as url_b,
        Client.connect(url_a, token="t") as on_a,
        Client.connect(url_b, token="t") as on_b,
    ):
        for round_ in range(5):
            key = f"key-{round_}"
            first, second = await asyncio.gather(
                on_a.submit("echo", {"n": round_}, idempotency_key=key),
                on_b.submit("echo", {"n": round_}, idempotency_key=key),
            )
            assert first.job_id == second.job_id
            assert await first.result() == {"n": round_}
            assert await second.result() == {"n": round_}
        jobs = [entry async for entry in on_b.list_jobs()]
        assert len(jobs) == 5


async def test_a_node_killed_mid_job_ends_it_for_a_session_on_another_node(
    postgres_dsn: str,
) -> None:
    """§7.3, §12: node A dies with SIGKILL while its job streams to a session on node B; when
    A restarts (same node id) the job ends with job.error INTERNAL_ERROR (retryable), which
    reaches the session on B right after the events it already had, gap-free."""
    port_a = free_port()
    proc_a, url_a = await start_node(postgres_dsn, "a", port_a)
    try:
        async with node(postgres_dsn, "b") as url_b:
            dialer = Dialer(url_a)
            async with Client.connect(dialer, token="t", reconnect=PATIENT) as client:
                job = await client.submit("progress", {"n": 100_000, "delay_ms": 5})
                seen = ProgressSeen()
                async for event in job:
                    count = seen.add(event)
                    if count == 10:
                        dialer.move_to(url_b)
                    if count == 40:
                        proc_a.send_signal(signal.SIGKILL)
                        await proc_a.wait()
                        proc_a, _ = await start_node(postgres_dsn, "a", port_a)
                try:
                    await asyncio.wait_for(job.result(), 30)
                except InternalError as err:
                    assert err.retryable
                else:
                    raise AssertionError("the interrupted job did not fail")
                seen.assert_gap_free()
                assert client.last_event_seq == seen.seqs[-1] + 1
    finally:
        proc_a.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc_a.wait(), 30)


async def test_a_node_restarted_gracefully_keeps_following_remote_jobs(
    postgres_dsn: str,
) -> None:
    """§6.3, §8.3: a session on node B follows a job on node A; B restarts; the client
    resumes through the new B and the job's stream goes on without a gap or a repeat."""
    async with node(postgres_dsn, "a") as url_a:
        port_b = free_port()
        proc_b, url_b = await start_node(postgres_dsn, "b", port_b)
        try:
            dialer = Dialer(url_a)
            async with Client.connect(dialer, token="t", reconnect=PATIENT) as client:
                job = await client.submit("progress", {"n": 100_000, "delay_ms": 5})
                seen = ProgressSeen()
                async for event in job:
                    count = seen.add(event)
                    if count == 10:
                        dialer.move_to(url_b)
                    if count == 30:
                        proc_b.send_signal(signal.SIGTERM)
                        await proc_b.wait()
                        proc_b, _ = await start_node(postgres_dsn, "b", port_b)
                    if len(dialer.ends) >= 3 and count >= 60:
                        break  # resumed through the restarted node, and streaming on
                assert len(dialer.ends) >= 3
                seen.assert_gap_free()
                await client.cancel(job.job_id)
        finally:
            proc_b.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc_b.wait(), 30)


async def test_the_job_of_a_node_that_never_returns_is_ended_by_another_node(
    postgres_dsn: str,
) -> None:
    """§7.3, §12: node A dies for good while its job streams to its submitter and to a
    subscriber on node B. Once A has been silent long enough, B takes the job over and ends
    it with job.error INTERNAL_ERROR (retryable); both sessions get it, the submitter's
    (resumed through B) right after the events it already had."""
    proc_a, url_a = await start_node(postgres_dsn, "a", free_port())
    try:
        async with node(postgres_dsn, "b") as url_b:
            dialer = Dialer(url_a)
            async with (
                Client.connect(dialer, token="t", reconnect=PATIENT) as client,
                Client.connect(url_b, token="t") as other,
            ):
                job = await client.submit("progress", {"n": 100_000, "delay_ms": 5})
                seen = ProgressSeen()
                async for event in job:
                    count = seen.add(event)
                    if count == 10:
                        sub = await other.subscribe(job.job_id)
                    if count == 30:
                        dialer.url = url_b  # where the client resumes once A is gone
                        proc_a.send_signal(signal.SIGKILL)
                        await proc_a.wait()
                for handle in (job, sub):
                    try:
                        await asyncio.wait_for(handle.result(), 90)
                    except InternalError as err:
                        assert err.retryable
                    else:
                        raise AssertionError("the orphaned job did not fail")
                seen.assert_gap_free()
                assert client.last_event_seq == seen.seqs[-1] + 1
                listed = {entry.job_id: entry async for entry in other.list_jobs()}
                assert listed[job.job_id].status == "error"
    finally:
        if proc_a.returncode is None:
            proc_a.kill()
            await proc_a.wait()
