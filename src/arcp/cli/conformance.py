"""``arcp conformance URL``: run the black-box conformance kit against a runtime and replay
the fixtures manifest's client-to-runtime fixtures; ``arcp conformance client -- COMMAND``:
judge a client program against a scripted runtime; ``arcp conformance fixtures -- COMMAND``:
feed the manifest to another SDK's decoder."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from arcp.cli.conformance_fixtures import (
    fixtures,
    load_baseline,
    manifest_options,
    open_manifest,
    print_fixture_report,
    settle_baseline,
)
from arcp.conformance import Level, Outcome, Report, run_conformance
from arcp.conformance.fixture_replay import replay_manifest
from arcp.conformance.fixture_report import FixtureReport
from arcp.conformance.manifest import Manifest
from arcp.conformance.model import render_lines

__all__ = ["conformance"]


class _RuntimeByDefault(click.Group):
    """``arcp conformance URL ...`` runs the runtime check; ``client`` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["runtime", *args]
        return super().parse_args(ctx, args)


_COLOURS = {Outcome.PASS: "green", Outcome.FAIL: "red", Outcome.SKIP: "yellow"}


@click.group(cls=_RuntimeByDefault)
def conformance() -> None:
    """Check an ARCP runtime (arcp conformance URL) or a client program
    (arcp conformance client -- COMMAND) against the v1.1 spec."""


@conformance.command("runtime", short_help="Check the runtime at URL (the default).")
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
@manifest_options
@click.option("--no-fixtures", is_flag=True, help="Do not replay the fixtures manifest.")
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable report.")
def runtime(
    url: str,
    token: str,
    other_token: str | None,
    timeout: float,
    manifest_path: Path | None,
    baseline_path: Path | None,
    write_baseline: bool,
    no_fixtures: bool,
    as_json: bool,
) -> None:
    """Check the ARCP runtime at URL (ws:// or wss://) against the v1.1 spec.

    Checks are labelled MUST, SHOULD or wire-decision (this SDK's choices where the spec is
    silent). Then every client-to-runtime fixture of the fixtures manifest is replayed on a
    fresh session and the answer compared with the manifest (error code, details.field,
    whether the session stays open). The exit status is 1 when any MUST check fails, or a
    fixture disagrees without being in the --baseline file, or a baseline entry is stale;
    2 on a usage mistake; 0 otherwise. Failed SHOULD and wire-decision checks are reported
    but do not change it. The kit assumes the demo agents (arcp serve --demo) and skips
    checks whose agent or feature is not offered.
    """
    manifest = None if no_fixtures else open_manifest(manifest_path)
    baseline = None if no_fixtures else load_baseline(baseline_path, write_baseline)
    report, replay = asyncio.run(_run_runtime(url, token, other_token, timeout, manifest))
    if replay is not None and manifest is not None:
        replay.baseline = baseline
        name = f"{report.runtime.get('name', '')} {report.runtime.get('version', '')}".strip()
        replay.subject["runtime"] = name
        settle_baseline(
            replay, baseline_path, write_baseline, name or url, manifest.protocol_version
        )
    if as_json:
        doc = report.to_json()
        if replay is not None:
            doc["fixtures"] = replay.to_json()
        click.echo(json.dumps(doc, indent=2))
    else:
        _print(report)
        if replay is not None:
            print_fixture_report(replay, "Fixtures manifest (client-to-runtime):", quiet=True)
    failed = report.exit_code != 0 or (replay is not None and not replay.ok)
    raise SystemExit(1 if failed else 0)


async def _run_runtime(
    url: str, token: str, other_token: str | None, wait: float, manifest: Manifest | None
) -> tuple[Report, FixtureReport | None]:
    report = await run_conformance(url, token=token, other_token=other_token, frame_timeout=wait)
    if manifest is None:
        return report, None
    return report, await replay_manifest(url, token, manifest, frame_timeout=wait)


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


@conformance.command(
    "client",
    context_settings={"ignore_unknown_options": True},
    short_help="Check a client program against scripted runtimes.",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option(
    "--limit",
    default=30.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds a scenario may take before the client counts as hung.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable report.")
def client(command: tuple[str, ...], limit: float, as_json: bool) -> None:
    """Run the client program COMMAND against a scripted runtime in each scenario (drop and
    resume, gap, heartbeat loss, refused submit, slow answers) and report the obligations it
    meets. Put COMMAND after --. docs/conformance.md describes what the program must do.
    Exit status 1 when a MUST scenario fails."""
    from arcp.conformance.client_check import run_client_conformance

    results = asyncio.run(run_client_conformance(list(command), limit=limit))
    failed_must = [
        r for r in results if r.outcome is Outcome.FAIL and r.scenario.level is Level.MUST
    ]
    if as_json:
        report: dict[str, Any] = {
            "command": list(command),
            "results": [r.to_json() for r in results],
        }
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(f"ARCP client conformance: {' '.join(command)}")
        for r in results:
            word = r.outcome.value.upper()
            styled = click.style(word, fg=_COLOURS[r.outcome], bold=True)
            line = f"  {styled} {r.scenario.level.value:<13} {r.scenario.section:<11} {r.scenario.title}"
            click.echo(line + (f": {r.detail}" if r.detail else ""))
        passed = sum(r.outcome is Outcome.PASS for r in results)
        verdict = "FAIL" if failed_must else "PASS"
        click.echo(f"{passed}/{len(results)} passed ({len(failed_must)} MUST failed) -> {verdict}")
    raise SystemExit(1 if failed_must else 0)


conformance.add_command(fixtures)
