"""``spec/SHA256SUMS`` pins the schema and every fixture for vendoring SDKs (§5)."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from arcp_gen.metamodel import PROTOCOL_VERSION
from codegen.generate import SCHEMA_PATH
from codegen.manifest import MANIFEST_PATH, SPEC_DIR, check_manifest, manifest_paths, write_manifest

_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)$")


def test_manifest_is_current() -> None:
    """§5: the committed manifest matches the files (`python -m codegen` rewrites it)."""
    assert check_manifest() == ""


def test_manifest_lines_are_sha256sum_format_sorted_and_complete() -> None:
    """§5: one `<hex>  <path>` line per schema/metamodel/bindings/fixture file, sorted,
    digests correct."""
    lines = MANIFEST_PATH.read_text(encoding="utf-8").splitlines()
    parsed = [_LINE.match(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed, strict=True) if not m]
    paths = [m.group(2) for m in parsed if m]
    assert paths == sorted(paths) == manifest_paths()
    assert SCHEMA_PATH.name in paths
    assert f"arcp-{PROTOCOL_VERSION}.metamodel.json" in paths
    assert "typescript/arcp.ts" in paths
    assert any(p.startswith("fixtures/valid/") for p in paths)
    assert any(p.startswith("fixtures/invalid/") for p in paths)
    for m in parsed:
        assert m is not None
        digest = hashlib.sha256((SPEC_DIR / m.group(2)).read_bytes()).hexdigest()
        assert digest == m.group(1), m.group(2)


def test_check_manifest_reports_a_changed_fixture(tmp_path: Path) -> None:
    """§5: editing a pinned file makes the drift check fail with a diff naming it."""
    copy = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, copy)
    assert check_manifest(copy) == ""
    victim = copy / manifest_paths(copy)[-1]
    victim.write_text(victim.read_text(encoding="utf-8") + " ", encoding="utf-8")
    diff = check_manifest(copy)
    assert manifest_paths(copy)[-1] in diff
    write_manifest(copy)
    assert check_manifest(copy) == ""


def test_check_manifest_reports_a_missing_manifest(tmp_path: Path) -> None:
    """§5: with no manifest at all the check fails rather than passing silently."""
    copy = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, copy)
    (copy / "SHA256SUMS").unlink()
    assert SCHEMA_PATH.name in check_manifest(copy)
