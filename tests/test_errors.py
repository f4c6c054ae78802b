"""The generated error taxonomy (`arcp_gen.errors`) against spec §12 and the schema.

Expected values come from the schema file and from the §12 table as written in the spec,
never from the module under test.
"""

from __future__ import annotations

import builtins
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcp_gen import errors
from arcp_gen.errors import (
    ERROR_CLASSES,
    NEVER_RETRYABLE,
    RETRYABLE_DEFAULTS,
    ARCPError,
    ErrorCode,
    InternalError,
    error_from_payload,
)
from arcp_gen.models import ErrorPayload
from tests.spec_text import spec_markdown

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DOC: dict[str, Any] = json.loads(
    (REPO_ROOT / "spec" / "arcp-1.1.schema.json").read_text(encoding="utf-8")
)
ERROR_CODE_DEF: dict[str, Any] = SCHEMA_DOC["$defs"]["ErrorCode"]

# The §12 table, transcribed from the spec text, in table order.
SPEC_12_CODES = [
    "PERMISSION_DENIED",
    "LEASE_SUBSET_VIOLATION",
    "JOB_NOT_FOUND",
    "DUPLICATE_KEY",
    "AGENT_NOT_AVAILABLE",
    "AGENT_VERSION_NOT_AVAILABLE",
    "CANCELLED",
    "TIMEOUT",
    "RESUME_WINDOW_EXPIRED",
    "HEARTBEAT_LOST",
    "LEASE_EXPIRED",
    "BUDGET_EXHAUSTED",
    "INVALID_REQUEST",
    "UNAUTHENTICATED",
    "INTERNAL_ERROR",
]
# §12 prose: "LEASE_EXPIRED and BUDGET_EXHAUSTED MUST be returned with retryable: false".
SPEC_NEVER_RETRYABLE = {"LEASE_EXPIRED", "BUDGET_EXHAUSTED"}
# wire-decisions.md: retryable defaults true for these three, false for all others.
WIRE_DECISIONS_RETRYABLE = {"INTERNAL_ERROR", "TIMEOUT", "HEARTBEAT_LOST"}

NEVER = [ErrorCode(c) for c in sorted(SPEC_NEVER_RETRYABLE)]


def _payload_validator() -> jsonschema.Draft202012Validator:
    root = {
        "$schema": SCHEMA_DOC["$schema"],
        "$defs": SCHEMA_DOC["$defs"],
        "$ref": "#/$defs/ErrorPayload",
    }
    return jsonschema.Draft202012Validator(root)


PAYLOAD_VALIDATOR = _payload_validator()

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
details_objects = st.dictionaries(st.text(), json_values, max_size=4)
codes = st.sampled_from(list(ErrorCode))


# -- the code list ------------------------------------------------------------------------


def test_exactly_the_fifteen_codes_of_the_schema_and_spec() -> None:
    """§12 defines exactly 15 codes; the enum matches the schema's ErrorCode.enum, in order."""
    values = [c.value for c in ErrorCode]
    assert len(values) == 15
    assert values == ERROR_CODE_DEF["enum"]
    assert values == SPEC_12_CODES
    assert set(ERROR_CODE_DEF["x-error-codes"]) == set(values)


def test_transcribed_table_matches_the_spec_text() -> None:
    """§12: the transcription above is the table in the spec document (when it is present)."""
    text = spec_markdown()
    section = text.split("## 12. Error Taxonomy", 1)[1].split("\n## ", 1)[0]
    table_codes = re.findall(r"^\|\s*`([A-Z_]+)`\s*\|", section, flags=re.MULTILINE)
    assert table_codes == SPEC_12_CODES


