"""One-line, human descriptions of job events (§8.2) for terminal output."""

from __future__ import annotations

from typing import Any, cast

from arcp_gen.messages import JobEventMessage
from arcp_gen.metamodel import EVENTS

__all__ = ["describe_body", "describe_event"]

_VENDOR_PREFIX = "x-vendor."
_SHOWN_FIELDS = 4


def describe_event(event: JobEventMessage) -> str:
    """``[seq] kind: summary`` for one ``job.event``."""
    payload = event.payload
    kind = payload.kind
    raw = payload.body
    body: dict[str, Any] = raw if isinstance(raw, dict) else raw.model_dump(exclude_none=True)
    get = body.get
    if kind == "log":
        text = f"{get('level')}: {get('message')}"
    elif kind == "thought":
        text = str(get("text"))
    elif kind == "status":
        message = get("message")
        text = f"{get('phase')}" + (f" ({message})" if message else "")
    elif kind == "progress":
        total = get("total")
        units = get("units") or ""
        text = (
            f"{get('current')}" + (f"/{total}" if total is not None else "") + f" {units}".rstrip()
        )
    elif kind == "metric":
        text = f"{get('name')} = {get('value')} {get('unit') or ''}".rstrip()
    elif kind == "tool_call":
        text = f"{get('tool')} ({get('call_id')})"
    elif kind == "tool_result":
        error = get("error")
        code = cast(dict[str, Any], error).get("code") if isinstance(error, dict) else error
        text = f"{get('call_id')} " + (f"error {code}" if error else "ok")
    elif kind == "result_chunk":
        text = f"chunk {get('chunk_seq')} of {get('result_id')}" + (
            "" if get("more") else " (last)"
        )
    elif kind == "artifact_ref":
        text = f"{get('uri')} ({get('content_type')})"
    elif kind == "delegate":
        text = f"{get('child_job_id')} -> {get('agent')}"
    else:
        text = describe_body(kind, body)
    return f"[{event.event_seq}] {kind}: {text}"


def describe_body(kind: str, body: dict[str, Any]) -> str:
    """The fallback summary: a spec kind (from the metamodel, e.g. one a newer schema added)
    shows its first scalar fields; a vendor kind or one this build does not know says so."""
    if kind in EVENTS:
        scalars = [f"{k}={v}" for k, v in body.items() if isinstance(v, str | int | float | bool)]
        return ", ".join(scalars[:_SHOWN_FIELDS]) or "(no fields)"
    if kind.startswith(_VENDOR_PREFIX):
        return "vendor event"
    return "event of a kind this version does not know"
