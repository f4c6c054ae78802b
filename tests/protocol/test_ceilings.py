"""Runtime-side authority ceilings (§9.4 rules applied to submits, §14; issue #13 item 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arcp.ids import utc_timestamp
from arcp.protocol.ceilings import Ceiling, Ceilings
from arcp.protocol.lease import Lease
from arcp_gen.errors import PermissionDeniedError

NOW = datetime(2026, 5, 13, 12, 0, tzinfo=UTC)
CEILING = Ceiling.from_mapping(
    {
        "lease": {
            "fs.read": ["/workspace/**"],
            "model.use": ["tier-fast/*"],
            "cost.budget": ["USD:10"],
        },
        "max_lease_sec": 3600,
    }
)


def _at(seconds: float) -> dict[str, str]:
    return {"expires_at": utc_timestamp(NOW + timedelta(seconds=seconds))}


def test_a_lease_inside_the_ceiling_is_granted_and_inherits_its_expiry() -> None:
    """§9.4: a child without expires_at inherits its parent's: here the ceiling's."""
    asked = Lease.from_request({"fs.read": ["/workspace/app/**"], "cost.budget": ["USD:2"]})
    assert CEILING.apply(asked, None, now=NOW) == _at(3600)
    assert CEILING.apply(asked, _at(60), now=NOW) == _at(60)


@pytest.mark.parametrize(
    ("request_", "details"),
    [
        (
            {"fs.read": ["/**"], "cost.budget": ["USD:1"]},
            {"namespace": "fs.read", "pattern": "/**"},
        ),
        (
            {"model.use": ["**"], "cost.budget": ["USD:1"]},
            {"namespace": "model.use", "pattern": "**"},
        ),
        ({"fs.write": ["/workspace/x"], "cost.budget": ["USD:1"]}, {"namespace": "fs.write"}),
        ({"cost.budget": ["USD:10.01"]}, {"namespace": "cost.budget", "currency": "USD"}),
        ({"cost.budget": ["EUR:1", "USD:1"]}, {"namespace": "cost.budget", "currency": "EUR"}),
        ({"fs.read": ["/workspace/a"]}, {"namespace": "cost.budget", "currency": "USD"}),
    ],
    ids=["wider-glob", "any-model", "other-namespace", "over-budget", "other-currency", "no-cap"],
)
def test_a_lease_over_the_ceiling_is_permission_denied(
    request_: dict[str, list[str]], details: dict[str, str]
) -> None:
    """The delegation subset engine decides; a submit is refused PERMISSION_DENIED (§9.3),
    naming the offending grant."""
    with pytest.raises(PermissionDeniedError) as caught:
        CEILING.apply(Lease.from_request(request_), None, now=NOW)
    assert details.items() <= caught.value.details.items()
    assert caught.value.retryable is False


def test_an_expiry_past_the_ceiling_is_denied() -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        CEILING.apply(Lease.from_request({"cost.budget": ["USD:1"]}), _at(3601), now=NOW)
    assert caught.value.details == {"field": "lease_constraints.expires_at"}


def test_no_budget_ceiling_means_any_budget_and_no_lease_means_any_grant() -> None:
    only_fs = Ceiling.from_mapping({"lease": {"fs.read": ["/w/**"]}})
    assert only_fs.apply(Lease.from_request({"cost.budget": ["USD:99"]}), None, now=NOW) is None
    only_time = Ceiling.from_mapping({"max_lease_sec": 60})
    assert only_time.apply(Lease.from_request({"fs.read": ["/**"]}), None, now=NOW) == _at(60)


def test_ceilings_fall_back_to_the_star_entry() -> None:
    ceilings = Ceilings.from_mapping({"alice": {"max_lease_sec": 5}, "*": {"lease": {}}})
    alice = ceilings.for_principal("alice")
    assert alice is not None and alice.max_lease_sec == 5
    assert ceilings.for_principal("bob") == Ceiling(Lease())
    assert Ceilings.from_mapping({"alice": {}}).for_principal("bob") is None


@pytest.mark.parametrize(
    "entry",
    [
        {"lease": {"nope": ["x"]}},
        {"lease": {"cost.budget": ["USD"]}},
        {"max_lease_sec": "1h"},
        {"max_lease_sec": 0},
        {"leases": {}},
    ],
)
def test_a_malformed_ceiling_is_a_value_error_naming_the_principal(entry: object) -> None:
    with pytest.raises(ValueError, match="'alice'"):
        Ceilings.from_mapping({"alice": entry})
