"""``arcp submit``: run one job, render its events live, print its outcome (§7, §8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from arcp.cli.follow import follow_job
from arcp.cli.options import (
    EXIT_JOB_FAILED,
    EXIT_REFUSED,
    Output,
    connect,
    connection_options,
    json_option,
    output_option,
    report_error,
    run_async,
)
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
@output_option
@connection_options
def submit(
    agent: str,
    input_: Any,
    lease: Any,
    idempotency_key: str | None,
    max_runtime: float | None,
    output: Path | None,
    url: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Submit AGENT (name or name@version), render its events live, print the result.

    Ctrl-C cancels the job and waits for the outcome; a second Ctrl-C exits at once.
    With --json only the terminal outcome is printed (stdout), for scripts.
    """
    run_async(_run(agent, input_, lease, url, token, idempotency_key, max_runtime, as_json, output))


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
        return await follow_job(out, handle, url=url, as_json=as_json, output=output)