@pytest.mark.parametrize("code", SPEC_12_CODES)
def test_every_code_has_its_own_exception_class(code: str) -> None:
    """§12: each code maps to an ARCPError subclass whose `.code` is that code."""
    cls = ERROR_CLASSES[ErrorCode(code)]
    assert issubclass(cls, ARCPError)
    assert cls is not ARCPError
    assert cls.code == code
    assert cls.code.value == code
    assert cls.__name__ in errors.__all__
    assert getattr(errors, cls.__name__) is cls
    # Catchable as an ARCPError and as an Exception, not shadowing a builtin name.
    assert cls.__name__ not in dir(builtins)
    assert cls.__name__ != "CancelledError"
    err = cls("boom")
    assert err.code == code
    assert isinstance(err, ARCPError)


def test_exception_classes_are_distinct() -> None:
    """§12: fifteen codes, fifteen different classes."""
    assert len(set(ERROR_CLASSES.values())) == 15
    assert set(ERROR_CLASSES) == set(ErrorCode)


# -- retryable defaults -------------------------------------------------------------------


@pytest.mark.parametrize("code", SPEC_12_CODES)
def test_default_retryable_follows_the_schema(code: str) -> None:
    """§12: `retryable` defaults per code as listed in the schema's `x-error-codes`."""
    expected = ERROR_CODE_DEF["x-error-codes"][code]["retryable"]
    assert expected is (code in WIRE_DECISIONS_RETRYABLE)
    assert RETRYABLE_DEFAULTS[ErrorCode(code)] is expected
    assert ERROR_CLASSES[ErrorCode(code)]("x").retryable is expected
    decoded = error_from_payload({"code": code, "message": "x"})
    assert decoded.retryable is expected
    assert decoded.to_payload()["retryable"] is expected


def test_internal_error_is_retryable() -> None:
    """§12: INTERNAL_ERROR is "always retryable" by default."""
    assert InternalError().retryable is True


@pytest.mark.parametrize("code", sorted(set(SPEC_12_CODES) - SPEC_NEVER_RETRYABLE))
def test_explicit_retryable_is_honoured_for_ordinary_codes(code: str) -> None:
    """§12: the sender may override the default for every code except the two never-retryable."""
    cls = ERROR_CLASSES[ErrorCode(code)]
    assert cls("x", retryable=True).retryable is True
    assert cls("x", retryable=False).retryable is False
    assert error_from_payload({"code": code, "message": "x", "retryable": True}).retryable
    assert not error_from_payload({"code": code, "message": "x", "retryable": False}).retryable


def test_never_retryable_set_matches_schema_and_spec() -> None:
    """§12: exactly LEASE_EXPIRED and BUDGET_EXHAUSTED are never retryable."""
    assert {c.value for c in NEVER_RETRYABLE} == SPEC_NEVER_RETRYABLE
    assert set(ERROR_CODE_DEF["x-never-retryable"]) == SPEC_NEVER_RETRYABLE


@given(
    code=st.sampled_from(NEVER),
    retryable=st.none() | st.booleans(),
    message=st.text(),
    details=details_objects,
)
def test_never_retryable_codes_cannot_be_constructed_retryable(
    code: ErrorCode, retryable: bool | None, message: str, details: dict[str, Any]
) -> None:
    """§12: LEASE_EXPIRED / BUDGET_EXHAUSTED MUST be returned with `retryable: false`,
    whatever the caller passes."""
    err = ERROR_CLASSES[code](message, retryable=retryable, details=details)
    assert err.retryable is False
    assert err.to_payload()["retryable"] is False


@given(
    code=st.sampled_from(NEVER),
    retryable=st.none() | st.booleans(),
    message=st.text(),
    details=details_objects,
    legacy_detail=st.none() | st.text(),
)
def test_never_retryable_codes_cannot_be_decoded_retryable(
    code: ErrorCode,
    retryable: bool | None,
    message: str,
    details: dict[str, Any],
    legacy_detail: str | None,
) -> None:
    """§12: a peer claiming `retryable: true` for LEASE_EXPIRED / BUDGET_EXHAUSTED is
    overruled on receive."""
    payload: dict[str, Any] = {"code": code.value, "message": message, "details": details}
    if retryable is not None:
        payload["retryable"] = retryable
    if legacy_detail is not None:
        payload["detail"] = legacy_detail
    err = error_from_payload(payload)
    assert err.code is code
    assert type(err) is ERROR_CLASSES[code]
    assert err.retryable is False
    assert err.to_payload()["retryable"] is False


