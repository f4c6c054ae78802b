"""Constraints the schema states beyond types (`codegen/schema.py`): what the generator reads
from the schema to render model validators, and that it refuses shapes it cannot render
rather than dropping a constraint silently."""

from __future__ import annotations

from typing import Any

import pytest

from codegen.generate import SCHEMA_PATH
from codegen.schema import PresenceRule, Schema, _conditional_rule  # pyright: ignore[reportPrivateUsage]

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


def test_model_input_has_no_sender_rules_and_no_date_time_format() -> None:
    """ReceiveOnly is not a model; timestamps stay `str` (the pattern does the checking)."""
    defs = SCHEMA.model_input()["$defs"]
    assert "ReceiveOnly" not in defs and "LegacyErrorPayload" not in defs
    assert "format" not in defs["Timestamp"] and "pattern" in defs["Timestamp"]
    assert "if" not in defs["StatusBody"] and "then" not in defs["StatusBody"]


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
        _conditional_rule(shape)
