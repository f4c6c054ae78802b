"""The official Python SDK judged against the fixtures manifest (docs/interop.md,
docs/fixture-runner.md): its models by the fixture runner (``peers/official_fixture_decoder.py``
runs in ``.interop-venv`` and reads every fixture, in both roles), and its runtime by the
manifest replay of ``arcp conformance URL``.

Its disagreements with the manifest are the committed baseline
``official-fixtures.baseline.json``: the run fails on a new disagreement (a regression of
theirs, or a manifest change that needs a look) and on a stale entry (they fixed something;
drop it from the file and from the table in docs/interop.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from arcp.cli.main import cli
from arcp.conformance.baseline import Baseline
from arcp.conformance.fixture_replay import replay_manifest
from arcp.conformance.manifest import load_manifest

from ._harness import OFFICIAL_PACKAGE, OFFICIAL_VERSION, PEERS, TOKEN, Peer

BASELINE = Path(__file__).resolve().parent / "official-fixtures.baseline.json"


def test_official_decoder_matches_its_baseline(official_python: Path) -> None:
    decoder = [str(official_python), str(PEERS / "official_fixture_decoder.py")]
    args = ["conformance", "fixtures", "--json", "--baseline", str(BASELINE), "--", *decoder]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["subject"]["name"] == OFFICIAL_PACKAGE
    assert report["subject"]["version"] == OFFICIAL_VERSION
    assert report["regressions"] == [] and report["stale"] == []
    known = Baseline.read(BASELINE)
    assert known.subject == f"{OFFICIAL_PACKAGE} {OFFICIAL_VERSION}"
    assert report["summary"]["tolerated"] == len(known.expected_failures)
    # The baseline is a record of real disagreements, not a blanket: most fixtures agree.
    assert report["summary"]["agree"] > report["summary"]["disagree"]


RUNTIME_BASELINE = Path(__file__).resolve().parent / "official-runtime-fixtures.baseline.json"


async def test_official_runtime_replay_matches_its_baseline(official_runtime: Peer) -> None:
    """The manifest replay of ``arcp conformance URL`` against the official runtime: its
    disagreements are exactly ``official-runtime-fixtures.baseline.json`` (fixtures needing
    ``model.use``, which it does not offer, are skipped)."""
    report = await replay_manifest(official_runtime.url, TOKEN, load_manifest(), frame_timeout=5)
    report.baseline = Baseline.read(RUNTIME_BASELINE)
    judged = report.judgement()
    assert (judged.regressions, judged.stale) == ((), ()), report.lines(only_problems=True)
    assert report.count("agree") > 0
    skipped = {r.fixture.feature for r in report.results if r.status == "skip"}
    assert skipped == {"model.use"}
