"""Bytes <-> typed envelopes: the one place that decides JSON policy (§5).

``decode`` turns a frame into a typed message (a generated ``*Message`` model, payload and
event body included); ``encode`` turns a message model or a plain envelope dict back into
compact JSON bytes. Decoding keeps unknown top-level fields (§5), and encoding a decoded
message reproduces the frame byte for byte when it was compact and in schema field order.

A frame that cannot be decoded raises :class:`DecodeError`, an ``INVALID_REQUEST`` error
(wire-decisions: Request failures) whose message is one readable sentence, never a
validator dump.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Final, Union, cast, get_args

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic_core import ErrorDetails, SchemaSerializer, from_json

from arcp_gen.errors import InvalidRequestError
from arcp_gen.messages import EVENT_KINDS, JobEventMessage, Message
from arcp_gen.registry import EVENT_MODELS, MESSAGE_ADAPTER, MESSAGE_MODELS

__all__ = [
    "INT_RANGE",
    "DecodeError",
    "check_numbers",
    "decode",
    "describe_validation_error",
    "encode",
    "loads",
]

INT_RANGE: Final = (-(1 << 63), (1 << 64) - 1)
"""The integers the codec writes exactly: signed and unsigned 64-bit (RFC 8259 §6 lets an
implementation bound numbers; orjson writes no wider integer)."""


class DecodeError(InvalidRequestError):
    """A frame that is not a valid ARCP message (``INVALID_REQUEST``).

    ``envelope_id`` and ``message_type`` are filled in when the frame got that far, so the
    receiver can correlate its ``session.error`` with the offending request.
    """

    def __init__(
        self,
        message: str,
        *,
        envelope_id: str | None = None,
        message_type: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.envelope_id = envelope_id
        self.message_type = message_type


def loads(data: bytes | str) -> Any:
    """Parse JSON with the codec's policy (orjson); raises :class:`DecodeError`."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise DecodeError("frame is not valid JSON") from None


def decode(data: bytes | str) -> Message:
    """Decode one frame into a typed message; raises :class:`DecodeError` on any problem."""
    fast, full = _validators or _compile_validators()
    try:
        message = fast.validate_json(data, strict=True)
    except ValidationError:
        pass
    else:
        if type(message) is _SPEC_JOB_EVENT:
            # The same fields, validated as the generated class would: make it that class
            # (instance class assignment, a Python language feature; the layout is shared).
            object.__setattr__(message, "__class__", JobEventMessage)
        return message
    # Refused by the fast adapter: a vendor event kind, or an invalid frame. The full
    # adapter decides, and explains a refusal.
    try:
        return full.validate_json(data, strict=True)
    except ValidationError as exc:
        raise _explain(data, exc) from None


def _spec_job_event() -> type[JobEventMessage]:
    """``JobEventMessage`` with its payload union discriminated on the ``kind`` field and
    offering the spec kinds only (§8.2).

    The generated union picks the payload model with a Python function (to map
    ``x-vendor.*`` kinds to one model), which makes pydantic-core convert every event payload
    to Python objects before validating it; a field discriminator does not. Built with
    pydantic's public ``create_model``; same fields, same order, same body models."""
    spec_payload = Annotated[Union[tuple(EVENT_MODELS.values())], Field(discriminator="kind")]  # noqa: UP007
    fields: dict[str, Any] = {"payload": (spec_payload, ...)}
    return create_model("JobEventMessage", __base__=JobEventMessage, **fields)


def _fast_adapter(spec_event: type[JobEventMessage]) -> TypeAdapter[Message]:
    """A strict adapter for every message: the generated ``Message`` union (discriminated on
    ``type``, §5) with ``job.event`` validated by ``spec_event``. Vendor and unknown event
    kinds fail it and take the full adapter, which also explains every refusal."""
    union, *metadata = get_args(Message)
    members = tuple(spec_event if m is JobEventMessage else m for m in get_args(union))
    fast: Any = Annotated[(Union[members], *metadata)]  # noqa: UP007
    return TypeAdapter(fast, config=ConfigDict(defer_build=True))


_SPEC_JOB_EVENT: Final = _spec_job_event()
_FAST_ADAPTER: Final = _fast_adapter(_SPEC_JOB_EVENT)

_validators: tuple[Any, Any] | None = None
"""The (fast, full) adapters' validators once built; ``None`` until the first decode, so
importing is cheap. Calling them directly saves the adapter's per-call argument handling."""


def _compile_validators() -> tuple[Any, Any]:
    global _validators
    for adapter in (_FAST_ADAPTER, MESSAGE_ADAPTER):
        adapter.rebuild()
    _validators = (_FAST_ADAPTER.validator, MESSAGE_ADAPTER.validator)
    return _validators


def decode_object(obj: Any) -> Message:
    """Like :func:`decode` for an already-parsed JSON value."""
    try:
        return MESSAGE_ADAPTER.validate_python(obj, strict=True)
    except ValidationError as exc:
        raise _explain_object(obj, exc) from None


def encode(message: BaseModel | Mapping[str, Any]) -> bytes:
    """Compact JSON bytes for a message model (unset fields omitted) or an envelope dict."""
    if isinstance(message, BaseModel):
        cls = type(message)
        serializer = _SERIALIZERS.get(cls) or _serializer(cls)
        return serializer.to_json(message, by_alias=True, exclude_unset=True)
    return orjson.dumps(message)


