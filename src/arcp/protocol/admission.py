"""Admission of a new job, sans-IO: per-principal caps and authority ceilings (§9, §14).

Called by ``job.submit`` once the request is valid and is not an idempotent retry, before
anything changes: a refusal mints no job id and consumes no ``event_seq``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from arcp.protocol.ceilings import Ceilings
from arcp.protocol.job_table import JobTable
from arcp.protocol.lease import Lease
from arcp.protocol.limits import Limits, principal_cap
from arcp.protocol.runtime_session import RuntimeSession
from arcp_gen.errors import InvalidRequestError, PermissionDeniedError
from arcp_gen.features import Feature

__all__ = ["admit", "require_feature", "under_ceiling"]

log = logging.getLogger("arcp.runtime")


def require_feature(session: RuntimeSession, feature: Feature) -> None:
    """Refuse a request for a feature the session did not negotiate (§6.2)."""
    if feature not in session.features:
        raise InvalidRequestError(
            f"feature {feature.value!r} was not negotiated", details={"feature": feature.value}
        )


def admit(jobs: JobTable, limits: Limits, principal: str, input_bytes: int) -> None:
    """Refuse a new job past the principal's caps on unfinished jobs and retained bytes
    (inputs, logged events and results, §14): PERMISSION_DENIED, retryable once the principal is under them again."""
    if jobs.unfinished.get(principal, 0) >= limits.max_jobs_per_principal:
        cap = limits.max_jobs_per_principal
        raise principal_cap("unfinished jobs", "max_jobs_per_principal", cap)
    retained = jobs.retained(principal) + input_bytes
    if retained > limits.max_retained_bytes_per_principal:
        cap = limits.max_retained_bytes_per_principal
        raise principal_cap("bytes retained", "max_retained_bytes_per_principal", cap)


def under_ceiling(
    ceilings: Ceilings,
    session: RuntimeSession,
    lease: Lease,
    constraints: dict[str, Any] | None,
    wall_now: float,
) -> dict[str, Any] | None:
    """Check a submitted lease against the principal's ceiling (§9.4 rules, §14) at wall-clock
    time ``wall_now`` (seconds since the epoch, read by the caller); return
    the ``lease_constraints`` the job gets. PERMISSION_DENIED when over it, or when the
    ceiling sets an expiry the session cannot be told about (no ``lease_expires_at``)."""
    ceiling = ceilings.for_principal(session.principal)
    if ceiling is None:
        return constraints
    try:
        granted = ceiling.apply(lease, constraints, now=datetime.fromtimestamp(wall_now, UTC))
    except PermissionDeniedError:
        log.info("audit: principal %r lease over its ceiling: denied", session.principal)
        raise
    if (
        constraints is None
        and granted is not None
        and Feature.LEASE_EXPIRES_AT not in session.features
    ):
        raise PermissionDeniedError(
            "this principal's leases expire: negotiate lease_expires_at",
            details={"feature": Feature.LEASE_EXPIRES_AT.value},
        )
    return granted
