"""``arcp watch``: observe a job another session submitted (§7.6), rendered like ``submit``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

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
from arcp.transport.base import TransportClosed
from arcp_gen.errors import ARCPError

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
    """Subscribe to JOB_ID (with its history) and render it until it ends.

    Observing carries no cancel authority (§7.6): Ctrl-C only stops watching.
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
        return await follow_job(out, sub, url=url, as_json=as_json, output=output)