def test_never_retryable_from_a_pydantic_payload() -> None:
    """§12: the override also applies when decoding the generated ErrorPayload model."""
    model = ErrorPayload.model_validate(
        {"code": "BUDGET_EXHAUSTED", "message": "out of credits", "retryable": True}
    )
    err = error_from_payload(model)
    assert type(err) is ERROR_CLASSES[ErrorCode.BUDGET_EXHAUSTED]
    assert err.retryable is False
    assert err.message == "out of credits"


# -- wire form ----------------------------------------------------------------------------


@given(
    code=codes,
    retryable=st.none() | st.booleans(),
    message=st.text(),
    details=details_objects,
)
def test_to_payload_round_trips(
    code: ErrorCode, retryable: bool | None, message: str, details: dict[str, Any]
) -> None:
    """§12: `to_payload()` is a valid error payload and decodes back to an equal error."""
    err = ERROR_CLASSES[code](message, retryable=retryable, details=details)
    payload = err.to_payload()

    PAYLOAD_VALIDATOR.validate(payload)
    assert payload["code"] == code.value
    assert isinstance(payload["retryable"], bool)
    assert payload.get("details", {}) == details

    back = error_from_payload(payload)
    assert type(back) is type(err)
    assert back.code is err.code
    assert back.message == err.message
    assert back.retryable is err.retryable
    assert back.details == err.details
    assert back.to_payload() == payload


def test_empty_message_falls_back_to_the_code() -> None:
    """§12: an error always carries a human-readable message; the code stands in for none."""
    err = ERROR_CLASSES[ErrorCode.JOB_NOT_FOUND]()
    assert err.message == "JOB_NOT_FOUND"
    assert str(err) == "JOB_NOT_FOUND"
    PAYLOAD_VALIDATOR.validate(err.to_payload())


@given(
    raw=st.text().filter(lambda s: s not in {c.value for c in ErrorCode})
    | st.integers()
    | st.none()
)
def test_unknown_code_becomes_internal_error(raw: str | int | None) -> None:
    """§12 / §5 forward compatibility: an unknown code is read as INTERNAL_ERROR and the
    original code is kept in `details`."""
    err = error_from_payload({"code": raw, "message": "from the future", "details": {"a": 1}})
    assert type(err) is InternalError
    assert err.code is ErrorCode.INTERNAL_ERROR
    assert err.details == {"a": 1, "code": raw}
    assert err.message == "from the future"
    assert err.retryable is RETRYABLE_DEFAULTS[ErrorCode.INTERNAL_ERROR]


def test_unknown_code_respects_an_explicit_retryable() -> None:
    """§12: an unknown code's explicit `retryable` is still honoured (INTERNAL_ERROR may be)."""
    err = error_from_payload({"code": "QUOTA_GONE", "message": "m", "retryable": False})
    assert type(err) is InternalError
    assert err.retryable is False
    assert err.details["code"] == "QUOTA_GONE"


def test_legacy_detail_string_is_kept() -> None:
    """§12 (wire-decisions): a legacy `detail` string is accepted and kept in `details`."""
    err = error_from_payload(
        {"code": "INVALID_REQUEST", "message": "bad frame", "detail": "line 3: unexpected }"}
    )
    assert type(err) is ERROR_CLASSES[ErrorCode.INVALID_REQUEST]
    assert err.details == {"detail": "line 3: unexpected }"}
    assert err.to_payload()["details"] == {"detail": "line 3: unexpected }"}


def test_structured_details_win_over_legacy_detail() -> None:
    """§12: when both spellings arrive, the structured `details` object is not overwritten."""
    err = error_from_payload(
        {
            "code": "INVALID_REQUEST",
            "message": "bad frame",
            "details": {"detail": "structured", "field": "payload.agent"},
            "detail": "legacy",
        }
    )
    assert err.details == {"detail": "structured", "field": "payload.agent"}
