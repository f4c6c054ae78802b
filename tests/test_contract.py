"""``arcp.contract`` and the contract's changelog (issue 16, item 3).

In this checkout the module reads ``spec/``; ``tests/packaging/test_wheel.py`` reads the same
files out of an installed wheel.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from arcp import contract
from arcp_gen import PROTOCOL_VERSION, SCHEMA_SHA256

SPEC_DIR = Path(__file__).resolve().parents[1] / "spec"
_ENTRY = re.compile(r"^## (?P<version>[0-9]+\.[0-9]+) r(?P<revision>[0-9]+) \(", re.MULTILINE)
_DIGEST = re.compile(r"^SHA256SUMS sha256: `(?P<digest>[0-9a-f]{64})`$", re.MULTILINE)


def test_version_is_the_schemas_id() -> None:
    found = contract.version()
    assert found.protocol_version == PROTOCOL_VERSION
    assert found.schema_id == f"urn:arcp:schema:{PROTOCOL_VERSION}:r{found.revision}"
    assert found.npm_version == json.loads((SPEC_DIR / "package.json").read_bytes())["version"]


def test_the_module_reads_the_contract_files() -> None:
    raw = contract.read_bytes(f"arcp-{PROTOCOL_VERSION}.schema.json")
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256
    assert contract.schema() == json.loads(raw)
    assert contract.metamodel()["schema"]["sha256"] == SCHEMA_SHA256
    assert "x-secret" in contract.meta_schema()["properties"]
    entries = contract.manifest()["fixtures"]
    assert len(entries) > 100
    for entry in entries:
        assert (
            contract.fixture(entry["file"]) == (SPEC_DIR / "fixtures" / entry["file"]).read_bytes()
        )
    assert set(contract.sha256sums()) >= {
        "fixtures/manifest.json",
        f"arcp-{PROTOCOL_VERSION}.schema.json",
    }
    assert contract.verify() == []


def test_paths_stay_inside_the_contract() -> None:
    for bad in ("../pyproject.toml", "fixtures/../../README.md", "/etc/passwd"):
        with pytest.raises(ValueError, match="not a path inside"):
            contract.read_bytes(bad)
    with pytest.raises(FileNotFoundError):
        contract.fixture("valid/no-such-fixture.json")


def test_verify_names_a_tampered_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, copy)
    victim = next(iter(sorted((copy / "fixtures" / "valid").glob("*.json"))))
    victim.write_bytes(victim.read_bytes() + b" ")
    (copy / "fixtures" / "manifest.schema.json").unlink()
    monkeypatch.setattr(contract, "contract_dir", lambda: copy)
    assert contract.verify() == [
        "fixtures/manifest.schema.json",
        victim.relative_to(copy).as_posix(),
    ]


def test_the_changelog_records_the_current_revision() -> None:
    """spec/CHANGELOG.md, "Versions and revisions": the newest entry names the schema's version
    and revision and the digest of the current SHA256SUMS, so a change to any pinned file
    without a new revision (or, before a release, an updated digest) fails here."""
    text = (SPEC_DIR / "CHANGELOG.md").read_text(encoding="utf-8")
    entry = _ENTRY.search(text)
    assert entry is not None, "spec/CHANGELOG.md has no `## <version> r<n> (<date>)` entry"
    found = contract.version()
    assert (entry["version"], int(entry["revision"])) == (found.protocol_version, found.revision)
    digest = _DIGEST.search(text, entry.end())
    assert digest is not None, "the newest entry has no `SHA256SUMS sha256: `<hex>`` line"
    current = hashlib.sha256((SPEC_DIR / "SHA256SUMS").read_bytes()).hexdigest()
    assert digest["digest"] == current, (
        "the contract changed since the newest spec/CHANGELOG.md entry: add a revision "
        f"(bump r<n> in the schema's and the manifest's $id, `make generate`) and record it, "
        f"with `SHA256SUMS sha256: `{current}``"
    )
