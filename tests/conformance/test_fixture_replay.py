"""``arcp conformance URL`` replays the manifest's client-to-runtime fixtures against a live
runtime over a real WebSocket and checks the outcome the manifest names (§5, §12: error code,
``details.field``, whether the session stays open), with the expected-failures baseline
(issue 16 item 5).
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from arcp.cli.main import cli
from arcp.conformance.baseline import Baseline
from arcp.conformance.fixture_replay import replay_manifest
from arcp.conformance.manifest import load_manifest

from .conftest import ALICE

MANIFEST = load_manifest()


async def test_our_runtime_agrees_with_every_client_to_runtime_fixture(served_url: str) -> None:
    """``arcp serve --demo`` (a child process) answers every fixture as the manifest says."""
    report = await replay_manifest(served_url, ALICE, MANIFEST, frame_timeout=5)
    print("\n".join(report.lines(only_problems=True)))
    wanted = MANIFEST.for_receiver("runtime")
    assert [r.fixture.id for r in report.results] == [f.id for f in wanted]
    assert [(r.fixture.id, r.disagreement) for r in report.results if r.status != "agree"] == []
    assert report.ok
    closes = [r for r in report.results if not r.fixture.outcome.get("session_stays_open", True)]
    assert closes and all("session closed" in r.observed for r in closes)


def test_a_stale_runtime_baseline_entry_fails_the_cli(served_url: str, tmp_path: Path) -> None:
    """A listed fixture the runtime agrees with is stale: exit 1 though every check passed."""
    baseline = tmp_path / "runtime.baseline.json"
    Baseline({"unknown-type": "used to be refused without details.type"}).write(baseline)
    args = ["conformance", served_url, "--token", ALICE, "--baseline", str(baseline), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True  # the checks themselves all pass
    assert report["fixtures"]["stale"] == ["unknown-type"]
    assert report["fixtures"]["regressions"] == []


def test_runtime_fixture_options_are_checked_before_connecting() -> None:
    base = ["conformance", "ws://127.0.0.1:9/arcp", "--token", "t"]
    result = CliRunner().invoke(cli, [*base, "--write-baseline"])
    assert result.exit_code == 2
    assert "--write-baseline needs --baseline FILE" in result.stderr
    result = CliRunner().invoke(cli, [*base, "--manifest", "/nonexistent/m.json"])
    assert result.exit_code == 2
    assert "no fixtures manifest at /nonexistent/m.json" in result.stderr
