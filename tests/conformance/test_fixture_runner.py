"""``arcp conformance fixtures -- COMMAND`` (docs/fixture-runner.md): the fixtures manifest fed
to a decoder child process over NDJSON, judged fixture by fixture, with an expected-failures
baseline (§5 fixtures manifest; issue 16 item 4).

Our own adapter (``python -m arcp.conformance.fixture_decoder``) agrees on every fixture; a
deliberately wrong decoder (``peers/fake_decoder.py``) shows the runner fails, and a broken
one that every failure mode of the child ends in a message and exit status 3.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from arcp.cli.main import cli
from arcp.conformance.baseline import Baseline
from arcp.conformance.manifest import load_manifest

FAKE = str(Path(__file__).resolve().parent / "peers" / "fake_decoder.py")
OURS = [sys.executable, "-m", "arcp.conformance.fixture_decoder"]
MANIFEST = load_manifest()
VALID_ID = "job.cancel"  # a client-to-runtime `accept` fixture
INVALID_ID = "unknown-type"  # a client-to-runtime `reject` fixture


def _run(*args: str, decoder: list[str]) -> Result:
    return CliRunner().invoke(cli, ["conformance", "fixtures", *args, "--", *decoder])


def _json(result: Result) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _fake(mode: str, *ids: str) -> list[str]:
    return [sys.executable, FAKE, mode, *ids]


def test_our_decoder_agrees_with_every_fixture() -> None:
    """Every fixture of both roles (accept, receive-only, accept-forward, reject) agrees."""
    result = _run("--json", decoder=OURS)
    assert result.exit_code == 0, result.output
    report = _json(result)
    assert report["ok"] is True
    assert report["subject"]["name"] == "arcp-sdk"
    assert report["summary"]["fixtures"] == len(MANIFEST.fixtures)
    assert report["summary"]["agree"] == len(MANIFEST.fixtures)
    forward = [f for f in report["fixtures"] if f["id"].startswith("fwd-")]
    assert forward and all("unknown" in f["observed"] for f in forward)


def test_the_table_lists_every_fixture_and_the_summary() -> None:
    result = _run(decoder=OURS)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert sum(1 for line in lines if line.startswith("  AGREE")) == len(MANIFEST.fixtures)
    assert lines[-1].endswith("-> PASS") and "0 new" in lines[-1]


def test_a_role_limits_the_fixtures_fed() -> None:
    result = _run("--json", "--role", "runtime", decoder=OURS)
    assert result.exit_code == 0, result.output
    receivers = {f["receiver"] for f in _json(result)["fixtures"]}
    assert receivers == {"runtime"}
    result = _run("--json", decoder=_fake("runtime-only"))
    assert result.exit_code == 0, result.output
    assert len(_json(result)["fixtures"]) == len(MANIFEST.for_receiver("runtime"))


def test_a_wrong_decoder_fails_the_run() -> None:
    """A decoder that reads every frame as session.ping disagrees on every accepted fixture."""
    result = _run("--json", decoder=_fake("mistype"))
    assert result.exit_code == 1, result.output
    report = _json(result)
    wrong = {f["id"]: f for f in report["fixtures"] if f["status"] == "disagree"}
    accepted = {
        f.id for f in MANIFEST.fixtures if f.accepted and f.outcome["type"] != "session.ping"
    }
    assert set(wrong) == accepted
    assert all(f["baseline"] == "regression" for f in wrong.values())
    assert "read it as type 'session.ping'" in wrong[VALID_ID]["reason"]


def test_flipped_verdicts_are_caught_both_ways() -> None:
    result = _run("--json", decoder=_fake("flip", VALID_ID, INVALID_ID))
    assert result.exit_code == 1
    report = _json(result)
    assert set(report["regressions"]) == {VALID_ID, INVALID_ID}
    reasons = {f["id"]: f["reason"] for f in report["fixtures"] if f["reason"]}
    assert reasons[VALID_ID].startswith("refused it")
    assert reasons[INVALID_ID].startswith("accepted it")


def test_baseline_tolerates_known_failures_and_fails_on_regressions_and_stale(
    tmp_path: Path,
) -> None:
    baseline = tmp_path / "baseline.json"
    wrote = _run("--baseline", str(baseline), "--write-baseline", decoder=_fake("flip", VALID_ID))
    assert wrote.exit_code == 0, wrote.output
    saved = Baseline.read(baseline)
    assert set(saved.expected_failures) == {VALID_ID}
    assert saved.subject == "fake-flip 0"

    same = _run("--baseline", str(baseline), decoder=_fake("flip", VALID_ID))
    assert same.exit_code == 0, same.output
    assert "1 tolerated by the baseline, 0 new" in same.stdout
    assert f"  KNOWN    runtime  {VALID_ID}" in same.stdout

    # A new disagreement is a regression, even with the old one still there.
    worse = _run("--json", "--baseline", str(baseline), decoder=_fake("flip", VALID_ID, INVALID_ID))
    assert worse.exit_code == 1
    assert _json(worse)["regressions"] == [INVALID_ID]

    # The decoder got fixed: the entry is stale and fails the run until it is removed.
    fixed = _run("--json", "--baseline", str(baseline), decoder=OURS)
    assert fixed.exit_code == 1
    report = _json(fixed)
    assert report["stale"] == [VALID_ID] and report["regressions"] == []
    assert next(f for f in report["fixtures"] if f["id"] == VALID_ID)["baseline"] == "stale"


def test_an_entry_for_a_fixture_the_manifest_lacks_is_stale(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    Baseline({"no-such-fixture": "gone"}).write(baseline)
    result = _run("--baseline", str(baseline), decoder=OURS)
    assert result.exit_code == 1
    assert "STALE    -        no-such-fixture" in result.stdout
    assert "1 stale baseline entries -> FAIL" in result.stdout


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("crash", "exited before answering"),
        ("garbage", "is not a JSON line"),
        ("wrong-id", "answered id 'not-"),
        ("bad-hello", "speaks arcp_fixtures 99"),
        ("silent", "no answer for fixture"),
    ],
)
def test_a_broken_decoder_ends_in_a_message_not_a_traceback(mode: str, message: str) -> None:
    result = _run("--timeout", "1", decoder=_fake(mode))
    assert result.exit_code == 3, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    if mode == "crash":
        assert "exit status 7" in result.stderr
        assert "giving up on purpose" in result.stderr


def test_a_decoder_that_cannot_start() -> None:
    result = _run(decoder=["/nonexistent/decoder-binary"])
    assert result.exit_code == 3
    assert "cannot start the decoder" in result.stderr


def test_a_silent_hello_times_out() -> None:
    silent = [sys.executable, "-c", "import time; time.sleep(30)"]
    result = _run("--start-timeout", "0.5", decoder=silent)
    assert result.exit_code == 3
    assert "no answer for the hello within 0.5 s" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--write-baseline"], "--write-baseline needs --baseline FILE"),
        (["--baseline", "/nonexistent/b.json"], "no baseline file at"),
        (["--manifest", "/nonexistent/manifest.json"], "no fixtures manifest at"),
    ],
)
def test_usage_mistakes_exit_2_with_a_message(args: list[str], message: str) -> None:
    result = _run(*args, decoder=OURS)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_malformed_baseline_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "b.json"
    bad.write_text('{"expected_failures": []}')
    result = _run("--baseline", str(bad), decoder=OURS)
    assert result.exit_code == 2
    assert "is not a version 1 baseline file" in result.stderr


def test_no_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["conformance", "fixtures"])
    assert result.exit_code == 2
    assert "Missing argument" in result.output


def _small_manifest(tmp_path: Path, *ids: str) -> Path:
    """A manifest of just ``ids`` (their files copied), with an ``$id`` of its own."""
    doc = json.loads(MANIFEST.path.read_text(encoding="utf-8"))
    entries = [e for e in doc["fixtures"] if e["id"] in ids]
    for entry in entries:
        target = tmp_path / entry["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((MANIFEST.path.parent / entry["file"]).read_bytes())
    small = {**doc, "$id": "urn:example:some-other-revision", "fixtures": entries}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(small), encoding="utf-8")
    return path


def test_any_manifest_is_read_through_its_documented_fields(tmp_path: Path) -> None:
    path = _small_manifest(tmp_path, VALID_ID, INVALID_ID)
    result = _run("--json", "--manifest", str(path), decoder=OURS)
    assert result.exit_code == 0, result.output
    report = _json(result)
    assert [f["id"] for f in report["fixtures"]] == [VALID_ID, INVALID_ID]
    assert report["manifest"] == str(path)


def test_an_unreadable_manifest_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    result = _run("--manifest", str(empty), decoder=OURS)
    assert result.exit_code == 2
    assert "is not a fixtures manifest" in result.stderr
    path = _small_manifest(tmp_path, VALID_ID)
    (tmp_path / "valid" / f"{VALID_ID}.json").unlink()
    result = _run("--manifest", str(path), decoder=OURS)
    assert result.exit_code == 2
    assert f"entry {VALID_ID!r}: cannot read" in result.stderr


def test_options_after_the_command_belong_to_the_command() -> None:
    """Everything after the first word of COMMAND is the decoder's, even without --."""
    args = ["conformance", "fixtures", "--json", *_fake("flip", "--json")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output  # `--json` is a fixture id for the fake
    assert _json(result)["subject"]["name"] == "fake-flip"