_SERIALIZERS: dict[type[BaseModel], SchemaSerializer] = {}
"""Model class -> the serializer of its public ``TypeAdapter``, made on its first encode."""


def _serializer(cls: type[BaseModel]) -> SchemaSerializer:
    adapter = TypeAdapter(cls)
    adapter.rebuild()
    serializer = adapter.serializer
    _SERIALIZERS[cls] = serializer
    return serializer


def check_numbers(value: Any, where: str) -> None:
    """Refuse a value JSON cannot carry exactly: ``NaN``, an infinity (``1e400`` parses as
    one) or an integer outside :data:`INT_RANGE` (RFC 8259 §6).

    Raises :class:`arcp_gen.errors.InvalidRequestError` naming the offending ``field``
    (``where`` plus the path inside ``value``). Walks containers iteratively (no recursion
    limit); meant for request payloads, not for every event.
    """
    low, high = INT_RANGE
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise _number_error(path, "must be a finite number (JSON has no NaN or Infinity)")
        elif isinstance(item, int):
            if not low <= item <= high and not isinstance(item, bool):
                raise _number_error(path, "is an integer outside the 64-bit range")
        elif isinstance(item, dict):
            for key, child in cast(dict[Any, Any], item).items():
                if isinstance(child, _WALKED):
                    stack.append((cast(Any, child), f"{path}.{key}"))
        elif isinstance(item, list | tuple):
            for index, child in enumerate(cast(list[Any], item)):
                if isinstance(child, _WALKED):
                    stack.append((cast(Any, child), f"{path}[{index}]"))


_WALKED: Final = (dict, list, tuple, float, int)


def _number_error(path: str, reason: str) -> InvalidRequestError:
    return InvalidRequestError(f"{path[:100]} {reason}", details={"field": path[:200]})


def describe_validation_error(exc: ValidationError) -> tuple[str, str]:
    """The first problem of a validation error as ``(field, reason)``, both readable."""
    first = exc.errors(include_url=False, include_input=False)[0]
    return _location(first), _reason(first)


def _explain(data: bytes | str, exc: ValidationError) -> DecodeError:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _not_json(data)
    return _explain_object(obj, exc)


def _not_json(data: bytes | str) -> DecodeError:
    """Refuse a frame orjson cannot parse; when it uses ``NaN``, ``Infinity`` or a number a
    double cannot hold (RFC 8259 §6), say so and keep its id for correlation."""
    try:
        obj: Any = from_json(data)
    except ValueError:
        return DecodeError("frame is not valid JSON")
    env = cast(dict[str, Any], obj) if isinstance(obj, dict) else {}
    env_id = env.get("id")
    return DecodeError(
        "frame is not valid JSON: it has NaN, Infinity or a number out of range",
        envelope_id=env_id if isinstance(env_id, str) else None,
        message_type=env.get("type") if isinstance(env.get("type"), str) else None,
    )


def _explain_object(obj: Any, exc: ValidationError) -> DecodeError:
    if not isinstance(obj, dict):
        return DecodeError(f"frame must be a JSON object, not {_json_kind(obj)}")
    env = cast(dict[str, Any], obj)
    # An empty id cannot be correlated (a `request_id` is never empty, §12).
    env_id = env.get("id") if isinstance(env.get("id"), str) and env.get("id") else None
    mtype = env.get("type")
    if not isinstance(mtype, str):
        return DecodeError("envelope has no string `type`", envelope_id=env_id)
    if mtype not in MESSAGE_MODELS:
        return DecodeError(
            f"unknown message type {mtype!r}",
            envelope_id=env_id,
            message_type=mtype,
            details={"type": mtype},
        )
    arcp = env.get("arcp")
    if not (isinstance(arcp, str) and arcp.startswith("1.")):
        return DecodeError(
            f"unsupported protocol version {arcp!r}; this peer speaks ARCP 1.x",
            envelope_id=env_id,
            message_type=mtype,
            details={"type": mtype},
        )
    where, reason = describe_validation_error(exc)
    return DecodeError(
        f"invalid {mtype}: {where} {reason}",
        envelope_id=env_id,
        message_type=mtype,
        details={"type": mtype, "field": where},
    )


def _location(err: ErrorDetails) -> str:
    # Drop the discriminator tags pydantic inserts ("job.event", "log", ...) from the path.
    parts: list[str] = []
    for i, part in enumerate(err["loc"]):
        if i == 0 and isinstance(part, str) and "." in part:
            continue
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif parts and part in _TAGS:
            continue
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "envelope"


def _reason(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "missing":
        return "is required"
    if kind in ("literal_error", "enum"):
        expected = (err.get("ctx") or {}).get("expected")
        return f"must be one of {expected}" if expected else "has an unexpected value"
    if kind == "string_pattern_mismatch":
        return "does not match the required format"
    if kind in _TYPE_REASONS:
        return _TYPE_REASONS[kind]
    msg = err["msg"].removeprefix("Value error, ")
    return msg[0].lower() + msg[1:] if msg else "is invalid"


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else "a value"


_TYPE_REASONS: Final = {
    "list_type": "must be an array",
    "tuple_type": "must be an array",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "bool_type": "must be a boolean",
}
"""Readable reasons for pydantic's wrong-type errors (``input should be a valid list``)."""

_TAGS = EVENT_KINDS | {"x-vendor", "unknown"}
"""Discriminator tags pydantic puts in error locations (spec kinds, vendor and unknown)."""
