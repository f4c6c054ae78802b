"""Lenient decoding for the client (wire-decisions: be liberal in what you accept).

:func:`arcp.codec.decode` is strict. When it refuses a frame, :func:`salvage` accepts the one
dialect the schema cannot express (a welcome whose ``session_id`` is only in the payload) and
otherwise says why the frame is ignored: unknown types quietly, malformed frames loudly.
"""

from __future__ import annotations

import contextlib
import logging

import orjson

from arcp.codec import DecodeError, decode_object
from arcp_gen.messages import Message
from arcp_gen.registry import MESSAGE_MODELS

__all__ = ["salvage"]

_log = logging.getLogger("arcp.client")


def salvage(frame: bytes, exc: DecodeError) -> Message | None:
    """A frame :func:`decode` refused: accept a welcome carrying ``session_id`` only in its
    payload (wire-decisions: Envelope); ignore unknown types and anything malformed."""
    if exc.message_type == "session.welcome":
        with contextlib.suppress(
            DecodeError, orjson.JSONDecodeError, TypeError, AttributeError, KeyError
        ):
            env = orjson.loads(frame)
            sid = env["payload"].get("session_id")
            if isinstance(sid, str) and not env.get("session_id"):
                env["session_id"] = sid
                return decode_object(env)
    if exc.message_type is not None and exc.message_type not in MESSAGE_MODELS:
        _log.debug("ignoring a message of unknown type %r", exc.message_type)
    else:
        _log.warning("ignoring an undecodable frame: %s", exc.message)
    return None
