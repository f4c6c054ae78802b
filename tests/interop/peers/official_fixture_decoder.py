"""The official ARCP Python SDK's models behind the fixture runner's NDJSON protocol.

This script runs inside ``.interop-venv`` (where ``import arcp`` is the official SDK from
PyPI ``agentruntimecontrolprotocol``), never in the project venv::

    arcp conformance fixtures --baseline tests/interop/official-fixtures.baseline.json \\
        -- .interop-venv/bin/python tests/interop/peers/official_fixture_decoder.py

It reads each frame the way the official SDK's read loops do (``json.loads``, then
``Envelope.from_wire``, then ``parse_payload`` by type), plus the event-body checks its
``arcp._messages`` module exports, in both roles. What it reports:

- a frame that is not a JSON object, fails the envelope model, has a type the SDK has no
  payload model for (it would pass such a payload through untyped), or fails its payload
  model or body check: ``reject`` with ``INVALID_REQUEST`` and the failing field (the
  pydantic location, payload fields prefixed ``payload.``), as the SDK's runtime answers;
- otherwise ``accept`` with the type and, for ``job.event``, the kind. The SDK has no typed
  unknown event or error code, so ``unknown`` is not reported.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from typing import Any

# `arcp` here is the official SDK: this file runs in .interop-venv, never in our venv.
from arcp._envelope import Envelope
from arcp._messages import PAYLOAD_REGISTRY, parse_payload
from arcp._messages.execution import (
    validate_metric_body,
    validate_progress_body,
    validate_result_chunk_body,
)
from pydantic import ValidationError

_BODY_CHECKS = {
    "progress": validate_progress_body,
    "result_chunk": validate_result_chunk_body,
    "metric": validate_metric_body,
}


def _field(exc: ValidationError, prefix: str) -> str | None:
    errors = exc.errors()
    if not errors:
        return None
    loc = ".".join(str(part) for part in errors[0]["loc"])
    return f"{prefix}{loc}" if loc else prefix.rstrip(".") or None


def _reject(detail: str, field: str | None = None) -> dict[str, Any]:
    return {"outcome": "reject", "code": "INVALID_REQUEST", "field": field, "detail": detail}


def answer(frame: str) -> dict[str, Any]:
    """The official SDK's verdict on one frame (without ``id``)."""
    try:
        raw = json.loads(frame)
    except ValueError:
        return _reject("not JSON")
    if not isinstance(raw, dict):
        return _reject("not a JSON object")
    try:
        env = Envelope.from_wire(raw)
    except ValidationError as exc:
        return _reject(f"envelope: {exc.errors()[0]['msg']}", _field(exc, ""))
    if env.type not in PAYLOAD_REGISTRY:
        return _reject(f"no payload model for type {env.type!r}")
    try:
        payload: Any = parse_payload(env.type, env.payload)
    except ValidationError as exc:
        return _reject(f"payload: {exc.errors()[0]['msg']}", _field(exc, "payload."))
    kind = getattr(payload, "kind", None) if env.type == "job.event" else None
    check = _BODY_CHECKS.get(kind or "")
    if check is not None:
        try:
            check(dict(payload.body))
        except (ValueError, TypeError) as exc:
            return _reject(f"body: {exc}", "payload.body")
    return {"outcome": "accept", "type": env.type, "kind": kind}


def main() -> int:
    hello = json.loads(sys.stdin.readline() or "{}")
    if hello.get("arcp_fixtures") != 1:
        print(f"unsupported runner hello: {hello!r}", file=sys.stderr)
        return 2
    version = importlib.metadata.version("agentruntimecontrolprotocol")
    mine = {"arcp_fixtures": 1, "name": "agentruntimecontrolprotocol", "version": version}
    print(json.dumps({**mine, "roles": ["client", "runtime"]}), flush=True)
    for line in sys.stdin:
        if line.strip():
            request = json.loads(line)
            print(json.dumps({"id": request["id"], **answer(request["frame"])}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
