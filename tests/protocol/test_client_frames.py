"""What the client does with frames the codec refuses (wire-decisions: Request failures)."""

from __future__ import annotations

import orjson

from arcp.codec import DecodeError, decode
from arcp.protocol.client_frames import salvage
from arcp_gen.errors import ErrorCode
from arcp_gen.messages import SessionErrorMessage


def _refused(frame: dict[str, object]) -> tuple[bytes, DecodeError]:
    data = orjson.dumps(frame)
    try:
        decode(data)
    except DecodeError as exc:
        return data, exc
    raise AssertionError("the frame decoded")


def test_undecodable_response_fails_the_request_it_names() -> None:
    """A response with payload.request_id that does not decode becomes a session.error for
    that request, so the caller gets INVALID_REQUEST instead of waiting forever."""
    data, exc = _refused(
        {
            "arcp": "1.1",
            "id": "01JRHD2GP0JHKZA6KS2PTN7400",
            "type": "job.accepted",
            "job_id": "job_1",
            "payload": {"request_id": "01JRHD2GP0JHKZA6KS2PTN7399", "job_id": 42},
        }
    )
    message = salvage(data, exc)
    assert isinstance(message, SessionErrorMessage)
    assert message.payload.request_id == "01JRHD2GP0JHKZA6KS2PTN7399"
    assert message.payload.code == ErrorCode.INVALID_REQUEST
    assert "job.accepted" in message.payload.message


def test_unknown_types_and_anonymous_garbage_are_dropped() -> None:
    """A client ignores unknown inbound types; malformed frames naming no request are dropped."""
    unknown = _refused({"arcp": "1.1", "id": "x", "type": "job.teleported", "payload": {}})
    garbage = _refused({"arcp": "1.1", "id": "x", "type": "job.event", "payload": {"kind": 1}})
    assert salvage(*unknown) is None
    assert salvage(*garbage) is None
