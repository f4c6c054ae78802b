"""The drift gate covers the generated contract files beside the schema (issue 16, item 3):
``spec/arcp-<version>.meta-schema.json`` and ``spec/package.json``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from codegen.contract import check_contract, write_contract
from codegen.generate import SCHEMA_PATH


@pytest.fixture
def schema(tmp_path: Path) -> Path:
    """A copy of the schema with its generated contract files."""
    spec = tmp_path / "spec"
    spec.mkdir()
    for name in (SCHEMA_PATH.name, "package.json"):
        shutil.copyfile(SCHEMA_PATH.parent / name, spec / name)
    for meta in SCHEMA_PATH.parent.glob("arcp-*.meta-schema.json"):
        shutil.copyfile(meta, spec / meta.name)
    return spec / SCHEMA_PATH.name


def test_the_committed_files_are_current(schema: Path) -> None:
    assert check_contract(schema) == ""


def test_a_hand_edit_of_package_json_is_drift(schema: Path) -> None:
    package = schema.parent / "package.json"
    doc = json.loads(package.read_text(encoding="utf-8"))
    doc["version"] = "9.9.9"
    package.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    diff = check_contract(schema)
    assert '-  "version": "9.9.9",' in diff and "spec/package.json (from schema)" in diff


def test_a_revision_bump_without_generating_is_drift(schema: Path) -> None:
    doc = json.loads(schema.read_text(encoding="utf-8"))
    version = doc["x-protocol-version"]
    doc["$id"] = f"urn:arcp:schema:{version}:r7"
    schema.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    diff = check_contract(schema)
    assert f'+  "version": "{version}.7",' in diff
    assert f'+  "$id": "urn:arcp:meta-schema:{version}:r7",' in diff
    write_contract(schema)
    assert check_contract(schema) == ""


def test_another_versions_meta_schema_is_stray(schema: Path) -> None:
    stray = schema.parent / "arcp-0.9.meta-schema.json"
    stray.write_text("{}\n", encoding="utf-8")
    assert "stray file (not generated): spec/arcp-0.9.meta-schema.json" in check_contract(schema)
    write_contract(schema)
    assert not stray.exists()


def test_an_id_without_a_revision_is_refused(schema: Path) -> None:
    doc = json.loads(schema.read_text(encoding="utf-8"))
    doc["$id"] = f"urn:arcp:schema:{doc['x-protocol-version']}"
    schema.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError, match="r<revision>"):
        check_contract(schema)
