"""``spec/SHA256SUMS``: the pin list other SDKs vendor the schema and fixtures by.

The manifest is in ``sha256sum`` format (``<hex>  <path>``, two spaces, paths relative to
``spec/``) and lists the schema, its meta-schema, its generated metamodel and TypeScript
bindings and every fixture, sorted by path, so ``cd spec && sha256sum -c SHA256SUMS``
verifies a vendored copy.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path

__all__ = [
    "MANIFEST_PATH",
    "SPEC_DIR",
    "check_manifest",
    "manifest_paths",
    "render_manifest",
    "write_manifest",
]

SPEC_DIR = Path(__file__).resolve().parent.parent / "spec"
MANIFEST_PATH = SPEC_DIR / "SHA256SUMS"
_SCHEMA_GLOB = "*.schema.json"
_META_SCHEMA_GLOB = "*.meta-schema.json"
_METAMODEL_GLOB = "*.metamodel.json"
_FIXTURE_GLOB = "fixtures/**/*.json"
_TYPESCRIPT_GLOB = "typescript/*.ts"


def manifest_paths(spec_dir: Path = SPEC_DIR) -> list[str]:
    """Paths (relative to ``spec_dir``, ``/``-separated) the manifest covers, sorted."""
    found = [
        *spec_dir.glob(_SCHEMA_GLOB),
        *spec_dir.glob(_META_SCHEMA_GLOB),
        *spec_dir.glob(_METAMODEL_GLOB),
        *spec_dir.glob(_FIXTURE_GLOB),
        *spec_dir.glob(_TYPESCRIPT_GLOB),
    ]
    return sorted(p.relative_to(spec_dir).as_posix() for p in found if p.is_file())


def render_manifest(spec_dir: Path = SPEC_DIR) -> str:
    """The manifest text for the files currently under ``spec_dir``."""
    lines: list[str] = []
    for rel in manifest_paths(spec_dir):
        digest = hashlib.sha256((spec_dir / rel).read_bytes()).hexdigest()
        lines.append(f"{digest}  {rel}\n")
    return "".join(lines)


def write_manifest(spec_dir: Path = SPEC_DIR) -> Path:
    """Rewrite ``spec_dir/SHA256SUMS``; returns its path."""
    path = spec_dir / MANIFEST_PATH.name
    path.write_text(render_manifest(spec_dir), encoding="utf-8", newline="\n")
    return path


def check_manifest(spec_dir: Path = SPEC_DIR) -> str:
    """A unified diff between the committed manifest and a fresh one; ``''`` when current."""
    path = spec_dir / MANIFEST_PATH.name
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    fresh = render_manifest(spec_dir)
    if current == fresh:
        return ""
    return "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            fresh.splitlines(keepends=True),
            fromfile="spec/SHA256SUMS (committed)",
            tofile="spec/SHA256SUMS (expected)",
        )
    )
