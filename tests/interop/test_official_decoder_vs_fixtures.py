"""The official Python SDK's models judged by the fixture runner (docs/interop.md,
docs/fixture-runner.md): ``peers/official_fixture_decoder.py`` runs in ``.interop-venv`` and
reads every fixture of the manifest, in both roles.

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

from ._harness import OFFICIAL_PACKAGE, OFFICIAL_VERSION, PEERS

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
