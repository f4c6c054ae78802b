"""``arcp watch``: follow a job to its end, rendered like ``submit``.

A job this user started with ``arcp submit --detach`` is reattached by resuming its session
(§6.3, §7.7): what it emitted since is replayed, then live events follow. Any other job is
observed through ``job.subscribe`` (§7.6), with its history.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from arcp.cli import tickets
from arcp.cli.follow import follow_job
from arcp.cli.options import (
    EXIT_REFUSED,
    Output,
    connect,
    connection_options,
    output_option,
    report_error,
    run_async,
)
from arcp.client import Client
from arcp.transport.base import TransportClosed
from arcp_gen.errors import ARCPError, ErrorCode

__all__ = ["watch"]


@click.command()
@click.argument("job_id")
@click.option(
    "--from-seq",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Replay buffered events after this event_seq.",
)
@click.option("--no-history", is_flag=True, help="Only new events, no replay.")
@output_option
@connection_options
def watch(
    job_id: str,
    from_seq: int,
    no_history: bool,
    output: Path | None,
    url: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Follow JOB_ID (with its history) until it ends, then print its result.

    A job started here with `arcp submit --detach` is reattached (its session resumed);
    others are observed (§7.6). Ctrl-C only stops watching; the job keeps running.
    """
    run_async(_run(job_id, from_seq, not no_history, output, url, token, as_json))


async def _run(
    job_id: str,
    from_seq: int,
    history: bool,
    output: Path | None,
    url: str,
    token: str | None,
    as_json: bool,
) -> int:
    out = Output(quiet=as_json)
    detached = tickets.load(job_id)
    if detached is not None and history and not from_seq:
        code = await _reattach(out, job_id, detached, output, as_json)
        if code is not None:
            return code
    try:
        client = await connect(url, token)
    except (ARCPError, TransportClosed, OSError) as exc:
        return report_error(out, exc, url=url, as_json=as_json, status=EXIT_REFUSED)
    async with client:
        try:
            sub = await client.subscribe(job_id, history=history, from_event_seq=from_seq)
        except ARCPError as exc:
            return report_error(out, exc, url=url, as_json=as_json, status=EXIT_REFUSED)
        out.line(
            f"[green]watching[/] [bold]{sub.job_id}[/] ({escape(sub.agent or '?')}, {sub.status})",
            f"watching {sub.job_id} ({sub.agent}, {sub.status})",
        )
        return await follow_job(
            out, sub, url=url, as_json=as_json, output=output, history=history, client=client
        )


async def _reattach(
    out: Output, job_id: str, detached: tickets.Detached, output: Path | None, as_json: bool
) -> int | None:
    """Resume the submitting session and follow its job; None to observe it instead."""
    url = detached.url
    try:
        client = await Client.resume(url, detached.ticket, connect_timeout=10.0)
    except ARCPError as exc:
        if exc.code is not ErrorCode.RESUME_WINDOW_EXPIRED:
            return report_error(out, exc, url=url, as_json=as_json, status=EXIT_REFUSED)
        tickets.forget(job_id)
        out.line(
            "[yellow]the submitting session expired; observing the job instead[/]",
            "the submitting session expired; observing the job instead",
        )
        return None
    except (TransportClosed, OSError) as exc:
        return report_error(out, exc, url=url, as_json=as_json, status=EXIT_REFUSED)
    async with client:
        handle = client.job(job_id)
        if handle is None:
            tickets.forget(job_id)
            return None
        out.line(
            f"[green]reattached[/] [bold]{job_id}[/] ({escape(handle.agent or '?')})",
            f"reattached {job_id} ({handle.agent})",
        )
        try:
            return await follow_job(
                out,
                handle,
                url=url,
                as_json=as_json,
                output=output,
                cancellable=False,
                history=True,
                client=client,
            )
        finally:
            tickets.park(client, job_id, url)
