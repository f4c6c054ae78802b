"""One job's authority, sans-IO: the single gate every authority-bearing operation passes (§9).

:class:`JobAuthority` bundles the effective :class:`Lease`, the monotonic :class:`Expiry`
and the :class:`Budget` counters of a job. :meth:`JobAuthority.gate` checks, in order,
expiry (``LEASE_EXPIRED``), every budget counter (``BUDGET_EXHAUSTED``) and coverage
(``PERMISSION_DENIED``) before anything is dispatched (wire-decisions: Leases). The clock is a
parameter; nothing here sleeps or does I/O.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal

from arcp.ids import utc_timestamp
from arcp.protocol.lease import (
    DEFAULT_EXPIRY_GRACE,
    Budget,
    Expiry,
    Lease,
    check_subset,
    parse_lease_constraints,
)
from arcp.protocol.lease_budget import wire_number
from arcp_gen.errors import InvalidRequestError, LeaseExpiredError

__all__ = [
    "MODEL_NAMESPACE",
    "ChildAuthority",
    "JobAuthority",
    "ModelPolicy",
    "wire_expires_at",
]

log = logging.getLogger("arcp.runtime")

MODEL_NAMESPACE: Final = "model.use"
ModelPolicy = Literal["require", "allow"]
"""§9.7: without a ``model.use`` grant, ``require`` forbids every model, ``allow`` permits any."""


def wire_expires_at(expires_at: datetime) -> str:
    """``expires_at`` as the RFC 3339 ``Z`` text echoed in ``lease_constraints`` (§9.5)."""
    return utc_timestamp(expires_at)


@dataclass(slots=True)
class ChildAuthority:
    """What :meth:`JobAuthority.derive` hands a delegated child (§9.4, §10)."""

    authority: JobAuthority
    lease_wire: dict[str, list[str]]
    lease_constraints: dict[str, Any] | None


@dataclass(slots=True)
class JobAuthority:
    """The lease, expiry and budget of one job, and the gate over them (§9.3-§9.7)."""

    lease: Lease
    expiry: Expiry | None = None
    budget: Budget | None = None
    grace: float = DEFAULT_EXPIRY_GRACE
    model_policy: ModelPolicy = "require"
    _announced: dict[str, Decimal] = field(default_factory=lambda: {}, repr=False)

    @classmethod
    def accept(
        cls,
        lease: Lease,
        constraints: Mapping[str, Any] | None,
        *,
        now: float,
        wall_now: float,
        grace: float = DEFAULT_EXPIRY_GRACE,
        model_policy: ModelPolicy = "require",
    ) -> JobAuthority:
        """The authority of a job accepted now (``now`` on the monotonic clock, ``wall_now``
        the wall clock at the same moment, in seconds since the epoch; §9.5, §9.6).

        Raises InvalidRequestError for a past or non-``Z`` ``expires_at``.
        """
        wall = datetime.fromtimestamp(wall_now, UTC)
        expires_at = parse_lease_constraints(constraints, now=wall)
        expiry = (
            Expiry.at_acceptance(expires_at, now_wall=wall, now_monotonic=now)
            if expires_at is not None
            else None
        )
        budget = Budget(lease.budget_caps) if lease.budget_caps else None
        return cls(lease, expiry, budget, grace, model_policy)

    # -- the gate (§9.3) ---------------------------------------------------------------

    def gate(self, namespace: str, target: str, now: float) -> None:
        """Authorize one operation: expiry, then budget, then coverage; raise the first failure."""
        expiry = self.expiry
        if expiry is not None and expiry.expired(now, self.grace):
            raise LeaseExpiredError(
                f"The lease expired at {wire_expires_at(expiry.expires_at)}.",
                details={"expires_at": wire_expires_at(expiry.expires_at)},
            )
        if self.budget is not None:
            self.budget.check()
        if (
            namespace == MODEL_NAMESPACE
            and self.model_policy == "allow"
            and MODEL_NAMESPACE not in self.lease.grants
        ):
            return
        self.lease.check(namespace, target)

    def expired(self, now: float) -> bool:
        """True once the lease is past its expiry plus grace (§9.5)."""
        return self.expiry is not None and self.expiry.expired(now, self.grace)

    def seconds_left(self, now: float) -> float | None:
        """Seconds until the watchdog should end the job (grace included), or None."""
        if self.expiry is None:
            return None
        return max(0.0, self.expiry.remaining(now) + self.grace)

    # -- budgets (§9.6) ------------------------------------------------------------------

    def charge(self, name: str, value: Any, unit: str | None) -> dict[str, Any] | None:
        """Apply a ``metric`` to the budget; the ``cost.budget.remaining`` body to emit, or None.

        Only ``cost.*`` metrics in a budgeted currency count. A negative or non-finite value
        raises InvalidRequestError and changes nothing.
        """
        budget = self.budget
        if budget is None or unit is None or not name.startswith("cost.") or unit not in budget:
            return None
        if name == "cost.budget.remaining":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise InvalidRequestError("cost metrics must be numbers")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidRequestError("cost metrics must be finite numbers")
        if not budget.charge(unit, value):
            return None
        left = budget.remaining[unit]
        if self._announced.get(unit) == left:
            return None
        self._announced[unit] = left
        return {"name": "cost.budget.remaining", "value": wire_number(left), "unit": unit}

    def budget_wire(self) -> dict[str, float] | None:
        """The current counters as JSON numbers, or None without ``cost.budget`` (§7.6)."""
        return self.budget.to_wire() if self.budget is not None else None

    # -- delegation (§9.4, §10) -------------------------------------------------------------

    def derive(
        self,
        lease_request: Mapping[str, Any] | None,
        constraints: Mapping[str, Any] | None,
        *,
        now: float,
        wall_now: float,
    ) -> ChildAuthority:
        """Check a delegated lease against this one and carve the child's budget out of ours.

        Raises InvalidRequestError (malformed) or LeaseSubsetViolationError (§9.4). The
        child's expiry is the earlier of both and inherited when absent.
        """
        child = Lease.from_request(lease_request)
        wall = datetime.fromtimestamp(wall_now, UTC)
        child_expires_at = parse_lease_constraints(constraints, now=wall)
        parent_expires_at = self.expiry.expires_at if self.expiry is not None else None
        effective = check_subset(
            self.lease,
            child,
            parent_remaining=self.budget,
            parent_expires_at=parent_expires_at,
            child_expires_at=child_expires_at,
        )
        budget: Budget | None = None
        if self.budget is not None:
            budget = self.budget.carve(child.budget_caps)
        expiry: Expiry | None = None
        if effective is not None:
            if self.expiry is not None and effective == self.expiry.expires_at:
                expiry = self.expiry
            else:
                expiry = Expiry.at_acceptance(effective, now_wall=wall, now_monotonic=now)
        authority = JobAuthority(child, expiry, budget, self.grace, self.model_policy)
        shown = {"expires_at": wire_expires_at(effective)} if effective is not None else None
        return ChildAuthority(authority, child.to_wire(), shown)

    def reclaim(self, child: JobAuthority) -> None:
        """Give back what a finished child carved but did not spend (§10)."""
        if self.budget is not None and child.budget is not None:
            self.budget.restore(child.budget)
