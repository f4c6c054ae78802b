"""This SDK's decoder behind the fixture runner's NDJSON protocol (docs/fixture-runner.md).

Run as ``arcp conformance fixtures -- python -m arcp.conformance.fixture_decoder``. It reads
every frame with :func:`arcp.codec.decode`, in both roles, and answers what this SDK makes
of it:

- accepted: the message ``type``, the event ``kind`` of a ``job.event``, and ``unknown``
  when part of it is of a later minor (an ``UnknownEvent`` kind, or an error code this
  version does not define, read as an ``UnknownCodeError``; wire-decisions: Forward
  compatibility);
- refused: the code and ``details.field`` the receiver answers with. As a runtime, a
  ``session.hello`` refused in its ``auth`` is ``UNAUTHENTICATED`` without details, as the
  runtime answers it (§6.1); otherwise the decoder's ``INVALID_REQUEST`` and its field.

It is also the smallest complete example of a decoder adapter for another SDK.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from arcp import __version__
from arcp.codec import DecodeError, decode
from arcp_gen.errors import UnknownCodeError, error_from_payload
from arcp_gen.messages import JobEventMessage, Message, UnknownEvent

__all__ = ["answer", "main"]

_ERROR_TYPES = ("job.error", "session.error")


def _unknown(message: Message) -> str | None:
    """``event-kind`` / ``error-code`` when part of ``message`` is of a later minor."""
    payload: Any = message.payload
    if isinstance(message, JobEventMessage):
        if isinstance(payload, UnknownEvent):
            return "event-kind"
        error = getattr(getattr(payload, "body", None), "error", None)
    else:
        error = payload if message.type in _ERROR_TYPES else None
    if error is not None and isinstance(error_from_payload(error), UnknownCodeError):
        return "error-code"
    return None


def _refusal(err: DecodeError, role: str) -> dict[str, Any]:
    where = err.details.get("field") if err.details else None
    if (
        role == "runtime"
        and err.message_type == "session.hello"
        and isinstance(where, str)
        and (where == "payload.auth" or where.startswith("payload.auth."))
    ):
        # wire-decisions: a bad or missing token is UNAUTHENTICATED, then close (§6.1).
        return {"outcome": "reject", "code": "UNAUTHENTICATED", "field": None, "detail": str(err)}
    return {
        "outcome": "reject",
        "code": err.code,
        "field": where if isinstance(where, str) else None,
        "detail": str(err),
    }


def answer(frame: str, role: str) -> dict[str, Any]:
    """The verdict on one frame (without ``id``)."""
    try:
        message = decode(frame)
    except DecodeError as err:
        return _refusal(err, role)
    payload: Any = message.payload
    kind = payload.kind if isinstance(message, JobEventMessage) else None
    return {"outcome": "accept", "type": message.type, "kind": kind, "unknown": _unknown(message)}


def main(stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Serve the protocol on ``stdin`` / ``stdout`` until stdin ends."""
    src = stdin if stdin is not None else sys.stdin
    out = stdout if stdout is not None else sys.stdout
    hello = json.loads(src.readline() or "{}")
    if hello.get("arcp_fixtures") != 1:
        print(f"unsupported runner hello: {hello!r}", file=sys.stderr)
        return 2
    mine = {"arcp_fixtures": 1, "name": "arcp-sdk", "version": __version__}
    out.write(json.dumps({**mine, "roles": ["client", "runtime"]}) + "\n")
    out.flush()
    for line in src:
        if not line.strip():
            continue
        request = json.loads(line)
        verdict = answer(request["frame"], request["role"])
        out.write(json.dumps({"id": request["id"], **verdict}) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
