"""``arcp submit``: run one job, render its events live, print its outcome (§7, §8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from arcp.cli import tickets
from arcp.cli.follow import follow_job
from arcp.cli.options import (
    EXIT_JOB_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    Output,
    connect,
    connection_options,
    dump_json,
    json_option,
    output_option,
    report_error,
    run_async,
)
from arcp.client import Client, JobHandle
from arcp.transport.base import TransportClosed
from arcp_gen.errors import ARCPError

__all__ = ["EXIT_JOB_FAILED", "EXIT_PROTOCOL_ERROR", "submit"]

EXIT_PROTOCOL_ERROR = EXIT_REFUSED
"""The runtime refused the request or the connection failed (the code is printed)."""


@click.command()
@click.argument("agent")
@click.option(
    "--input",
    "input_",
    callback=json_option,
    help="Job input as JSON (@FILE reads a file, - stdin).",
)
@click.option(
    "--lease",
    callback=json_option,
    help='Lease request as JSON (or @FILE), e.g. \'{"tool.call":["search.*"],"cost.budget":["USD:1.00"]}\'.',
)
@click.option("--idempotency-key", default=None, help="§7.2 idempotency key.")
@click.option(
    "--max-runtime",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds before the runtime times the job out (§7.1).",
)
@click.option(
    "--detach",
    is_flag=True,
    help="Print the job id and exit; `arcp watch JOB` reattaches, `arcp cancel JOB` cancels "
    "(the session is kept, owner-only, under $XDG_STATE_HOME/arcp/sessions).",
)
@output_option
@connection_options
def submit(
    agent: str,
    input_: Any,
    lease: Any,
    idempotency_key: str | None,
    max_runtime: float | None,
    detach: bool,
    output: Path | None,
    url: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Submit AGENT (name or name@version), render its events live, print the result.

    Ctrl-C cancels the job and waits for the outcome; a second Ctrl-C exits at once.
    With --json only the terminal outcome is printed (stdout), for scripts. With --detach
    the job id is printed and the job keeps running on the runtime.
    """
    run_async(
        _run(
            agent,
            input_,
            lease,
            url,
            token,
            idempotency_key,
            max_runtime,
            as_json,
            output,
            detach,
        )
    )


async def _run(
    agent: str,
    input_: Any,
    lease: Any,
    url: str,
    token: str | None,
    idempotency_key: str | None,
    max_runtime: float | None,
    as_json: bool,
    output: Path | None,
    detach: bool = False,
) -> int:
    out = Output(quiet=as_json)
    try:
        client = await connect(url, token)
    except (ARCPError, TransportClosed, OSError) as exc:
        return report_error(out, exc, url=url, as_json=as_json, status=EXIT_REFUSED)
    async with client:
        try:
            handle = await client.submit(
                agent,
                input_,
                lease=lease,
                idempotency_key=idempotency_key,
                max_runtime_sec=max_runtime,
            )
        except ARCPError as exc:
            return report_error(
                out, exc, url=url, as_json=as_json, status=EXIT_REFUSED, client=client
            )
        out.line(
            f"[green]accepted[/] [bold]{handle.job_id}[/] ({escape(handle.agent or agent)})",
            f"accepted {handle.job_id} ({handle.agent})",
        )
        if detach:
            return _detach(out, client, handle, url=url, as_json=as_json)
        return await follow_job(out, handle, url=url, as_json=as_json, output=output, client=client)


def _detach(out: Output, client: Client, handle: JobHandle, *, url: str, as_json: bool) -> int:
    """Keep the session's ticket for ``arcp watch`` / ``arcp cancel`` (§6.3, §7.4); print the
    job id. Leaving closes the session; the job keeps running (§6.7)."""
    tickets.save(handle.job_id, url, client.session_ticket())
    if as_json:
        dump_json({"job_id": handle.job_id, "detached": True})
    else:
        click.echo(handle.job_id)
    out.line(
        f"[dim]detached: `arcp watch {handle.job_id}` follows it, "
        f"`arcp cancel {handle.job_id}` cancels it[/]",
        f"detached: `arcp watch {handle.job_id}` follows it, "
        f"`arcp cancel {handle.job_id}` cancels it",
    )
    return EXIT_OK
