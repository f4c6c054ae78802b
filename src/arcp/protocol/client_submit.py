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
from typing import Any, cast

from pydantic import ValidationError

from arcp.codec import check_numbers, describe_validation_error
from arcp.ids import utc_timestamp
from arcp.protocol.lease import pattern_list
from arcp_gen.errors import InvalidRequestError
from arcp_gen.features import Feature
from arcp_gen.models import JobSubmitPayload

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
    """The ``job.submit`` payload (§7.1), checked against the generated schema before it is
    sent: a malformed argument raises :class:`InvalidRequestError` naming the field (its
    ``details.field``), the same code the runtime would answer with. Nothing is coerced: a
    lease namespace given a string instead of a list is refused, never split (§9.2).
    """
    if isinstance(agent, str) and "@" in agent:  # pyright: ignore[reportUnnecessaryIsInstance]
        _needs(features, Feature.AGENT_VERSIONS, "a pinned agent version")
    payload: dict[str, Any] = {"agent": agent, "input": input}
    if lease is not None:
        payload["lease_request"] = _lease_request(features, lease)
    if lease_constraints is not None:
        payload["lease_constraints"] = _constraints(features, lease_constraints)
    if idempotency_key is not None:
        payload["idempotency_key"] = idempotency_key
    if max_runtime_sec is not None:
        payload["max_runtime_sec"] = _max_runtime(max_runtime_sec)
    _validate(payload)
    check_numbers(input, "input")
    return payload


def _lease_request(features: frozenset[Feature], lease: object) -> dict[str, list[str]]:
    if not isinstance(lease, Mapping):
        raise InvalidRequestError(
            "lease_request must be an object of namespace to pattern list",
            details={"field": "lease_request"},
        )
    request: dict[str, list[str]] = {}
    for namespace, patterns in cast(Mapping[object, object], lease).items():
        if not isinstance(namespace, str):
            raise InvalidRequestError(
                "lease_request namespaces must be strings", details={"field": "lease_request"}
            )
        request[namespace] = pattern_list(namespace, patterns)
        feature = _LEASE_FEATURES.get(namespace)
        if feature is not None:
            _needs(features, feature, f"a {namespace!r} lease")
    return request


def _constraints(features: frozenset[Feature], constraints: object) -> dict[str, Any]:
    if not isinstance(constraints, Mapping):
        raise InvalidRequestError(
            "lease_constraints must be an object", details={"field": "lease_constraints"}
        )
    result = dict(cast(Mapping[str, Any], constraints))
    if result.get("expires_at") is not None:
        _needs(features, Feature.LEASE_EXPIRES_AT, "lease_constraints.expires_at")
    if isinstance(result.get("expires_at"), datetime):
        result["expires_at"] = utc_timestamp(result["expires_at"])
    check_numbers(result, "lease_constraints")
    return result


def _max_runtime(value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(
            "max_runtime_sec must be a number of seconds", details={"field": "max_runtime_sec"}
        )
    check_numbers(value, "max_runtime_sec")
    if value <= 0:
        raise InvalidRequestError(
            "max_runtime_sec must be positive", details={"field": "max_runtime_sec"}
        )
    whole = int(value)
    return whole if whole == value else float(value)


def _validate(payload: dict[str, Any]) -> None:
    """Check the payload with the generated ``JobSubmitPayload`` model (strict, §7.1)."""
    try:
        JobSubmitPayload.model_validate(payload, strict=True)
    except ValidationError as exc:
        where, reason = describe_validation_error(exc)
        raise InvalidRequestError(
            f"invalid job.submit: {where} {reason}", details={"field": where}
        ) from None
