"""``spec/fixtures/manifest.json``: every fixture's direction, receiver, basis, feature and
expected outcome, replayed against the schema (format asserted) and against our decoder (§5).

The live replays (a real runtime, a real client) are in ``tests/runtime`` and ``tests/client``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from arcp.codec import DecodeError, decode
from arcp.lenient import LENIENT_READS
from arcp_gen.errors import ErrorCode, UnknownCodeError, error_from_payload
from arcp_gen.features import Feature
from arcp_gen.messages import JobEventMessage, Message, UnknownEvent
from tests.spec._fixtures import (
    FIXTURES_DIR,
    MANIFEST_SCHEMA_PATH,
    load_manifest,
    load_schema,
    manifest_entries,
    schema_validator,
)

MANIFEST = load_manifest()
ENTRIES = manifest_entries()
VALIDATOR = schema_validator()
SCHEMA = load_schema()


def wire_frame(entry: dict[str, Any]) -> tuple[bytes, Any]:
    """The bytes a sender puts on the wire for ``entry``, and the parsed value (or ``None``)."""
    doc = json.loads((FIXTURES_DIR / entry["file"]).read_text(encoding="utf-8"))
    if entry["file"].startswith("forward/"):
        return orjson.dumps(doc["frame"]), doc["frame"]
    if not entry["file"].startswith("invalid/"):
        return orjson.dumps(doc), doc
    if "raw_frame" in doc:
        raw: str = doc["raw_frame"]
        try:
            return raw.encode(), json.loads(raw)
        except ValueError:
            return raw.encode(), None
    return orjson.dumps(doc["frame"]), doc["frame"]


def test_manifest_matches_its_own_schema() -> None:
    """The manifest is valid against ``manifest.schema.json`` (itself valid 2020-12)."""
    meta = json.loads(MANIFEST_SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(meta)
    errors = [e.message for e in schema_validator(meta).iter_errors(MANIFEST)]
    assert errors == []
    assert MANIFEST["protocol_version"] == SCHEMA["x-protocol-version"]
    assert (FIXTURES_DIR.parent / MANIFEST["schema"]).is_file()


def test_manifest_lists_every_fixture_file_once() -> None:
    """§5: one entry per fixture file, ids unique and equal to the file stem."""
    files = sorted(
        p.relative_to(FIXTURES_DIR).as_posix()
        for d in ("valid", "receive-only", "forward", "invalid")
        for p in (FIXTURES_DIR / d).glob("*.json")
    )
    listed = [e["file"] for e in MANIFEST["fixtures"]]
    assert sorted(listed) == files
    assert len(ENTRIES) == len(listed)
    for fid, entry in ENTRIES.items():
        assert Path(entry["file"]).stem == fid


@pytest.mark.parametrize("fid", sorted(ENTRIES))
def test_entry_is_coherent(fid: str) -> None:
    """Folder, verdict, receiver, feature and code agree; invalid files repeat the code."""
    entry = ENTRIES[fid]
    folder = entry["file"].split("/")[0]
    outcome = entry["outcome"]
    verdicts = {
        "valid": "accept",
        "receive-only": "receive-only",
        "forward": "accept-forward",
        "invalid": "reject",
    }
    assert verdicts[folder] == outcome["verdict"]
    want_receiver = "runtime" if entry["direction"] == "client-to-runtime" else "client"
    assert entry["receiver"] == want_receiver
    assert entry["feature"] is None or entry["feature"] in {f.value for f in Feature}
    if outcome["verdict"] == "reject":
        assert outcome["code"] in ErrorCode.__members__
        doc = json.loads((FIXTURES_DIR / entry["file"]).read_text(encoding="utf-8"))
        assert doc["expected_code"] == outcome["code"]
        assert doc["section"] in entry["basis"]
    else:
        _, frame = wire_frame(entry)
        assert outcome["type"] == frame["type"]
        assert outcome.get("kind") == (frame["payload"]["kind"] if "kind" in outcome else None)
        if frame["type"] == "job.event":
            assert "kind" in outcome
    if outcome["verdict"] == "receive-only":
        assert outcome["lenient_read"] in LENIENT_READS
    if outcome["verdict"] == "accept-forward":
        doc = json.loads((FIXTURES_DIR / entry["file"]).read_text(encoding="utf-8"))
        assert doc["accept"] == {k: outcome[k] for k in ("type", "kind") if k in outcome}
        assert [doc["section"], doc["basis"]] == entry["basis"]
        assert (doc["direction"], doc["receiver"]) == (entry["direction"], entry["receiver"])


@pytest.mark.parametrize("fid", sorted(ENTRIES))
def test_json_schema_agrees_with_the_manifest(fid: str) -> None:
    """The schema root (format asserted) accepts exactly the `accept` fixtures; a
    receive-only fixture fails only the root's `not` on the branch the manifest names; an
    accept-forward fixture (a later minor's kind or code) is refused, also without the `not`."""
    entry = ENTRIES[fid]
    verdict = entry["outcome"]["verdict"]
    data, frame = wire_frame(entry)
    if frame is None and data.strip() != b"null":
        assert verdict == "reject"  # not JSON at all: nothing to validate
        return
    errors = list(VALIDATOR.iter_errors(frame))
    if verdict == "accept":
        assert [e.message for e in errors] == []
    elif verdict == "reject":
        assert errors, f"schema accepted {fid}"
    elif verdict == "accept-forward":
        assert errors, f"schema accepted {fid}"
        lenient = schema_validator({k: v for k, v in SCHEMA.items() if k != "not"})
        assert list(lenient.iter_errors(frame)), f"schema without `not` accepted {fid}"
    else:
        assert [e.validator for e in errors] == ["not"]
        branches = SCHEMA["$defs"]["ReceiveOnly"]["anyOf"]
        matched = {
            b["title"]
            for b in branches
            if not list(schema_validator({**SCHEMA, "not": False} | b).iter_errors(frame))
        }
        assert entry["outcome"]["lenient_read"] in matched, matched


@pytest.mark.parametrize("fid", sorted(ENTRIES))
def test_decoder_agrees_with_the_manifest(fid: str) -> None:
    """Our decoder reads accept and receive-only fixtures as the named type/kind, and
    refuses reject fixtures, with the named code and naming the field when the manifest says
    so (for INVALID_REQUEST, the decoder's own code)."""
    entry = ENTRIES[fid]
    outcome = entry["outcome"]
    data, _ = wire_frame(entry)
    if outcome["verdict"] == "reject":
        with pytest.raises(DecodeError) as info:
            decode(data)
        if outcome["code"] != "INVALID_REQUEST":
            # The decoder's refusal is what the receiver answers with another code (a hello
            # whose auth is malformed: UNAUTHENTICATED, §6.1); the live replays check it.
            return
        assert info.value.code == outcome["code"]
        names = bool(info.value.details and info.value.details.get("field"))
        assert names is outcome["details_names_field"]
        return
    message = decode(data)
    assert message.type == outcome["type"]
    if isinstance(message, JobEventMessage):
        assert message.payload.kind == outcome["kind"]
    if outcome["verdict"] == "accept-forward":
        _assert_typed_unknown(message, outcome["unknown"])


def _assert_typed_unknown(message: Message, unknown: str) -> None:
    """wire-decisions (Forward compatibility): the unknown kind is an ``UnknownEvent``; the
    unknown code (of job.error, session.error or a tool_result's error) an
    ``UnknownCodeError`` carrying the code as sent."""
    payload: Any = message.payload
    if unknown == "event-kind":
        assert isinstance(payload, UnknownEvent)
        return
    error: Any = payload.body.error if isinstance(message, JobEventMessage) else payload
    assert error is not None
    typed = error_from_payload(error)
    assert isinstance(typed, UnknownCodeError)
    assert typed.wire_code == error.code
    assert error.code not in ErrorCode.__members__


def test_every_lenient_read_has_a_receive_only_fixture() -> None:
    """wire-decisions: each named lenient read is exercised by at least one fixture."""
    used = {
        e["outcome"]["lenient_read"]
        for e in MANIFEST["fixtures"]
        if e["outcome"]["verdict"] == "receive-only"
    }
    assert used == set(LENIENT_READS)


def test_both_directions_and_every_outcome_are_covered() -> None:
    """Both receivers are judged, for accept, receive-only and reject alike; the client
    also for accept-forward (a later minor's runtime), both for unknown kinds and codes."""
    seen = {(e["receiver"], e["outcome"]["verdict"]) for e in MANIFEST["fixtures"]}
    assert seen == {
        (r, v) for r in ("runtime", "client") for v in ("accept", "receive-only", "reject")
    } | {("client", "accept-forward")}
    unknowns = {
        e["outcome"]["unknown"]
        for e in MANIFEST["fixtures"]
        if e["outcome"]["verdict"] == "accept-forward"
    }
    assert unknowns == {"event-kind", "error-code"}
