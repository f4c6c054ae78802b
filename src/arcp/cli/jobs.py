"""``arcp jobs``: list the jobs this principal may observe (§6.6) as a table or JSON."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table

from arcp.cli.options import (
    EXIT_OK,
    EXIT_REFUSED,
    Output,
    connect,
    connection_options,
    dump_json,
    report_error,
    run_async,
    stdout_is_rich,
)
from arcp.transport.base import TransportClosed
from arcp_gen.errors import ARCPError
from arcp_gen.models import JobSummary

__all__ = ["jobs", "parse_since", "summary_json"]

STATUSES = ("pending", "running", "success", "error", "cancelled", "timed_out")
_STYLE = {
    "pending": "yellow",
    "running": "cyan",
    "success": "green",
    "error": "red",
    "cancelled": "magenta",
    "timed_out": "red",
}
_AGO = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str) -> datetime:
    """``30s`` / ``10m`` / ``2h`` / ``1d`` ago, or an ISO 8601 timestamp (UTC if naive)."""
    match = _AGO.match(value.strip())
    if match:
        amount, unit = float(match.group(1)), match.group(2)
        return datetime.now(UTC) - timedelta(**{_UNIT[unit]: amount})
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            "use a duration (30s, 10m, 2h, 1d) or an ISO 8601 time", param_hint="--since"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def summary_json(job: JobSummary) -> dict[str, Any]:
    """A listing entry as JSON, credential values removed (§9.8: never printed)."""
    data = job.model_dump(mode="json", by_alias=True, exclude_none=True)
    if job.credentials:
        data["credentials"] = [
            c.model_dump(mode="json", exclude={"value"}, exclude_none=True) for c in job.credentials
        ]
    return data


@click.command()
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUSES),
    help="Only jobs in this status (repeatable).",
)
@click.option("--agent", default=None, help="Only jobs of this agent (name or name@version).")
@click.option("--since", default=None, help="Only jobs created after: 10m, 2h, 1d or ISO 8601.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Show at most this many.")
@connection_options
def jobs(
    statuses: tuple[str, ...],
    agent: str | None,
    since: str | None,
    limit: int | None,
    url: str,
    token: str | None,
    as_json: bool,
) -> None:
    """List the jobs you may observe (in the runtime's order), with filters."""
    created_after = parse_since(since) if since else None
    run_async(_run(statuses, agent, created_after, limit, url, token, as_json))


async def _run(
    statuses: tuple[str, ...],
    agent: str | None,
    created_after: datetime | None,
    limit: int | None,
    url: str,
    token: str | None,
    as_json: bool,
) -> int:
    out = Output()
    found: list[JobSummary] = []
    try:
        async with await connect(url, token) as client:
            async for job in client.list_jobs(
                status=list(statuses) or None, agent=agent, created_after=created_after
            ):
                found.append(job)
                if limit is not None and len(found) >= limit:
                    break
    except (ARCPError, TransportClosed, OSError) as exc:
        return report_error(out, exc, url=url, as_json=as_json, status=EXIT_REFUSED)
    if as_json:
        dump_json([summary_json(job) for job in found])
        return EXIT_OK
    _print_table(found)
    return EXIT_OK


def _row(job: JobSummary) -> tuple[str, str, str, str, str]:
    created = job.created_at or job.submitted_at or ""
    seq = "" if job.last_event_seq is None else str(job.last_event_seq)
    return job.job_id, job.agent, job.status, created, seq


def _print_table(found: list[JobSummary]) -> None:
    """rich's table on a terminal; the same table without borders or colour in a pipe."""
    rich = stdout_is_rich()
    table = Table(
        title=f"{len(found)} job(s)" if rich else None,
        title_justify="left",
        header_style="bold" if rich else "",
        box=box.HEAVY_HEAD if rich else None,
        show_edge=rich,
        pad_edge=rich,
    )
    for header in ("JOB", "AGENT", "STATUS", "CREATED", "EVENTS"):
        table.add_column(header, justify="right" if header == "EVENTS" else "left", no_wrap=True)
    for job_id, agent, status, created, seq in map(_row, found):
        table.add_row(job_id, agent, f"[{_STYLE.get(status, '')}]{status}[/]", created, seq)
    console = (
        Console(highlight=False)
        if rich
        else Console(highlight=False, no_color=True, width=100_000, soft_wrap=True)
    )
    console.print(table)
