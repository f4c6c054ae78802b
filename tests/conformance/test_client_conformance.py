"""Client conformance (issue #14.5): ``arcp conformance client -- COMMAND`` puts a client
program through scripted scenarios (§6.2-§6.4, §7.5, §8.3, §12); our own client is its first
subject, and a client that does not do the work fails."""

from __future__ import annotations

import json
import sys

from click.testing import CliRunner

from arcp.cli.main import cli
from arcp.conformance.client_check import SCENARIOS, subject_command


def test_our_client_meets_every_client_obligation() -> None:
    """Every scenario passes for arcp.client (the subject program)."""
    args = ["conformance", "client", "--json", "--", *subject_command()]
    result = CliRunner().invoke(cli, args)
    report = json.loads(result.output)
    failed = [r for r in report["results"] if r["outcome"] != "pass"]
    assert failed == [] and result.exit_code == 0
    assert {r["id"] for r in report["results"]} == {s.id for s in SCENARIOS}


def test_a_client_that_does_nothing_fails() -> None:
    """A program that never connects fails every scenario, and the run exits 1."""
    program = [sys.executable, "-c", "print('{}')"]
    result = CliRunner().invoke(cli, ["conformance", "client", "--", *program])
    assert result.exit_code == 1, result.output
    assert result.output.count("FAIL") >= len(SCENARIOS)
    assert "MUST failed) -> FAIL" in result.output


def test_a_client_that_hangs_is_cut_off() -> None:
    """A program that never ends is killed at --limit and fails, never hangs the run."""
    program = [sys.executable, "-c", "import time; time.sleep(60)"]
    result = CliRunner().invoke(
        cli, ["conformance", "client", "--limit", "1", "--json", "--", *program]
    )
    report = json.loads(result.output)
    assert result.exit_code == 1
    assert all("no outcome within 1 s" in r["detail"] for r in report["results"])
