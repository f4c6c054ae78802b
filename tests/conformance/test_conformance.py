"""The conformance kit against our runtime (everything required passes) and against a broken
runtime (the kit notices, and the CLI exits non-zero)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from arcp.cli.main import cli
from arcp.conformance import (
    CheckResult,
    CheckSpec,
    Level,
    Outcome,
    Report,
    all_checks,
    run_conformance,
)

from .conftest import ALICE, BOB

# Checks our runtime cannot exercise with the demo agents registered here, and why.
EXPECTED_SKIPS = {
    "9.6-budget-exhausted": "needs the 'costly' demo agent",
    "12-never-retryable": "only observable once a BUDGET_EXHAUSTED / LEASE_EXPIRED occurs",
}
# SHOULD checks our runtime is known to fail (none today).
EXPECTED_SHOULD_FAILURES: dict[str, str] = {}


async def test_our_runtime_passes_every_must_and_wire_decision(runtime_url: str) -> None:
    report = await run_conformance(runtime_url, token=ALICE, other_token=BOB, frame_timeout=5)
    print(report.table())
    assert [r.spec.id for r in report.results] == [c.id for c in all_checks()]
    bad = [
        f"{r.spec.id}: {r.observed}"
        for r in report.results
        if r.spec.level in (Level.MUST, Level.WIRE) and r.outcome is Outcome.FAIL
    ]
    assert not bad
    skipped = {r.spec.id for r in report.results if r.outcome is Outcome.SKIP}
    assert skipped <= set(EXPECTED_SKIPS), skipped
    should = {r.spec.id for r in report.failed(Level.SHOULD)}
    assert should == set(EXPECTED_SHOULD_FAILURES)
    assert report.ok and report.exit_code == 0


async def test_without_other_token_cross_principal_checks_skip(runtime_url: str) -> None:
    report = await run_conformance(runtime_url, token=ALICE, frame_timeout=5)
    outcome = {r.spec.id: r for r in report.results}
    for cid in ("6.6-principal-isolation", "7.6-other-principal"):
        assert outcome[cid].outcome is Outcome.SKIP
        assert "--other-token" in outcome[cid].observed
    assert report.ok


def test_cli_against_arcp_serve(served_url: str) -> None:
    args = ["conformance", served_url, "--token", ALICE, "--other-token", BOB]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "§6.3" in result.output and "6.3-resume-replay" in result.output
    lines = result.output.strip().splitlines()
    checks = next(line for line in lines if "MUST failed" in line)
    assert " 0 failed" in checks and "-> PASS" in checks
    assert lines[-1].startswith("78 fixtures: 78 agree") or "0 new" in lines[-1]
    assert lines[-1].endswith("-> PASS")

    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["ok"] is True and report["summary"]["must_failed"] == 0
    assert {c["id"] for c in report["checks"]} == {c.id for c in all_checks()}
    # The manifest replay: every client-to-runtime fixture agrees, none skipped (--demo
    # offers model.use and provisioned_credentials).
    fixtures = report["fixtures"]
    assert fixtures["ok"] is True
    assert fixtures["summary"]["agree"] == fixtures["summary"]["fixtures"] > 0
    assert fixtures["summary"]["skipped"] == 0


def test_cli_fails_a_broken_runtime(broken_url: str) -> None:
    args = ["conformance", broken_url, "--token", "whatever", "--timeout", "0.3", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    outcome = {c["id"]: c for c in report["checks"]}
    for cid in (
        "6.2-welcome-fields",  # no resume_token
        "6.1-bad-token",  # welcomes any token
        "5-unknown-fields",  # never accepts a job
        "7.1-accepted-lease",
        "7.2-idempotent",
        "7.5-agent-unavailable",  # never answers a submit at all
        "wd-arcp-major",  # its answer to a listing is not INVALID_REQUEST
        "5-envelope-fields",  # ... and lacks arcp and id,
        "wd-no-seq-on-control",  # carries an event_seq,
        "12-error-shape",  # has no retryable
        "12-known-codes",  # and an invented code
    ):
        assert outcome[cid]["outcome"] == "fail", outcome[cid]
    assert "resume_token" in outcome["6.2-welcome-fields"]["observed"]
    assert "no answer" in outcome["5-unknown-fields"]["observed"]
    assert report["ok"] is False and report["summary"]["must_failed"] > 0
    # It answers no frame with an error, so every reject fixture of the manifest disagrees.
    fixtures = {f["id"]: f for f in report["fixtures"]["fixtures"]}
    assert report["fixtures"]["ok"] is False
    assert fixtures["unknown-type"]["status"] == "disagree"
    assert "no session.error answered it" in fixtures["unknown-type"]["reason"]


def test_only_must_failures_decide_the_exit_status() -> None:
    must, should, wire = (
        CheckSpec(f"x-{level.value}", "§5", level, "t")
        for level in (Level.MUST, Level.SHOULD, Level.WIRE)
    )
    report = Report(
        "ws://x", [CheckResult(should, Outcome.FAIL, ""), CheckResult(wire, Outcome.FAIL, "")]
    )
    assert report.ok and report.exit_code == 0
    assert report.summary() == "0 passed, 2 failed, 0 skipped"
    report.results.append(CheckResult(must, Outcome.FAIL, "observed"))
    assert not report.ok and report.exit_code == 1
    assert report.to_json()["summary"]["must_failed"] == 1
