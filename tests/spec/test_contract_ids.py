"""Every part of the contract names the same protocol version and revision (issue 16, item 3).

The schema's ``$id`` (``urn:arcp:schema:<version>:r<n>``) is the one place the revision is
written; the generated files follow it and the fixtures manifest repeats it. See
``spec/CHANGELOG.md``, "Versions and revisions".
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from arcp_gen import PROTOCOL_VERSION
from tests.spec._fixtures import META_SCHEMA_PATH, SPEC_DIR, load_manifest, load_schema

_SCHEMA_ID = re.compile(r"^urn:arcp:schema:(?P<version>[0-9]+\.[0-9]+):r(?P<revision>[1-9][0-9]*)$")


def _json(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _version_and_revision() -> tuple[str, int]:
    schema = load_schema()
    found = _SCHEMA_ID.match(schema["$id"])
    assert found is not None, schema["$id"]
    assert found["version"] == schema["x-protocol-version"] == PROTOCOL_VERSION
    return found["version"], int(found["revision"])


def test_every_id_names_the_schemas_version_and_revision() -> None:
    version, revision = _version_and_revision()
    (metamodel_path,) = SPEC_DIR.glob("arcp-*.metamodel.json")
    metamodel = _json(metamodel_path)
    assert metamodel["$id"] == f"urn:arcp:metamodel:{version}:r{revision}"
    assert (metamodel["protocol_version"], metamodel["revision"]) == (version, revision)
    assert metamodel["schema"]["id"] == f"urn:arcp:schema:{version}:r{revision}"
    assert _json(META_SCHEMA_PATH)["$id"] == f"urn:arcp:meta-schema:{version}:r{revision}"
    manifest = load_manifest()
    assert manifest["$id"] == f"urn:arcp:fixtures:{version}:r{revision}"
    assert manifest["protocol_version"] == version


def test_the_npm_package_version_is_version_dot_revision() -> None:
    """Single-sourced: ``python -m codegen`` writes ``spec/package.json`` from the ``$id``."""
    version, revision = _version_and_revision()
    package = _json(SPEC_DIR / "package.json")
    assert package["name"] == "@arcp/contract"
    assert package["version"] == f"{version}.{revision}"
    assert package["arcp"] == {
        "protocol_version": version,
        "revision": revision,
        "schema_id": f"urn:arcp:schema:{version}:r{revision}",
    }
    named = {f"arcp-{version}.{part}.json" for part in ("schema", "meta-schema", "metamodel")}
    assert named <= set(package["files"])
    assert {"fixtures/", "typescript/", "SHA256SUMS"} <= set(package["files"])
