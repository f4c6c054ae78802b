"""arcp.codec (§5): typed decode, byte-stable encode, readable INVALID_REQUEST errors."""

from __future__ import annotations

import orjson
import pytest

from arcp.codec import DecodeError, decode, encode
from arcp_gen.errors import ErrorCode
from arcp_gen.messages import JobEventMessage
from arcp_gen.models import LogEvent, VendorEvent

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
