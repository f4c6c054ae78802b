"""An independent validator agrees with the fixtures manifest (§5): ajv, draft 2020-12, in its
default strict mode with no relaxation, ``discriminator: true``, full `date-time` format
assertion, and the schema's own keywords declared from the published meta-schema
(``spec/arcp-<version>.meta-schema.json``), never from a list in the test.

``tests/spec/ajv`` is a tiny Node project pinned by its ``package-lock.json``; the test runs
``npm ci`` there when ``node_modules`` is missing. Without Node the test is skipped locally
and fails under CI (``CI`` set) or under ``make check-spec`` (``ARCP_REQUIRE_AJV`` set).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.spec._fixtures import META_SCHEMA_PATH, SPEC_DIR, load_manifest

AJV_DIR = Path(__file__).resolve().parent / "ajv"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") or os.environ.get("ARCP_REQUIRE_AJV"):
        pytest.fail(f"ajv check cannot run under CI: {reason}")
    pytest.skip(reason)


def _ready() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node/npm not installed")
    assert node is not None and npm is not None
    if not (AJV_DIR / "node_modules" / "ajv").is_dir():
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=AJV_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0:
            _unavailable(f"npm ci failed in {AJV_DIR}:\n{proc.stdout}\n{proc.stderr}")
    return node


def _run(node: str, spec_dir: Path) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [node, "check.mjs", str(spec_dir)],
        cwd=AJV_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_ajv_strict_agrees_with_the_manifest_on_every_fixture() -> None:
    """Every accept / receive-only / accept-forward / reject verdict of the manifest (an
    accept-forward frame is one the schema refuses), and the manifest's own schema, hold
    under ajv as they do under Python jsonschema."""
    node = _ready()
    code, report = _run(node, SPEC_DIR)
    assert report["disagreements"] == [], report["disagreements"]
    assert code == 0
    assert report["checked"] == len(load_manifest()["fixtures"])
    assert report["options"] == dict.fromkeys(
        ("strict", "strictRequired", "strictTypes", "strictTuples", "discriminator"), True
    )
    # Declared from the meta-schema: all of its keywords but `discriminator`, which ajv
    # implements itself under its `discriminator` option.
    meta = json.loads(META_SCHEMA_PATH.read_text(encoding="utf-8"))
    assert report["keywords"] == [k for k in meta["properties"] if k != "discriminator"]


def test_ajv_checks_the_annotations_against_the_meta_schema(tmp_path: Path) -> None:
    """An annotation of the wrong shape deep in ``$defs`` (the meta-schema reaches it through
    2020-12's ``$dynamicRef``) is reported before anything is compiled."""
    node = _ready()
    copy = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, copy)
    (schema_path,) = copy.glob("arcp-*.schema.json")
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    schema["$defs"]["SessionPingMessage"]["x-direction"] = "sideways"
    schema_path.write_text(json.dumps(schema), encoding="utf-8")
    code, report = _run(node, copy)
    assert code == 1
    ((problem,),) = [d["errors"] for d in report["disagreements"] if d["id"] == "meta-schema"]
    assert problem["instancePath"] == "/$defs/SessionPingMessage/x-direction"


def test_ajv_check_reports_a_wrong_verdict(tmp_path: Path) -> None:
    """The check can fail: a manifest that calls a rejected frame acceptable is reported."""
    node = _ready()
    copy = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, copy)
    manifest_path = copy / "fixtures" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    victim = next(e for e in manifest["fixtures"] if e["id"] == "event-ts-impossible")
    victim["outcome"] = {"verdict": "accept", "type": "job.event", "kind": "log"}
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    code, report = _run(node, copy)
    assert code == 1
    assert [d["id"] for d in report["disagreements"]] == ["event-ts-impossible"]
