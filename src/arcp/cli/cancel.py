"""``arcp cancel``: send ``job.cancel`` for a job (§7.4).

Only the submitting session may cancel (§7.4). For a job started with ``arcp submit
--detach`` by this user, ``arcp cancel`` resumes that session (§6.3) from the ticket it left
and cancels as the submitter. Without a ticket it asks from a fresh session, which the
runtime refuses with ``PERMISSION_DENIED`` for a job submitted elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib

import click

from arcp.cli import tickets
from arcp.cli.options import (
    EXIT_OK,
    EXIT_REFUSED,
    Output,
    connect,
    connection_options,
    dump_json,
    report_error,
    run_async,
)
from arcp.client import Client
from arcp.transport.base import TransportClosed
from arcp_gen.errors import ARCPError, ErrorCode

__all__ = ["cancel"]

_END_WAIT = 10.0
"""Seconds to wait, after ``job.cancelled``, for the job's terminal ``job.error``."""


@click.command()
@click.argument("job_id")
@click.option("--reason", default="cancelled from the command line", show_default=True)
@connection_options
def cancel(job_id: str, reason: str, url: str, token: str | None, as_json: bool) -> None:
    """Cancel JOB_ID; exits 0 once the runtime confirmed job.cancelled.

    A job started here with `arcp submit --detach` is cancelled by resuming the session that
    submitted it (§6.3, §7.4); its stored URL is used.
    """
    run_async(_run(job_id, reason, url, token, as_json))


async def _run(job_id: str, reason: str, url: str, token: str | None, as_json: bool) -> int:
    out = Output(quiet=as_json)
    detached = tickets.load(job_id)
    if detached is not None:
        return await _cancel_resumed(out, job_id, reason, detached, as_json)
    try:
        async with await connect(url, token) as client:
            await client.cancel(job_id, reason)
    except (ARCPError, TransportClosed, OSError) as exc:
        return report_error(
            out, exc, url=url, as_json=as_json, status=EXIT_REFUSED, action="cancel"
        )
    return _cancelled(out, job_id, as_json)


def _cancelled(out: Output, job_id: str, as_json: bool) -> int:
    if as_json:
        dump_json({"job_id": job_id, "cancelled": True})
    out.line(f"[green]cancelled[/] [bold]{job_id}[/]", f"cancelled {job_id}")
    return EXIT_OK


async def _cancel_resumed(
    out: Output, job_id: str, reason: str, detached: tickets.Detached, as_json: bool
) -> int:
    url = detached.url
    try:
        client = await Client.resume(url, detached.ticket, connect_timeout=10.0)
    except (ARCPError, TransportClosed, OSError) as exc:
        if isinstance(exc, ARCPError) and exc.code is ErrorCode.RESUME_WINDOW_EXPIRED:
            tickets.forget(job_id)  # that session is gone for good
        return report_error(
            out, exc, url=url, as_json=as_json, status=EXIT_REFUSED, action="cancel"
        )
    async with client:
        handle = client.job(job_id)
        try:
            if handle is None:
                await client.cancel(job_id, reason)
            else:
                await handle.cancel(reason)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(handle.wait(), _END_WAIT)
        except (ARCPError, ConnectionError) as exc:
            tickets.park(client, job_id, url)
            return report_error(
                out, exc, url=url, as_json=as_json, status=EXIT_REFUSED, action="cancel"
            )
        tickets.park(client, job_id, url)
        if handle is not None and handle.done and handle.status != "cancelled":
            return _already_ended(out, job_id, handle.status, as_json)
    return _cancelled(out, job_id, as_json)


def _already_ended(out: Output, job_id: str, status: str, as_json: bool) -> int:
    if as_json:
        dump_json({"job_id": job_id, "cancelled": False, "final_status": status})
    out.line(
        f"[yellow]already ended[/] [bold]{job_id}[/] ({status}): nothing to cancel",
        f"already ended {job_id} ({status}): nothing to cancel",
    )
    return EXIT_OK
