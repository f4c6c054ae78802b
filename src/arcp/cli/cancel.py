"""``arcp cancel``: send ``job.cancel`` for a job (§7.4).

Only the submitting session may cancel (§7.4), so from a fresh session the runtime answers
``PERMISSION_DENIED`` for a job submitted elsewhere; the error says what to do instead.
"""

from __future__ import annotations

import click

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
from arcp.transport.base import TransportClosed
from arcp_gen.errors import ARCPError

__all__ = ["cancel"]


@click.command()
@click.argument("job_id")
@click.option("--reason", default="cancelled from the command line", show_default=True)
@connection_options
def cancel(job_id: str, reason: str, url: str, token: str | None, as_json: bool) -> None:
    """Cancel JOB_ID; exits 0 once the runtime confirmed job.cancelled."""
    run_async(_run(job_id, reason, url, token, as_json))


async def _run(job_id: str, reason: str, url: str, token: str | None, as_json: bool) -> int:
    out = Output(quiet=as_json)
    try:
        async with await connect(url, token) as client:
            await client.cancel(job_id, reason)
    except (ARCPError, TransportClosed, OSError) as exc:
        return report_error(
            out, exc, url=url, as_json=as_json, status=EXIT_REFUSED, action="cancel"
        )
    if as_json:
        dump_json({"job_id": job_id, "cancelled": True})
    out.line(f"[green]cancelled[/] [bold]{job_id}[/]", f"cancelled {job_id}")
    return EXIT_OK
