"""``arcp conformance URL``: run the black-box conformance kit against a runtime."""

from __future__ import annotations

import asyncio
import json

import click

from arcp.conformance import Level, Outcome, Report, run_conformance
from arcp.conformance.model import render_lines

__all__ = ["conformance"]

_COLOURS = {Outcome.PASS: "green", Outcome.FAIL: "red", Outcome.SKIP: "yellow"}


@click.command()
@click.argument("url")
@click.option("--token", required=True, help="Bearer token of the principal under test.")
@click.option(
    "--other-token",
    default=None,
    help="Token of a second principal (enables the cross-principal isolation checks).",
)
@click.option(
    "--timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.05),
    help="Seconds to wait for each expected frame.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable report.")
def conformance(
    url: str, token: str, other_token: str | None, timeout: float, as_json: bool
) -> None:
    """Check the ARCP runtime at URL (ws:// or wss://) against the v1.1 spec.

    Checks are labelled MUST, SHOULD or wire-decision (this SDK's choices where the spec is
    silent). The exit status is 1 when any MUST check fails and 0 otherwise: failed SHOULD
    and wire-decision checks are reported but do not change it. The kit assumes the demo
    agents (arcp serve --demo) and skips checks whose agent or feature is not offered.
    """
    report = asyncio.run(
        run_conformance(url, token=token, other_token=other_token, frame_timeout=timeout)
    )
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        _print(report)
    raise SystemExit(report.exit_code)


def _print(report: Report) -> None:
    runtime = report.runtime
    name = f"{runtime.get('name', '?')} {runtime.get('version', '')}".strip()
    click.echo(f"ARCP conformance: {report.url} ({name if runtime else 'no welcome'})")
    colour = {r.outcome.value.upper(): _COLOURS[r.outcome] for r in report.results}
    for line in render_lines(report.ordered()):
        word = line.strip().split(" ", 1)[0]
        if word in colour and line.startswith("  "):
            line = line.replace(word, click.style(word, fg=colour[word], bold=True), 1)
        click.echo(line)
    must = len(report.failed(Level.MUST))
    verdict = "FAIL" if must else "PASS"
    click.echo(f"{report.summary()} ({must} MUST failed) -> {verdict}")
