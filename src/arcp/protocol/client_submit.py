"""Building a ``job.submit`` payload on the client (§7.1), gated on negotiated features (§6.2).

A submit that would use a feature outside the effective set (a pinned agent version without
``agent_versions``, ``expires_at`` without ``lease_expires_at``, a ``cost.budget`` or
``model.use`` grant without its flag) is refused locally with ``INVALID_REQUEST``, the same
code the runtime would answer with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from arcp.ids import utc_timestamp
from arcp_gen.errors import InvalidRequestError
from arcp_gen.features import Feature

__all__ = ["normalize_trace_id", "submit_payload"]

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")

_LEASE_FEATURES: Mapping[str, Feature] = {
    "cost.budget": Feature.COST_BUDGET,
    "model.use": Feature.MODEL_USE,
}


def _needs(features: frozenset[Feature], feature: Feature, what: str) -> None:
    if feature not in features:
        raise InvalidRequestError(
            f"{what} needs the {feature.value!r} feature, which this session did not negotiate",
            details={"feature": feature.value},
        )


def normalize_trace_id(trace_id: str) -> str:
    """A W3C trace-id (32 lowercase hex) from a trace-id or a full ``traceparent`` (§11)."""
    value = trace_id.strip().lower()
    if _TRACE_ID.match(value):
        return value
    match = _TRACEPARENT.match(value)
    if match:
        return match.group(1)
    raise InvalidRequestError("trace_id must be a W3C trace-id or traceparent")


def submit_payload(
    features: frozenset[Feature],
    agent: str,
    input: Any = None,
    *,
    lease: Mapping[str, Iterable[str]] | None = None,
    lease_constraints: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
    max_runtime_sec: float | None = None,
) -> dict[str, Any]:
    """The ``job.submit`` payload; raises :class:`InvalidRequestError` for a feature misuse."""
    if "@" in agent:
        _needs(features, Feature.AGENT_VERSIONS, "a pinned agent version")
    payload: dict[str, Any] = {"agent": agent, "input": input}
    if lease is not None:
        request: dict[str, list[str]] = {}
        for namespace, patterns in lease.items():
            feature = _LEASE_FEATURES.get(namespace)
            if feature is not None:
                _needs(features, feature, f"a {namespace!r} lease")
            request[namespace] = list(patterns)
        payload["lease_request"] = request
    if lease_constraints is not None:
        if lease_constraints.get("expires_at") is not None:
            _needs(features, Feature.LEASE_EXPIRES_AT, "lease_constraints.expires_at")
        constraints = dict(lease_constraints)
        if isinstance(constraints.get("expires_at"), datetime):
            constraints["expires_at"] = utc_timestamp(constraints["expires_at"])
        payload["lease_constraints"] = constraints
    if idempotency_key is not None:
        payload["idempotency_key"] = idempotency_key
    if max_runtime_sec is not None:
        if max_runtime_sec <= 0:
            raise InvalidRequestError("max_runtime_sec must be positive")
        whole = int(max_runtime_sec)
        payload["max_runtime_sec"] = whole if whole == max_runtime_sec else max_runtime_sec
    return payload
