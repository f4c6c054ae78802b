"""``arcp conformance fixtures -- COMMAND``: feed the fixtures manifest to another SDK's decoder
(docs/fixture-runner.md), and the baseline handling shared with ``arcp conformance URL``.

Exit status of the fixture runs: 0 when every fixture agrees or every disagreement is in the
baseline and no baseline entry is stale; 1 on a new disagreement or a stale entry; 2 on a
usage mistake (unreadable manifest or baseline included); 3 when the decoder cannot be run
to the end (does not start, exits, times out or answers out of protocol).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from arcp.conformance.baseline import Baseline, BaselineError
from arcp.conformance.fixture_report import FixtureReport
from arcp.conformance.fixture_runner import ROLES, FixtureRunError, run_decoder
from arcp.conformance.manifest import Manifest, ManifestError, load_manifest

_Command = TypeVar("_Command", bound=Callable[..., Any])

__all__ = [
    "EXIT_DECODER",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "fixtures",
    "load_baseline",
    "manifest_options",
    "open_manifest",
    "print_fixture_report",
    "settle_baseline",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DECODER = 0, 1, 2, 3

_WORDS = {
    "AGREE": "green",
    "KNOWN": "yellow",
    "SKIP": "yellow",
    "NEW": "red",
    "STALE": "red",
    "DISAGREE": "red",
}


def _fail(message: str, code: int) -> SystemExit:
    click.echo(f"error: {message}", err=True)
    return SystemExit(code)


def open_manifest(path: Path | None) -> Manifest:
    """The manifest at ``path`` (or the default); exits 2 with a message when unreadable."""
    try:
        return load_manifest(path)
    except ManifestError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None


def load_baseline(path: Path | None, write: bool) -> Baseline | None:
    """The baseline to judge against (None when writing one or none is given); exits 2
    with a message when ``--write-baseline`` lacks ``--baseline`` or the file is unreadable."""
    if write and path is None:
        raise _fail("--write-baseline needs --baseline FILE (where to write it)", EXIT_USAGE)
    if path is None or write:
        return None
    try:
        return Baseline.read(path)
    except BaselineError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None


def settle_baseline(
    report: FixtureReport, path: Path | None, write: bool, subject: str, protocol: str
) -> None:
    """Write the run's disagreements as the new baseline when asked (then judge against it)."""
    if not write or path is None:
        return
    baseline = report.new_baseline(subject, protocol)
    try:
        baseline.write(path)
    except BaselineError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    report.baseline = baseline
    click.echo(f"wrote {len(baseline.expected_failures)} expected failures to {path}", err=True)


def print_fixture_report(report: FixtureReport, title: str, *, quiet: bool) -> None:
    """The agreement table (only the rows that are not plain agreements with ``quiet``)."""
    click.echo(title)
    for line in report.lines(only_problems=quiet):
        word = line.split(maxsplit=1)[0] if line.startswith("  ") and line[2] != " " else ""
        if word in _WORDS:
            line = line.replace(word, click.style(word, fg=_WORDS[word], bold=True), 1)
        click.echo(line)
    verdict = "PASS" if report.ok else "FAIL"
    click.echo(f"{report.summary()} -> {verdict}")


def manifest_options(command: _Command) -> _Command:
    """``--manifest``, ``--baseline`` and ``--write-baseline``, shared by the fixture runs."""
    for option in reversed(
        (
            click.option(
                "--manifest",
                "manifest_path",
                type=click.Path(path_type=Path, dir_okay=False),
                default=None,
                help="The fixtures manifest (default: $ARCP_FIXTURES_MANIFEST, else this SDK's spec/).",
            ),
            click.option(
                "--baseline",
                "baseline_path",
                type=click.Path(path_type=Path, dir_okay=False),
                default=None,
                help="Expected-failures file: listed disagreements are tolerated, stale entries fail.",
            ),
            click.option(
                "--write-baseline",
                is_flag=True,
                help="Write this run's disagreements to the --baseline file.",
            ),
        )
    ):
        command = option(command)
    return command


@click.command(
    "fixtures",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    short_help="Check another SDK's decoder against the fixtures manifest.",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@manifest_options
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(ROLES),
    help="Only feed the fixtures of this role (repeatable; default: every role the decoder names).",
)
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.05),
    help="Seconds the decoder may take to answer one fixture.",
)
@click.option(
    "--start-timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0.05),
    help="Seconds the decoder may take to start and answer the hello.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable report.")
@click.option("-q", "--quiet", is_flag=True, help="List only the fixtures that do not agree.")
def fixtures(
    command: tuple[str, ...],
    manifest_path: Path | None,
    roles: tuple[str, ...],
    baseline_path: Path | None,
    write_baseline: bool,
    timeout: float,
    start_timeout: float,
    as_json: bool,
    quiet: bool,
) -> None:
    """Run the decoder COMMAND (put it after --) and feed it, over the NDJSON protocol of
    docs/fixture-runner.md, every fixture of the manifest for the roles it decodes as; report
    whether it agrees with the manifest, fixture by fixture.

    Exit status: 0 all agree (or only baseline-listed disagreements), 1 a new disagreement or
    a stale baseline entry, 2 a usage mistake, 3 the decoder failed the protocol.
    """
    manifest = open_manifest(manifest_path)
    baseline = load_baseline(baseline_path, write_baseline)
    try:
        report = asyncio.run(
            run_decoder(
                list(command),
                manifest,
                roles=roles or None,
                answer_wait=timeout,
                start_wait=start_timeout,
            )
        )
    except FixtureRunError as exc:
        raise _fail(str(exc), EXIT_DECODER) from None
    report.baseline = baseline
    name = f"{report.subject['name']} {report.subject['version']}".strip()
    settle_baseline(report, baseline_path, write_baseline, name, manifest.protocol_version)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        print_fixture_report(report, f"ARCP fixtures: {name} ({' '.join(command)})", quiet=quiet)
    raise SystemExit(EXIT_OK if report.ok else EXIT_FAILED)
