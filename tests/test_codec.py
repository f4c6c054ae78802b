"""arcp.codec (§5): typed decode, byte-stable encode, readable INVALID_REQUEST errors."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from arcp import codec
from arcp.codec import DecodeError, decode, encode
from arcp_gen.errors import ErrorCode
from arcp_gen.messages import JobEventMessage
from arcp_gen.models import LogEvent, VendorEvent
from arcp_gen.registry import MESSAGE_ADAPTER

from .spec._fixtures import invalid_fixtures, receive_only_fixtures, valid_fixtures

EVENT = {
    "arcp": "1.1",
    "id": "01JABCDEFGHJKMNPQRSTVWXYZ0",
    "type": "job.event",
    "session_id": "sess_1",
    "job_id": "job_1",
    "event_seq": 7,
    "payload": {
        "kind": "log",
        "ts": "2026-05-13T19:42:13.000Z",
        "body": {"level": "info", "message": "hi"},
    },
}


def test_decode_types_envelope_payload_and_body() -> None:
    msg = decode(orjson.dumps(EVENT))
    assert isinstance(msg, JobEventMessage)
    assert isinstance(msg.payload, LogEvent)
    assert msg.payload.body.message == "hi"
    assert msg.event_seq == 7


def test_unknown_top_level_fields_survive_a_round_trip() -> None:
    """§5: unknown envelope fields are ignored, and kept."""
    frame = orjson.dumps({**EVENT, "x_future": {"a": [1, 2]}})
    assert encode(decode(frame)) == frame


def test_vendor_event_kind_passes_through() -> None:
    frame = orjson.dumps(
        {
            **EVENT,
            "payload": {
                "kind": "x-vendor.acme.ping",
                "ts": "2026-05-13T19:42:13Z",
                "body": {"n": 1},
            },
        }
    )
    msg = decode(frame)
    assert isinstance(msg.payload, VendorEvent)
    assert encode(msg) == frame


@pytest.mark.parametrize(
    ("frame", "sentence"),
    [
        (b"{nope", "frame is not valid JSON"),
        (b"[1, 2]", "frame must be a JSON object, not an array"),
        (orjson.dumps({**EVENT, "type": "job.teleport"}), "unknown message type 'job.teleport'"),
        (orjson.dumps({**EVENT, "arcp": "2.0"}), "unsupported protocol version '2.0'"),
    ],
)
def test_bad_frames_are_invalid_request_with_one_sentence(frame: bytes, sentence: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(frame)
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert sentence in info.value.message
    assert "\n" not in info.value.message
    assert info.value.retryable is False


def test_decode_error_names_the_field_and_keeps_the_envelope_id() -> None:
    bad = {**EVENT, "payload": {**EVENT["payload"], "body": {"level": "loud", "message": "x"}}}
    with pytest.raises(DecodeError) as info:
        decode(orjson.dumps(bad))
    assert info.value.envelope_id == EVENT["id"]
    assert info.value.details == {"type": "job.event", "field": "payload.body.level"}


def _full_decode(frame: bytes | str) -> object:
    return MESSAGE_ADAPTER.validate_json(frame, strict=True)


def _fast_path_frames() -> list[bytes]:
    """Every fixture frame (valid, receive-only or invalid, any type), plus job.event edge
    cases."""
    frames = list(valid_fixtures().values()) + list(receive_only_fixtures().values())
    frames += [f.frame for f in invalid_fixtures().values()]
    for kind in ("x-vendor.acme.tick", "x-other", "", "LOG", None, 7):
        frames.append(orjson.dumps({**EVENT, "payload": {**EVENT["payload"], "kind": kind}}))
    frames.append(orjson.dumps({**EVENT, "payload": "log"}))
    frames.append(orjson.dumps({**EVENT, "payload": {**EVENT["payload"], "kind": ["log"]}}))
    frames.append(orjson.dumps({**EVENT, "type": "job.result", "note": "job.event"}))
    frames.append(orjson.dumps({**EVENT, "event_seq": 0}))
    frames.append(orjson.dumps(EVENT)[:-1] + b',"type":"job.error"}')  # a duplicate key
    frames.append(orjson.dumps(EVENT)[:-1] + b',"type":"job.event"}')
    dup_kind = orjson.dumps(EVENT).replace(b'"kind":"log"', b'"kind":"thought","kind":"log"')
    frames.append(dup_kind)
    return frames


@pytest.mark.parametrize("frame", _fast_path_frames())
def test_fast_validator_agrees_with_the_full_validator(frame: bytes) -> None:
    """decode() validates every frame with a validator whose job.event payload union is
    discriminated on `kind` directly: it must accept and build exactly what the full
    Message union does, and refuse what it refuses (with the same error)."""
    for data in (frame, frame.decode("utf-8", "replace")):
        try:
            expected = _full_decode(data)
        except ValidationError as exc:
            with pytest.raises(DecodeError) as info:
                decode(data)
            want = codec._explain(data, exc)  # pyright: ignore[reportPrivateUsage]
            got_error = info.value
            assert (got_error.message, got_error.envelope_id, got_error.message_type) == (
                want.message,
                want.envelope_id,
                want.message_type,
            )
            assert got_error.details == want.details
            continue
        got = decode(data)
        assert type(got) is type(expected)
        assert type(got.payload) is type(expected.payload)  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
        assert got == expected
        assert encode(got) == encode(expected)  # pyright: ignore[reportArgumentType]


def test_job_event_fast_path_is_taken_for_spec_kinds() -> None:
    frame = orjson.dumps(EVENT)
    fast = codec._FAST_ADAPTER  # pyright: ignore[reportPrivateUsage]
    assert fast is not MESSAGE_ADAPTER
    validated = fast.validate_json(frame, strict=True)
    assert type(validated) is codec._SPEC_JOB_EVENT  # pyright: ignore[reportPrivateUsage]
    decoded = decode(frame)
    assert type(decoded) is JobEventMessage
    assert decoded.model_dump() == validated.model_dump()
    assert decoded.model_fields_set == validated.model_fields_set
    vendor = orjson.dumps({**EVENT, "payload": {**EVENT["payload"], "kind": "x-vendor.a.b"}})
    with pytest.raises(ValidationError):
        fast.validate_json(vendor, strict=True)
    assert isinstance(decode(vendor).payload, VendorEvent)  # pyright: ignore[reportAttributeAccessIssue]


def test_an_empty_envelope_id_is_not_reported_for_correlation() -> None:
    """§12, wire-decisions: a refused frame whose `id` is "" is answered without a
    `request_id` (a `request_id` is never empty); before, the runtime echoed ""."""
    frame = {"arcp": "1.1", "id": "", "type": "session.ping", "payload": {"nonce": "n"}}
    with pytest.raises(DecodeError) as info:
        decode(orjson.dumps(frame))
    assert info.value.envelope_id is None
    assert info.value.message_type == "session.ping"
