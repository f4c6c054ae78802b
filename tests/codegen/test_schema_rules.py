"""Constraints the schema states beyond types (`codegen/schema.py`): what the generator reads
from the schema to render model validators, and that it refuses shapes it cannot render
rather than dropping a constraint silently."""

from __future__ import annotations

from typing import Any

import pytest

from codegen.generate import SCHEMA_PATH
from codegen.presence import PresenceRule, conditional_rule, rules_of
from codegen.schema import Schema

SCHEMA = Schema(SCHEMA_PATH)


def test_conditional_rules_of_the_schema() -> None:
    """§9.8.2 credential_id with credential_rotated; §8.4 base64 data when encoding base64."""
    rules = SCHEMA.presence_rules()
    (status,) = rules["StatusBody"]
    assert status == PresenceRule(
        "required_when", ("credential_id",), ("phase", "credential_rotated")
    )
    (chunk,) = rules["ResultChunkBody"]
    assert chunk.kind == "pattern_when" and chunk.when == ("encoding", "base64")
    assert chunk.pattern is not None and not chunk.pattern.startswith("^")


def test_message_rules_of_the_schema() -> None:
    """§7.4 cancel names a job somewhere; §6.2, §6.4, §6.5 fields a message must not carry."""
    by_type = {m.type: m for m in SCHEMA.messages()}
    assert by_type["job.cancel"].on_envelope_or_payload == ("job_id",)
    assert by_type["session.welcome"].session_id_on_envelope_or_payload
    assert by_type["session.hello"].absent_envelope_fields == ("session_id",)
    for kind in ("session.ping", "session.pong", "session.ack"):
        assert by_type[kind].absent_envelope_fields == ("event_seq",)
    assert "SessionPingMessage" not in SCHEMA.presence_rules()


def test_exclusion_and_exactly_one_rules_of_the_schema() -> None:
    """§7.3, §8.4 a result is inline or streamed, never both (``dependentSchemas``); §8.2 a
    tool_result carries exactly one of ``result`` and ``error`` (``if``/``then``/``else``)."""
    rules = SCHEMA.presence_rules()
    assert rules["JobResultPayload"] == [PresenceRule("exclusive", ("result", "result_id"))]
    assert rules["ToolResultBody"] == [PresenceRule("exactly_one", ("result", "error"))]


def test_model_input_has_no_sender_rules_and_no_date_time_format() -> None:
    """ReceiveOnly is not a model; timestamps stay `str` (the pattern does the checking)."""
    defs = SCHEMA.model_input()["$defs"]
    assert "ReceiveOnly" not in defs and "LegacyErrorPayload" not in defs
    assert "format" not in defs["Timestamp"] and "pattern" in defs["Timestamp"]
    assert "if" not in defs["StatusBody"] and "then" not in defs["StatusBody"]
    assert not {"if", "then", "else"} & set(defs["ToolResultBody"])
    assert "dependentSchemas" not in defs["JobResultPayload"]


@pytest.mark.parametrize(
    "shape",
    [
        {"if": {"properties": {"a": {"const": "x"}}}, "then": {"required": ["b"]}},
        {"if": {"properties": {"a": {"const": "x"}}, "required": ["a"]}, "then": {"minItems": 1}},
        {
            "if": {"properties": {"a": {"const": "x"}}, "required": ["a"]},
            "then": {"properties": {"b": {"pattern": "unanchored"}}},
        },
    ],
)
def test_unrenderable_conditionals_are_refused(shape: dict[str, Any]) -> None:
    """A constraint the models could not enforce stops the generator instead."""
    with pytest.raises(ValueError):
        conditional_rule(shape)


@pytest.mark.parametrize(
    "shape",
    [
        # A `dependentSchemas` rule that does not forbid one other field.
        {"dependentSchemas": {"a": {"required": ["b"]}}},
        # An absent-field `if` whose `then` requires nothing or whose `else` forbids nothing.
        {"if": {"properties": {"a": False}}, "then": {"required": ["b"]}},
        {"if": {"properties": {"a": False}}, "else": {"properties": {"b": False}}},
        # A `then` that declares a property it does not require.
        {
            "if": {"properties": {"a": {"const": "x"}}, "required": ["a"]},
            "then": {"properties": {"c": True}, "required": ["b"]},
        },
    ],
)
def test_unrenderable_presence_forms_are_refused(shape: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        list(rules_of(shape))
