"""The sans-IO authority gate of a job (§9.3-§9.7, §10) with a fake monotonic clock."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from arcp.ids import utc_timestamp
from arcp.protocol.authority import JobAuthority
from arcp.protocol.lease import Lease
from arcp_gen.errors import (
    BudgetExhaustedError,
    InvalidRequestError,
    LeaseExpiredError,
    LeaseSubsetViolationError,
    PermissionDeniedError,
)


def _in(seconds: float) -> dict[str, Any]:
    return {"expires_at": utc_timestamp(datetime.now(UTC) + timedelta(seconds=seconds))}


def _authority(grants: dict[str, list[str]], constraints: Any = None, **kw: Any) -> JobAuthority:
    return JobAuthority.accept(
        Lease.from_request(grants), constraints, now=100.0, wall_now=time.time(), **kw
    )


def test_gate_checks_expiry_then_budget_then_coverage() -> None:
    """wire-decisions Leases: the first failing check, in that order, is what is raised."""
    auth = _authority({"fs.read": ["/data/**"], "cost.budget": ["USD:1"]}, _in(10), grace=0)
    auth.gate("fs.read", "/data/a", 100.0)
    with pytest.raises(PermissionDeniedError):
        auth.gate("fs.read", "/etc/passwd", 100.0)
    auth.charge("cost.x", 1, "USD")
    with pytest.raises(BudgetExhaustedError) as exhausted:
        auth.gate("fs.read", "/etc/passwd", 100.0)
    assert exhausted.value.retryable is False
    with pytest.raises(LeaseExpiredError) as expired:
        auth.gate("fs.read", "/etc/passwd", 111.0)
    assert expired.value.retryable is False


def test_expiry_uses_the_monotonic_clock_with_grace() -> None:
    """§9.5, §14: the deadline plus grace, on the clock the caller passes."""
    auth = _authority({}, _in(10), grace=1.0)
    assert not auth.expired(110.5)
    assert auth.expired(111.1)
    left = auth.seconds_left(100.0)
    assert left is not None and 10.5 < left <= 11.0
    assert _authority({}).seconds_left(100.0) is None


@pytest.mark.parametrize(
    "constraints",
    [
        {"expires_at": "2020-01-01T00:00:00Z"},
        {"expires_at": "2099-01-01T00:00:00+00:00"},
        {"expires_at": "tomorrow"},
    ],
)
def test_bad_expiry_is_invalid_request(constraints: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        _authority({}, constraints)


def test_cost_metrics_decrement_only_budgeted_currencies() -> None:
    """§9.6: cost.* in a budgeted unit decrements and announces what is left; the rest is
    ignored; negative or non-finite costs raise and change nothing."""
    auth = _authority({"cost.budget": ["USD:1.00", "credits:10"]})
    assert auth.charge("cost.search", 0.25, "USD") == {
        "name": "cost.budget.remaining",
        "value": 0.75,
        "unit": "USD",
    }
    assert auth.charge("tokens", 5, "USD") is None
    assert auth.charge("cost.search", 5, "EUR") is None
    assert auth.charge("cost.budget.remaining", 0.1, "USD") is None
    for bad in (-1, math.nan, math.inf, "0.1", True, None):
        with pytest.raises(InvalidRequestError):
            auth.charge("cost.search", bad, "USD")
    assert auth.charge("cost.search", 0, "USD") is None  # nothing changed: no announcement
    assert auth.budget_wire() == {"USD": 0.75, "credits": 10.0}


def test_model_policy_decides_the_no_grant_case() -> None:
    """§9.7: `require` forbids every model without a grant; `allow` permits any; a grant is
    always enforced."""
    with pytest.raises(PermissionDeniedError):
        _authority({}, model_policy="require").gate("model.use", "gpt-x", 100.0)
    _authority({}, model_policy="allow").gate("model.use", "gpt-x", 100.0)
    granted = _authority({"model.use": ["tier-fast/*"]}, model_policy="allow")
    granted.gate("model.use", "tier-fast/mini", 100.0)
    with pytest.raises(PermissionDeniedError):
        granted.gate("model.use", "gpt-x", 100.0)


def test_delegation_carves_and_reclaims_budget_and_inherits_expiry() -> None:
    """§9.4, §10: the child's budget leaves the parent at once; unspent budget comes back;
    a child without an expiry inherits the parent's."""
    parent = _authority(
        {"tool.call": ["search.*"], "cost.budget": ["USD:1.00"]}, _in(60), grace=0.5
    )
    derived = parent.derive(
        {"tool.call": ["search.web"], "cost.budget": ["USD:0.40"]},
        None,
        now=100.0,
        wall_now=time.time(),
    )
    child = derived.authority
    assert parent.budget_wire() == {"USD": 0.6}
    assert child.budget_wire() == {"USD": 0.4}
    assert child.expiry == parent.expiry and child.grace == 0.5
    assert derived.lease_constraints == {"expires_at": utc_timestamp(parent.expiry.expires_at)}  # type: ignore[union-attr]
    child.charge("cost.search", 0.1, "USD")
    parent.reclaim(child)
    assert parent.budget is not None
    assert parent.budget.remaining["USD"] == Decimal("0.9")


@pytest.mark.parametrize(
    ("grants", "constraints"),
    [
        ({"tool.call": ["*"], "cost.budget": ["USD:0.10"]}, None),
        ({"tool.call": ["search.web"], "cost.budget": ["USD:1.01"]}, None),
        ({"tool.call": ["search.web"]}, None),  # must cap USD like its parent
        ({"tool.call": ["search.web"], "cost.budget": ["USD:0.10"]}, 3600),
    ],
)
def test_delegation_never_widens(grants: dict[str, list[str]], constraints: int | None) -> None:
    parent = _authority({"tool.call": ["search.*"], "cost.budget": ["USD:1.00"]}, _in(60))
    with pytest.raises(LeaseSubsetViolationError):
        parent.derive(
            grants, _in(constraints) if constraints else None, now=100.0, wall_now=time.time()
        )
    assert parent.budget_wire() == {"USD": 1.0}  # nothing was carved
