"""``spec/`` is an npm-packable data package, ``@arcp/contract`` (issue 16, item 3).

``npm pack`` runs on a copy of ``spec/`` into a temporary folder (the repository is never
written to); the tarball must hold every pinned contract file, byte for byte, under the
version ``spec/package.json`` carries (``<major>.<minor>.<revision>``, generated from the
schema's ``$id``). ``typescript/`` is listed in ``files`` before anything is generated there:
packing works without it and includes it once present. Without npm the test is skipped
locally and fails under CI (``CI`` set).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from arcp import contract

SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI"):
            pytest.fail("npm is needed to pack the contract package and is missing under CI")
        pytest.skip("npm is not installed")
    return npm


def _pack(npm: str, spec: Path, out: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [npm, "pack", "--json", "--pack-destination", str(out)],
        cwd=spec,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (report,) = json.loads(proc.stdout)
    members: dict[str, bytes] = {}
    with tarfile.open(out / report["filename"]) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member)
            if handle is not None:
                members[member.name.removeprefix("package/")] = handle.read()
    return report, members


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, copy, ignore=shutil.ignore_patterns("node_modules", "*.tgz"))
    return copy


def test_npm_pack_holds_the_contract(spec_copy: Path, tmp_path: Path) -> None:
    npm = _npm()
    report, members = _pack(npm, spec_copy, tmp_path)
    version = contract.version()
    assert (report["name"], report["version"]) == ("@arcp/contract", version.npm_version)
    bindings = {
        p.relative_to(SPEC_DIR).as_posix()
        for p in (SPEC_DIR / "typescript").rglob("*")
        if p.is_file()
    }
    extra = {"SHA256SUMS", "CHANGELOG.md", "README.md", "package.json"}
    expected = set(contract.sha256sums()) | extra | bindings
    assert set(members) == expected
    for rel in expected:
        assert members[rel] == (SPEC_DIR / rel).read_bytes(), rel


def test_npm_pack_takes_typescript_bindings_when_present(spec_copy: Path, tmp_path: Path) -> None:
    """``files`` lists ``typescript/``: without the folder packing works, with it the folder
    is in the tarball."""
    npm = _npm()
    shutil.rmtree(spec_copy / "typescript", ignore_errors=True)
    _, without = _pack(npm, spec_copy, tmp_path / "without")
    assert not [name for name in without if name.startswith("typescript/")]
    bindings = spec_copy / "typescript" / "probe.d.ts"
    bindings.parent.mkdir()
    bindings.write_text("export type Probe = 1;\n", encoding="utf-8")
    _, members = _pack(npm, spec_copy, tmp_path / "with")
    assert members["typescript/probe.d.ts"] == b"export type Probe = 1;\n"
