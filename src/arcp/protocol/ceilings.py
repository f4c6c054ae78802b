"""Runtime-side authority ceilings, sans-IO: the most a principal's job may be granted (§9, §14).

A :class:`Ceiling` is a lease a principal's requested lease must fit in, with the same glob
subset, budget and expiry rules as delegation (§9.4, ``check_subset``), plus an optional
longest lease lifetime. The runtime is the "parent" of every submitted job: a request that
does not fit is refused with ``PERMISSION_DENIED`` (§9.3: the runtime's policy rejects it; a
submit is not a delegation, so not ``LEASE_SUBSET_VIOLATION``). A request without
``expires_at`` under a ceiling with ``max_lease_sec`` inherits the ceiling's expiry, as a
child inherits its parent's (§9.4).

:class:`Ceilings` maps principals to ceilings; ``"*"`` is every other principal. Without a
ceiling for a principal, any lease is granted (the default: no ``Ceilings`` at all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from arcp.ids import utc_timestamp
from arcp.protocol.lease import (
    BUDGET_NAMESPACE,
    Lease,
    check_subset,
    parse_lease_constraints,
)
from arcp_gen.errors import LeaseSubsetViolationError, PermissionDeniedError

__all__ = ["ANY_PRINCIPAL", "Ceiling", "Ceilings"]

ANY_PRINCIPAL: Final = "*"
"""The :class:`Ceilings` key that applies to every principal without its own entry."""


@dataclass(frozen=True, slots=True)
class Ceiling:
    """The most one principal's jobs may hold: ``lease`` (None: any namespace and pattern)
    and ``max_lease_sec`` (None: leases may be unbounded in time)."""

    lease: Lease | None = None
    max_lease_sec: float | None = None

    def __post_init__(self) -> None:
        if self.max_lease_sec is not None and self.max_lease_sec <= 0:
            raise ValueError("max_lease_sec must be positive")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Ceiling:
        """``{"lease": {namespace: [pattern, ...]}, "max_lease_sec": seconds}``, both optional.

        Raises ValueError for unknown keys or a malformed lease."""
        unknown = set(data) - {"lease", "max_lease_sec"}
        if unknown:
            raise ValueError(f"unknown ceiling keys: {', '.join(sorted(unknown))}")
        raw = data.get("lease")
        try:
            lease = None if raw is None else Lease.from_request(raw)
        except Exception as exc:  # InvalidRequestError: a config error here, not a wire one
            raise ValueError(f"ceiling lease: {exc}") from None
        seconds = data.get("max_lease_sec")
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float)
        ):
            raise ValueError("max_lease_sec must be a number of seconds")
        return cls(lease, None if seconds is None else float(seconds))

    def apply(
        self, requested: Lease, constraints: Mapping[str, Any] | None, *, now: datetime
    ) -> dict[str, Any] | None:
        """Check a submitted lease against this ceiling (§9.4 rules); return the
        ``lease_constraints`` the job gets (``expires_at`` inherited when needed).

        ``constraints`` must already be valid (a future ``Z`` ``expires_at``, §9.5).
        Raises PermissionDeniedError naming the first grant, budget or expiry over it.
        """
        ceiling_expires = (
            now + timedelta(seconds=self.max_lease_sec) if self.max_lease_sec is not None else None
        )
        asked_expires = parse_lease_constraints(constraints, now=now)
        try:
            if self.lease is not None:
                child = requested
                if not self.lease.budget_caps and BUDGET_NAMESPACE in requested.grants:
                    child = _without_budget(requested)  # no budget ceiling: any budget fits
                check_subset(self.lease, child)
            if ceiling_expires is not None and asked_expires is not None:
                check_subset(
                    Lease(),
                    Lease(),
                    parent_expires_at=ceiling_expires,
                    child_expires_at=asked_expires,
                )
        except LeaseSubsetViolationError as err:
            raise PermissionDeniedError(
                "The requested lease exceeds the runtime's ceiling for this principal.",
                details=err.details,
            ) from None
        if asked_expires is None and ceiling_expires is not None:
            inherited = dict(constraints or {})
            inherited["expires_at"] = utc_timestamp(ceiling_expires)
            return inherited
        return None if constraints is None else dict(constraints)


@dataclass(frozen=True, slots=True)
class Ceilings:
    """Ceilings per principal; ``"*"`` applies to principals without their own (§14)."""

    by_principal: Mapping[str, Ceiling] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Ceilings:
        """``{principal: {"lease": ..., "max_lease_sec": ...}, "*": {...}}``; ValueError on
        a malformed entry, naming the principal."""
        out: dict[str, Ceiling] = {}
        for principal, entry in data.items():
            if not isinstance(entry, Mapping):
                raise ValueError(f"ceiling for {principal!r} must be a table/object")
            try:
                out[str(principal)] = Ceiling.from_mapping(entry)  # pyright: ignore[reportUnknownArgumentType]
            except ValueError as exc:
                raise ValueError(f"ceiling for {principal!r}: {exc}") from None
        return cls(MappingProxyType(out))

    def for_principal(self, principal: str) -> Ceiling | None:
        """The ceiling that applies to ``principal``, or None (anything is granted)."""
        ceilings = self.by_principal
        found = ceilings.get(principal)
        return found if found is not None else ceilings.get(ANY_PRINCIPAL)


def _without_budget(lease: Lease) -> Lease:
    grants = {ns: p for ns, p in lease.grants.items() if ns != BUDGET_NAMESPACE}
    return Lease(MappingProxyType(grants))
