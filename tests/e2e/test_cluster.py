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

from arcp.client import Client
from arcp.transport.base import Transport
from arcp.transport.websocket import WebSocketTransport, connect_websocket
from arcp_gen.errors import JobCancelledError
from arcp_gen.models import ProgressEvent
from tests.cli.conftest import ARCP, free_port


@asynccontextmanager
async def node(dsn: str, node_id: str) -> AsyncIterator[str]:
    """``arcp serve --demo`` as node ``node_id`` on ``dsn``; yields its URL."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *ARCP,
        "serve",
        "--demo",
        "--port",
        str(port),
        "--token",
        "t=alice",
        "--store",
        dsn,
        "--node-id",
        node_id,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    lines: list[bytes] = []
    while not lines or b"listening" not in lines[-1]:
        lines.append(await asyncio.wait_for(proc.stderr.readline(), 30))
        assert lines[-1], b"".join(lines)
    drain = asyncio.ensure_future(proc.stderr.read())  # keep the pipe from filling
    try:
        yield f"ws://127.0.0.1:{port}/arcp"
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        await drain


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
        async with Client.connect(dialer, token="t") as client:
            session = client.session_id
            job = await client.submit("progress", {"n": 100_000, "delay_ms": 5})
            seqs: list[int] = []
            steps: list[int] = []
            async for event in job:
                assert isinstance(event.payload, ProgressEvent)
                seqs.append(event.event_seq)
                steps.append(int(event.payload.body.current))
                if len(seqs) == 20:
                    dialer.move_to(url_b)  # §6.3: resume through the other node
                if len(seqs) == 60:
                    break
            assert client.session_id == session
            assert dialer.url == url_b and len(dialer.ends) == 2
            # §8.3: one gap-free stream across the move, the job's steps in order.
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
            assert steps == list(range(1, len(steps) + 1))

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
