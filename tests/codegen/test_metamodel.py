"""The metamodel: the schema's annotations rendered as neutral JSON and as Python tables."""

from __future__ import annotations

import json
from typing import Any

from arcp_gen import metamodel
from arcp_gen.errors import NEVER_RETRYABLE, RETRYABLE_DEFAULTS, ErrorCode
from arcp_gen.features import Feature
from arcp_gen.registry import BODY_MODELS, MESSAGE_MODELS, PROTOCOL_VERSION
from codegen.generate import SCHEMA_PATH

SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
METAMODEL_PATH = SCHEMA_PATH.parent / f"arcp-{SCHEMA['x-protocol-version']}.metamodel.json"


def _doc() -> dict[str, Any]:
    return json.loads(METAMODEL_PATH.read_text(encoding="utf-8"))


def test_one_version_everywhere() -> None:
    """The version is the schema's one ``x-protocol-version`` value (§5)."""
    version = SCHEMA["x-protocol-version"]
    assert metamodel.PROTOCOL_VERSION == PROTOCOL_VERSION == version == _doc()["protocol_version"]
    assert SCHEMA_PATH.name == f"arcp-{version}.schema.json"


def test_json_and_tables_agree_on_messages() -> None:
    """Every message type (§5) has one direction, its answers and gate, in both forms."""
    doc = {m["type"]: m for m in _doc()["messages"]}
    assert set(doc) == set(metamodel.MESSAGES) == set(MESSAGE_MODELS)
    for type_, facts in metamodel.MESSAGES.items():
        assert doc[type_]["direction"] == facts.direction
        assert tuple(doc[type_]["answers"]) == facts.answers
        assert doc[type_]["feature"] == (facts.feature and facts.feature.value)
        for request in facts.answers:
            sender = metamodel.MESSAGES[request].direction
            assert sender == "both" or sender != facts.direction


def test_requests_and_responses_have_opposite_senders() -> None:
    """§6.2, §7.1, §7.4, §7.6: each answer travels the other way from its request."""
    assert metamodel.MESSAGES["job.accepted"].answers == ("job.submit",)
    assert "session.hello" in metamodel.MESSAGES["session.welcome"].answers
    assert "job.submit" in metamodel.CLIENT_SENDS
    assert "job.event" not in metamodel.CLIENT_SENDS
    assert "job.event" in metamodel.RUNTIME_SENDS
    assert {"session.ping", "session.pong"} <= metamodel.CLIENT_SENDS & metamodel.RUNTIME_SENDS


def test_event_kinds_bodies_and_gates() -> None:
    """§8.2: every spec kind's body model; §8.2.1/§8.4 gate progress and result_chunk."""
    doc = {e["kind"]: e for e in _doc()["event_kinds"]}
    assert set(doc) == set(metamodel.EVENTS) == set(BODY_MODELS)
    for kind, facts in metamodel.EVENTS.items():
        assert facts.body is BODY_MODELS[kind]
        assert doc[kind]["body"] == facts.body.__name__
        assert metamodel.KIND_OF_BODY[facts.body] == kind
        if facts.feature is None:
            assert facts.gate == 0
        else:
            assert metamodel.GATE_FEATURES[facts.gate] is facts.feature
    assert metamodel.EVENTS["progress"].feature is Feature.PROGRESS
    assert metamodel.EVENTS["result_chunk"].feature is Feature.RESULT_CHUNK
    # Bits are persisted with stored events: the two 1.1 gates keep their values.
    assert metamodel.EVENT_GATES["progress"] == 1
    assert metamodel.EVENT_GATES["result_chunk"] == 2


def test_error_codes_retryability_and_final_status() -> None:
    """§12 retryability (LEASE_EXPIRED/BUDGET_EXHAUSTED never) and §7.3/§7.4 final status."""
    doc = {e["code"]: e for e in _doc()["error_codes"]}
    assert set(doc) == {c.value for c in ErrorCode} == {c.value for c in metamodel.ERRORS}
    for code, facts in metamodel.ERRORS.items():
        assert facts.retryable == RETRYABLE_DEFAULTS[code] == doc[code]["retryable"]
        assert facts.never_retryable == (code in NEVER_RETRYABLE) == doc[code]["never_retryable"]
        assert facts.final_status == doc[code]["final_status"]
    assert metamodel.ERRORS[ErrorCode.CANCELLED].final_status == "cancelled"
    assert metamodel.ERRORS[ErrorCode.TIMEOUT].final_status == "timed_out"
    assert metamodel.ERRORS[ErrorCode.LEASE_EXPIRED].final_status == "error"
    assert metamodel.ERRORS[ErrorCode.BUDGET_EXHAUSTED].final_status == "error"


def test_features_with_sections() -> None:
    """§6.2: the flags with the sections that define them."""
    doc = _doc()["features"]
    assert [f["name"] for f in doc] == [f.value for f in Feature]
    assert all(str(f["section"]).startswith("§") for f in doc)


def test_metamodel_names_its_schema() -> None:
    """Other SDKs pin the metamodel to the schema it came from by sha256."""
    import hashlib

    schema = _doc()["schema"]
    assert schema["file"] == SCHEMA_PATH.name
    assert schema["sha256"] == hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest()
