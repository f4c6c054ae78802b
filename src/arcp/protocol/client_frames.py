"""What the client session does with a frame :func:`arcp.codec.decode` refused: the
decode-salvage policy of the sans-IO core (:meth:`ClientSession.receive_data`).

Unknown types are ignored quietly (wire-decisions: a client ignores unknown inbound types).
A ``job.event`` that does not decode (say, a kind that is neither a spec kind nor
``x-vendor.*``) is dropped but keeps its ``event_seq`` (:class:`SkippedEvent`), so the
sequence stays gap-free (§8.3).
A response the client cannot decode but that names the request it answers
(``payload.request_id``) fails that request with ``INVALID_REQUEST`` instead of leaving the
caller waiting forever. A ``job.error`` without an ``event_seq`` cannot end a job (it has no
place in the sequence, §8.3): it is read as the ``session.error`` it stands for, so it can
still fail the request it refuses (a cancel, in the TypeScript runtime's dialect). Anything
else malformed is logged and dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

import orjson

from arcp.codec import DecodeError, decode_object
from arcp.ids import new_ulid
from arcp_gen.messages import Message
from arcp_gen.registry import MESSAGE_MODELS, PROTOCOL_VERSION

__all__ = ["SkippedEvent", "salvage"]

_log = logging.getLogger("arcp.client")


@dataclass(frozen=True, slots=True)
class SkippedEvent:
    """An undecodable ``job.event`` dropped at ``seq``; the session still counts the seq."""

    seq: int


def salvage(frame: bytes, exc: DecodeError) -> Message | SkippedEvent | None:
    """A substitute for a refused frame, or ``None`` to drop it."""
    if exc.message_type is not None and exc.message_type not in MESSAGE_MODELS:
        _log.debug("ignoring a message of unknown type %r", exc.message_type)
        return None
    if exc.message_type == "job.event":
        seq = _field(frame, "event_seq")
        if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0:
            _log.warning("dropping an undecodable job.event (seq %d): %s", seq, exc.message)
            return SkippedEvent(seq)
    if exc.message_type == "job.error":
        refusal = _unsequenced_job_error(frame)
        if refusal is not None:
            return refusal
    request_id = _request_id(frame)
    if request_id is None:
        _log.warning("ignoring an undecodable frame: %s", exc.message)
        return None
    _log.warning("failing request %s: its response is undecodable: %s", request_id, exc.message)
    return decode_object(
        {
            "arcp": PROTOCOL_VERSION,
            "id": new_ulid(),
            "type": "session.error",
            "payload": {
                "request_id": request_id,
                "code": "INVALID_REQUEST",
                "message": f"the runtime's response could not be decoded: {exc.message}",
                "retryable": False,
            },
        }
    )


def _unsequenced_job_error(frame: bytes) -> Message | None:
    """A ``job.error`` with no ``event_seq`` but a valid error payload, as a
    ``session.error`` about that job; ``None`` when it is broken some other way."""
    try:
        env: Any = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(env, dict):
        return None
    fields = cast(dict[str, Any], env)
    payload = fields.get("payload")
    if "event_seq" in fields or not isinstance(payload, dict):
        return None
    body = cast(dict[str, Any], payload)
    job_id = fields.get("job_id")
    error = {k: body[k] for k in ("code", "message", "retryable", "details") if k in body}
    if isinstance(body.get("request_id"), str):
        error["request_id"] = body["request_id"]
    if isinstance(job_id, str) and job_id:
        details = error.get("details")
        error["details"] = {**(details if isinstance(details, dict) else {}), "job_id": job_id}
    try:
        return decode_object(
            {"arcp": PROTOCOL_VERSION, "id": new_ulid(), "type": "session.error", "payload": error}
        )
    except DecodeError:
        return None


def _field(frame: bytes, name: str) -> Any:
    try:
        env: Any = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None
    return cast(dict[str, Any], env).get(name) if isinstance(env, dict) else None


def _request_id(frame: bytes) -> str | None:
    payload = _field(frame, "payload")
    if not isinstance(payload, dict):
        return None
    request_id = cast(dict[str, Any], payload).get("request_id")
    return request_id if isinstance(request_id, str) and request_id else None
