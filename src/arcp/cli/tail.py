"""``arcp tail``: every event of the jobs you may observe, as JSON lines (§6.6, §7.6).

Subscribes to every live job (with history) and to every job created after that, and prints
each ``job.event`` envelope as one JSON line on stdout. Stops on Ctrl-C or ``--count``.

ARCP has no "a job was created" notification: the listing (§6.6) is the only way to learn of
new jobs, so tail looks at it every ``--interval`` seconds. A job that started *and ended*
between two looks is not missed: finished jobs stay listed (for the resume window), so each
look asks for every job created since the newest one seen, whatever its status, and a
subscription with history (§7.6) replays the events of one that already ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

import click
import orjson

from arcp.cli.follow import on_sigint
from arcp.cli.options import (
    EXIT_OK,
    EXIT_REFUSED,
    Output,
    connect,
    connection_options,
    report_error,
    run_async,
)
from arcp.client import Client, ConnectionLostError, Subscription
from arcp.codec import encode
from arcp.ids import utc_timestamp
from arcp.transport.base import TransportClosed
from arcp_gen.errors import ARCPError
from arcp_gen.messages import JobEventMessage

__all__ = ["envelope_line", "tail"]


def envelope_line(event: JobEventMessage) -> str:
    """One event envelope as a JSON line, any credential value redacted (§9.8)."""
    data: dict[str, Any] = orjson.loads(encode(event))
    body = data.get("payload", {}).get("body")
    if isinstance(body, dict) and "credential_value" in body:
        body["credential_value"] = "[redacted]"
    return orjson.dumps(data).decode()


@click.command()
@click.option("--count", type=click.IntRange(1), default=None, help="Stop after N events.")
@click.option("--agent", default=None, help="Only jobs of this agent.")
@click.option(
    "--interval",
    type=click.FloatRange(0.05),
    default=0.5,
    show_default=True,
    help="Seconds between looks at the job listing for new jobs (ARCP has no job-created "
    "notification); jobs that ended in between are still shown.",
)
@click.option("--no-history", is_flag=True, help="Only new events, no replay.")
@connection_options
def tail(
    count: int | None,
    agent: str | None,
    interval: float,
    no_history: bool,
    url: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Print every event of every live or new job as JSON lines until Ctrl-C or --count.

    Output is always JSON lines (--json is accepted for symmetry).
    """
    del as_json
    run_async(_run(count, agent, interval, not no_history, url, token))


class _Tail:
    def __init__(self, client: Client, count: int | None, history: bool) -> None:
        self.client = client
        self.left = count
        self.history = history
        self.seen: set[str] = set()
        self.newest: str | None = None  # the latest created_at listed (the runtime's clock)
        self.pumps: set[asyncio.Task[None]] = set()
        self.done = asyncio.Event()
        self.looks = 0

    async def discover(self, agent: str | None) -> None:
        """One look at the listing: follow every job not seen yet (the first look follows
        only the live ones; later looks also the jobs that already ended)."""
        self.looks += 1
        first = self.looks == 1
        since = None if self.newest is None else _earlier(self.newest)
        async for job in self.client.list_jobs(agent=agent, created_after=since):
            created = job.created_at or job.submitted_at
            if created is not None and (self.newest is None or created > self.newest):
                self.newest = created
            if job.job_id in self.seen:
                continue
            self.seen.add(job.job_id)
            if first and job.status not in ("pending", "running"):
                continue  # ended before tail started: not part of the tail
            try:
                sub = await self.client.subscribe(job.job_id, history=self.history or not first)
            except ARCPError:  # gone since the listing
                continue
            pump = asyncio.ensure_future(self._pump(sub))
            self.pumps.add(pump)
            pump.add_done_callback(self.pumps.discard)

    async def _pump(self, sub: Subscription) -> None:
        with contextlib.suppress(ARCPError, ConnectionLostError):
            async for event in sub:
                if self.done.is_set():
                    return
                click.echo(envelope_line(event))
                if self.left is not None:
                    self.left -= 1
                    if self.left <= 0:
                        self.done.set()
                        return


def _earlier(created_at: str) -> str:
    """One second before a listing timestamp (jobs created in the same instant are kept)."""
    try:
        moment = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return created_at
    return utc_timestamp(moment - timedelta(seconds=1))


async def _run(
    count: int | None,
    agent: str | None,
    interval: float,
    history: bool,
    url: str,
    token: str | None,
) -> int:
    out = Output()
    try:
        client = await connect(url, token)
    except (ARCPError, TransportClosed, OSError) as exc:
        return report_error(out, exc, url=url, as_json=False, status=EXIT_REFUSED)
    async with client:
        state = _Tail(client, count, history)
        with on_sigint(state.done.set):
            try:
                while not state.done.is_set():
                    await state.discover(agent)
                    if state.looks == 1:  # said once the live jobs are followed
                        out.line(
                            "[dim]tailing every live and new job (Ctrl-C to stop)[/]",
                            "tailing every live and new job (Ctrl-C to stop)",
                        )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(state.done.wait(), interval)
            except (ARCPError, ConnectionLostError) as exc:
                return report_error(out, exc, url=url, as_json=False, status=EXIT_REFUSED)
            finally:
                for pump in list(state.pumps):
                    pump.cancel()
    return EXIT_OK
