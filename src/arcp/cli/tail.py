"""``arcp tail``: every event of the jobs you may observe, as JSON lines (§6.6, §7.6).

Lists the live jobs, subscribes to each (with history), and keeps polling for new ones; every
``job.event`` envelope is printed as one JSON line on stdout. Stops on Ctrl-C or ``--count``.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    help="Seconds between looks for new jobs.",
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
    """Print every event of every live job as JSON lines until Ctrl-C or --count.

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
        self.pumps: set[asyncio.Task[None]] = set()
        self.done = asyncio.Event()

    async def discover(self, agent: str | None) -> None:
        async for job in self.client.list_jobs(status=["pending", "running"], agent=agent):
            if job.job_id in self.seen:
                continue
            self.seen.add(job.job_id)
            try:
                sub = await self.client.subscribe(job.job_id, history=self.history)
            except ARCPError:  # ended or gone since the listing
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
        out.line(
            "[dim]tailing every live job (Ctrl-C to stop)[/]",
            "tailing every live job (Ctrl-C to stop)",
        )
        with on_sigint(state.done.set):
            try:
                while not state.done.is_set():
                    await state.discover(agent)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(state.done.wait(), interval)
            except (ARCPError, ConnectionLostError) as exc:
                return report_error(out, exc, url=url, as_json=False, status=EXIT_REFUSED)
            finally:
                for pump in list(state.pumps):
                    pump.cancel()
    return EXIT_OK
