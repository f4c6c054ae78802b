"""Helpers shared by the golden-fixture tests (§5): paths, loading and key-order canonicalising.

The committed JSON files under ``spec/fixtures`` are the source of truth. ``canonicalise`` is an
authoring aid: it rewrites a fixture's keys into the generated models' declaration order (the
order :func:`arcp.codec.encode` emits) so a hand-written envelope becomes byte-stable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from arcp.codec import decode, encode

__all__ = [
    "FIXTURES_DIR",
    "INVALID_DIR",
    "MANIFEST_PATH",
    "MANIFEST_SCHEMA_PATH",
    "META_SCHEMA_PATH",
    "RECEIVE_ONLY_DIR",
    "SCHEMA_PATH",
    "SPEC_DIR",
    "VALID_DIR",
    "InvalidFixture",
    "canonicalise",
    "dump_fixture",
    "forward_fixtures",
    "invalid_fixtures",
    "load_manifest",
    "load_schema",
    "manifest_entries",
    "receive_only_fixtures",
    "schema_validator",
    "valid_fixtures",
]

SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"
SCHEMA_PATH = next(SPEC_DIR.glob("arcp-*.schema.json"))
META_SCHEMA_PATH = next(SPEC_DIR.glob("arcp-*.meta-schema.json"))
FIXTURES_DIR = SPEC_DIR / "fixtures"
VALID_DIR = FIXTURES_DIR / "valid"
INVALID_DIR = FIXTURES_DIR / "invalid"
RECEIVE_ONLY_DIR = FIXTURES_DIR / "receive-only"
MANIFEST_PATH = FIXTURES_DIR / "manifest.json"
MANIFEST_SCHEMA_PATH = FIXTURES_DIR / "manifest.schema.json"


@dataclass(frozen=True)
class InvalidFixture:
    """One file of ``spec/fixtures/invalid``: a frame a peer must refuse."""

    name: str
    why: str
    expected_code: str
    section: str
    frame: bytes
    """The frame as it would arrive on the wire (compact JSON, or the raw text)."""
    parsed: Any
    """The parsed JSON value, or ``None`` for a ``raw_frame`` that is not JSON at all."""
    is_json: bool


def load_schema() -> dict[str, Any]:
    """The schema document as a dict."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def schema_validator(schema: dict[str, Any] | None = None) -> Draft202012Validator:
    """A 2020-12 validator that asserts ``format`` (``date-time`` via rfc3339-validator)."""
    checker = Draft202012Validator.FORMAT_CHECKER
    assert "date-time" in checker.checkers, "install rfc3339-validator for date-time"
    return Draft202012Validator(schema or load_schema(), format_checker=checker)


def valid_fixtures() -> dict[str, bytes]:
    """File name -> raw file bytes, for every valid fixture, sorted by name."""
    return {p.name: p.read_bytes() for p in sorted(VALID_DIR.glob("*.json"))}


def receive_only_fixtures() -> dict[str, bytes]:
    """File name -> raw file bytes, for every receive-only (legacy / lenient) fixture."""
    return {p.name: p.read_bytes() for p in sorted(RECEIVE_ONLY_DIR.glob("*.json"))}


def forward_fixtures() -> dict[str, dict[str, Any]]:
    """File name -> document, for every ``fixtures/forward`` fixture: a frame of a later 1.x
    minor (an event kind or error code 1.1 does not define) that the 1.1 schema refuses and
    a receiver reads typed (wire-decisions: Forward compatibility)."""
    return {
        p.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((FIXTURES_DIR / "forward").glob("*.json"))
    }


def load_manifest() -> dict[str, Any]:
    """``spec/fixtures/manifest.json`` as a dict."""
    manifest: dict[str, Any] = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    return manifest


def manifest_entries() -> dict[str, dict[str, Any]]:
    """Manifest entry per fixture id."""
    return {e["id"]: e for e in load_manifest()["fixtures"]}


def invalid_fixtures() -> dict[str, InvalidFixture]:
    """File name -> parsed invalid fixture, sorted by name."""
    out: dict[str, InvalidFixture] = {}
    for path in sorted(INVALID_DIR.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if "raw_frame" in doc:
            raw: str = doc["raw_frame"]
            try:
                parsed, is_json = json.loads(raw), True
            except ValueError:
                parsed, is_json = None, False
            frame = raw.encode("utf-8")
        else:
            parsed, is_json = doc["frame"], True
            frame = orjson.dumps(parsed)
        out[path.name] = InvalidFixture(
            name=path.name,
            why=doc["why"],
            expected_code=doc["expected_code"],
            section=doc["section"],
            frame=frame,
            parsed=parsed,
            is_json=is_json,
        )
    return out


def canonicalise(envelope: Any) -> Any:
    """Reorder an envelope's keys into model declaration order (unknown fields last)."""
    return orjson.loads(encode(decode(orjson.dumps(envelope))))


def dump_fixture(value: Any) -> str:
    """The committed text form: indent 2, non-ASCII kept, trailing newline."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
