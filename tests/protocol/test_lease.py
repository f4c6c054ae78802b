"""The lease value object, constraints, expiry and subsetting (§9.1-§9.6, §10, §14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcp.protocol.lease import (
    DEFAULT_EXPIRY_GRACE,
    RESERVED_NAMESPACES,
    Budget,
    Expiry,
    Lease,
    check_subset,
    is_valid_namespace,
    parse_lease_constraints,
)
from arcp_gen import models
from arcp_gen.errors import (
    ErrorCode,
    InvalidRequestError,
    LeaseExpiredError,
    LeaseSubsetViolationError,
    PermissionDeniedError,
)

NOW = datetime(2026, 5, 13, 12, 0, 0, tzinfo=UTC)


def test_reserved_namespaces() -> None:
    """§9.2 lists exactly seven reserved namespaces; others must be x-vendor.*."""
    assert sorted(RESERVED_NAMESPACES) == sorted(
        [
            "fs.read",
            "fs.write",
            "net.fetch",
            "tool.call",
            "agent.delegate",
            "cost.budget",
            "model.use",
        ]
    )
    assert is_valid_namespace("x-vendor.acme")
    for bad in ("x-vendor.", "x-vendor", "fs.exec", "FS.READ", "vendor.acme", "", "x-acme.thing"):
        assert not is_valid_namespace(bad)


def test_from_request_roundtrip() -> None:
    """§9.2: a valid lease_request is kept verbatim and echoed by to_wire."""
    request = {
        "fs.read": ["/workspace/**"],
        "net.fetch": ["https://api.example.com/**"],
        "tool.call": ["search.*", "fetch"],
        "cost.budget": ["USD:5.00", "credits:1000"],
        "model.use": ["tier-fast/*"],
        "x-vendor.acme.queue": ["jobs/*"],
        "agent.delegate": [],
    }
    lease = Lease.from_request(request)
    assert lease.to_wire() == request
    assert lease.budget_caps == {"USD": Decimal("5.00"), "credits": Decimal(1000)}
    assert lease.patterns("tool.call") == ("search.*", "fetch")
    assert lease.patterns("fs.write") == ()
    assert lease.namespaces == frozenset(request)
    assert Lease.from_request(request) == lease
    assert Lease.from_request(None).to_wire() == {}
    assert not lease.allows("cost.budget", "USD:1")
    assert not lease.allows("agent.delegate", "anyone")
    assert not lease.allows("fs.exec", "/workspace/x")


def test_accepts_generated_models() -> None:
    """The generated wire models are accepted as well as plain JSON objects (§9.2, §9.5)."""
    request = {"fs.read": ["/a/**"], "cost.budget": ["USD:1.50"]}
    lease = Lease.from_request(models.Lease.model_validate(request))
    assert lease.to_wire() == request
    constraints = models.LeaseConstraints.model_validate({"expires_at": "2026-05-13T23:42:00Z"})
    assert parse_lease_constraints(constraints, now=NOW) == datetime(
        2026, 5, 13, 23, 42, tzinfo=UTC
    )
    assert parse_lease_constraints(models.LeaseConstraints(), now=NOW) is None


def test_direct_construction_validates() -> None:
    """Building a Lease directly validates and freezes like from_request."""
    lease = Lease({"tool.call": ["a*"]})  # type: ignore[dict-item]
    assert lease.grants["tool.call"] == ("a*",)
    with pytest.raises(InvalidRequestError):
        Lease({"bogus": ("a",)})


def test_lease_is_immutable() -> None:
    lease = Lease.from_request({"tool.call": ["a"]})
    with pytest.raises(AttributeError):
        lease.grants = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        lease.grants["tool.call"] = ("b",)  # type: ignore[index]


@pytest.mark.parametrize(
    ("request_", "detail"),
    [
        ({"fs.exec": ["/x"]}, {"namespace": "fs.exec"}),
        ({"x-vendor.": ["a"]}, {"namespace": "x-vendor."}),
        ({"tool.call": [""]}, {"namespace": "tool.call", "pattern": ""}),
        ({"tool.call": "search"}, {"namespace": "tool.call"}),
        ({"tool.call": [1]}, {"namespace": "tool.call"}),
        ({"cost.budget": ["USD5"]}, {"namespace": "cost.budget", "pattern": "USD5"}),
        ({"cost.budget": ["USD:1", "USD:2"]}, {"namespace": "cost.budget", "currency": "USD"}),
        ({"fs.read": ["workspace/**"]}, {"namespace": "fs.read", "pattern": "workspace/**"}),
        ({"fs.read": ["/a/../b"]}, {"namespace": "fs.read", "pattern": "/a/../b"}),
        ({"fs.write": ["/a/./b"]}, {"namespace": "fs.write", "pattern": "/a/./b"}),
        ({"net.fetch": ["example.com/**"]}, {"namespace": "net.fetch"}),
        ({"net.fetch": ["https:///x"]}, {"namespace": "net.fetch"}),
        ({"net.fetch": ["https://u@h/x"]}, {"namespace": "net.fetch"}),
        ({"net.fetch": ["https://h/%2e%2e/x"]}, {"namespace": "net.fetch"}),
        ({1: ["a"]}, {}),
        (["tool.call"], {}),
    ],
)
def test_from_request_rejects(request_: Any, detail: dict[str, str]) -> None:
    """§9.2 malformed leases are INVALID_REQUEST with a sentence and naming details."""
    with pytest.raises(InvalidRequestError) as info:
        Lease.from_request(request_)
    err = info.value
    assert err.code is ErrorCode.INVALID_REQUEST
    assert err.message.endswith(".")
    assert "\n" not in err.message
    for key, value in detail.items():
        assert err.details[key] == value


def test_check_raises_permission_denied() -> None:
    """§9.3: an uncovered operation fails with PERMISSION_DENIED naming namespace and target."""
    lease = Lease.from_request(
        {"fs.read": ["/workspace/**"], "net.fetch": ["https://api.example.com/**"]}
    )
    lease.check("fs.read", "/workspace/a")
    with pytest.raises(PermissionDeniedError) as info:
        lease.check("fs.read", "/workspace/../etc/passwd")
    assert info.value.details == {"namespace": "fs.read", "target": "/workspace/../etc/passwd"}
    assert "fs.read" in info.value.message
    with pytest.raises(PermissionDeniedError) as info:
        lease.check("net.fetch", "https://evil.example.com/x?key=SECRET")
    assert "SECRET" not in info.value.message
    assert "SECRET" not in str(info.value.details)
    with pytest.raises(PermissionDeniedError) as info:
        lease.check("net.fetch", "https://user:SECRET@api.example.com/x")
    assert "SECRET" not in info.value.message
    assert "target" not in info.value.details


# -- lease_constraints and expiry (§9.5, §14) -----------------------------------------------


def test_parse_lease_constraints() -> None:
    """§9.5: expires_at is UTC with Z and in the future; other keys are ignored."""
    assert parse_lease_constraints(None, now=NOW) is None
    assert parse_lease_constraints({}, now=NOW) is None
    assert parse_lease_constraints({"other": 1}, now=NOW) is None
    got = parse_lease_constraints({"expires_at": "2026-05-13T23:42:00Z"}, now=NOW)
    assert got == datetime(2026, 5, 13, 23, 42, tzinfo=UTC)
    assert got is not None and got.tzinfo is not None
    frac = parse_lease_constraints({"expires_at": "2026-05-13T12:00:00.123456789Z"}, now=NOW)
    assert frac == NOW + timedelta(microseconds=123456)


@pytest.mark.parametrize(
    "value",
    [
        "2026-05-13T23:42:00+00:00",
        "2026-05-13T23:42:00",
        "2026-05-13T23:42:00z",
        "2026-05-13 23:42:00Z",
        "2026-13-13T23:42:00Z",
        "2026-05-13T25:00:00Z",
        "2026-05-13T11:59:59Z",
        "2026-05-13T12:00:00Z",
        "tomorrow",
        1_800_000_000,
        "",
    ],
)
def test_parse_lease_constraints_rejects(value: object) -> None:
    """§9.5: non-Z, invalid, past or present expires_at is INVALID_REQUEST."""
    with pytest.raises(InvalidRequestError) as info:
        parse_lease_constraints({"expires_at": value}, now=NOW)
    assert info.value.details == {"field": "lease_constraints.expires_at"}


def test_expiry_on_monotonic_clock() -> None:
    """§14: the wall deadline becomes a monotonic one at acceptance, with a grace."""
    expiry = Expiry.at_acceptance(NOW + timedelta(seconds=10), now_wall=NOW, now_monotonic=500.0)
    assert expiry.monotonic_deadline == 510.0
    assert expiry.remaining(505.0) == 5.0
    assert DEFAULT_EXPIRY_GRACE == 1.0
    assert not expiry.expired(510.5)
    assert expiry.expired(511.0)
    assert expiry.expired(510.0, grace=0.0)
    assert not expiry.expired(509.999, grace=0.0)
    expiry.check(510.9)
    with pytest.raises(LeaseExpiredError) as info:
        expiry.check(511.0)
    assert info.value.retryable is False
    with pytest.raises(ValueError):
        expiry.expired(0.0, grace=-1.0)


def test_expiry_ignores_wall_clock_jumps() -> None:
    """§14: after acceptance only the monotonic clock matters."""
    wall_after_jump = NOW + timedelta(hours=5)  # someone set the wall clock forward
    expiry = Expiry.at_acceptance(NOW + timedelta(seconds=60), now_wall=NOW, now_monotonic=0.0)
    assert wall_after_jump > expiry.expires_at
    assert not expiry.expired(30.0)


# -- subsetting (§9.4, §10) -------------------------------------------------------------------

PARENT = Lease.from_request(
    {
        "fs.read": ["/workspace/**", "/etc/hosts"],
        "net.fetch": ["https://*.example.com/**"],
        "tool.call": ["search.*", "fetch"],
        "model.use": ["tier-fast/*"],
        "cost.budget": ["USD:5.00"],
    }
)


def test_subset_accepts_narrower_child() -> None:
    """§9.4: equal or narrower grants, budget within remaining, earlier expiry."""
    child = Lease.from_request(
        {
            "fs.read": ["/workspace/src/**", "/etc/hosts"],
            "net.fetch": ["https://api.example.com/v1/**"],
            "tool.call": ["search.web"],
            "model.use": ["tier-fast/small"],
            "cost.budget": ["USD:2.00"],
        }
    )
    remaining = Budget(PARENT.budget_caps)
    remaining.charge("USD", 3)
    assert check_subset(PARENT, child, parent_remaining=remaining) is None
    parent_exp = NOW + timedelta(hours=1)
    assert check_subset(PARENT, child, parent_expires_at=parent_exp) == parent_exp
    earlier = NOW + timedelta(minutes=5)
    assert (
        check_subset(PARENT, child, parent_expires_at=parent_exp, child_expires_at=earlier)
        == earlier
    )
    assert check_subset(PARENT, child, child_expires_at=earlier) == earlier
    assert check_subset(PARENT, PARENT) is None


@pytest.mark.parametrize(
    ("request_", "namespace", "pattern"),
    [
        ({"fs.read": ["/**"]}, "fs.read", "/**"),
        ({"fs.read": ["/workspace/**", "/etc/*"]}, "fs.read", "/etc/*"),
        ({"fs.write": ["/workspace/x"]}, "fs.write", "/workspace/x"),
        ({"net.fetch": ["https://example.com/**"]}, "net.fetch", "https://example.com/**"),
        ({"net.fetch": ["http://api.example.com/**"]}, "net.fetch", "http://api.example.com/**"),
        ({"tool.call": ["search.**"]}, "tool.call", "search.**"),
        ({"tool.call": ["*"]}, "tool.call", "*"),
        ({"model.use": ["tier-slow/*"]}, "model.use", "tier-slow/*"),
        ({"agent.delegate": ["helper"]}, "agent.delegate", "helper"),
        ({"x-vendor.acme": ["a"]}, "x-vendor.acme", "a"),
    ],
)
def test_subset_rejects_wider_grant(
    request_: dict[str, list[str]], namespace: str, pattern: str
) -> None:
    """§9.4: a grant the parent does not cover is LEASE_SUBSET_VIOLATION naming it."""
    child = Lease.from_request({**request_, "cost.budget": ["USD:1"]})
    with pytest.raises(LeaseSubsetViolationError) as info:
        check_subset(PARENT, child)
    assert info.value.details == {"namespace": namespace, "pattern": pattern}


def test_subset_budget_rules() -> None:
    """§9.4 budget: at most the parent's remaining, same currencies, no unbudgeted child."""
    remaining = Budget(PARENT.budget_caps)
    remaining.charge("USD", 3)
    too_much = Lease.from_request({"cost.budget": ["USD:2.01"]})
    with pytest.raises(LeaseSubsetViolationError) as info:
        check_subset(PARENT, too_much, parent_remaining=remaining)
    assert info.value.details["pattern"] == "USD:2.01"
    check_subset(PARENT, too_much)  # against the untouched caps it fits
    with pytest.raises(LeaseSubsetViolationError) as info:
        check_subset(PARENT, Lease.from_request({"cost.budget": ["USD:1", "EUR:1"]}))
    assert info.value.details["currency"] == "EUR"
    with pytest.raises(LeaseSubsetViolationError) as info:
        check_subset(PARENT, Lease.from_request({"tool.call": ["fetch"]}))
    assert info.value.details == {"namespace": "cost.budget", "currency": "USD"}
    unbudgeted = Lease.from_request({"tool.call": ["x"]})
    with pytest.raises(LeaseSubsetViolationError):
        check_subset(unbudgeted, Lease.from_request({"cost.budget": ["USD:1"]}))
    check_subset(unbudgeted, Lease.from_request({"tool.call": ["x"]}))
    assert remaining.remaining["USD"] == Decimal(2)  # checking never carves


def test_subset_expiry_rules() -> None:
    """§9.4: a child may not outlive its parent; absent child expiry inherits the parent's."""
    parent_exp = NOW + timedelta(hours=1)
    child = Lease.from_request({"cost.budget": ["USD:1"]})
    with pytest.raises(LeaseSubsetViolationError) as info:
        check_subset(
            PARENT,
            child,
            parent_expires_at=parent_exp,
            child_expires_at=parent_exp + timedelta(seconds=1),
        )
    assert info.value.details == {"field": "lease_constraints.expires_at"}
    assert (
        check_subset(PARENT, child, parent_expires_at=parent_exp, child_expires_at=parent_exp)
        == parent_exp
    )


# -- property (a): an accepted child never authorises what its parent denies -------------------

TOKENS = ["a", "b", "/", "*", "**", "?", "."]
raw_pattern = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6).map("".join)
fs_pattern = st.lists(st.sampled_from(["a", "b", "*", "**", "?", "/"]), max_size=6).map(
    lambda parts: "/" + "".join(parts)
)
target = st.lists(st.sampled_from(["a", "b", "/", ".", "..", "c"]), max_size=8).map("".join)


def _lease(namespace: str, patterns: list[str]) -> Lease | None:
    try:
        return Lease.from_request({namespace: patterns})
    except InvalidRequestError:
        return None


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["tool.call", "fs.read"]),
    st.lists(raw_pattern, min_size=1, max_size=3),
    st.lists(raw_pattern, min_size=1, max_size=3),
    st.lists(fs_pattern, min_size=1, max_size=3),
    st.lists(fs_pattern, min_size=1, max_size=3),
    st.lists(target, min_size=1, max_size=25),
)
def test_accepted_child_never_exceeds_parent(
    namespace: str,
    parent_raw: list[str],
    child_raw: list[str],
    parent_fs: list[str],
    child_fs: list[str],
    targets: list[str],
) -> None:
    """Property (a), §9.4: whatever check_subset accepts, the parent allows too."""
    fs = namespace == "fs.read"
    parent = _lease(namespace, parent_fs if fs else parent_raw)
    child = _lease(namespace, child_fs if fs else child_raw)
    if parent is None or child is None:
        return
    try:
        check_subset(parent, child)
    except LeaseSubsetViolationError:
        return
    for raw in targets:
        for candidate in (raw, "/" + raw):
            if child.allows(namespace, candidate):
                assert parent.allows(namespace, candidate), (parent, child, candidate)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "*", "**", "?", "/"]), max_size=5).map("".join),
    st.lists(st.sampled_from(["a", "b", "*", "**", "?", "/"]), max_size=5).map("".join),
    st.sampled_from(["a", "*", "**", "a*"]),
    st.sampled_from(["a", "*", "**", "a*"]),
    st.lists(target, min_size=1, max_size=10),
)
def test_accepted_url_child_never_exceeds_parent(
    parent_path: str, child_path: str, parent_host: str, child_host: str, paths: list[str]
) -> None:
    """Property (a) for net.fetch: host and path inclusion imply URL inclusion (§9.4)."""
    parent = _lease("net.fetch", [f"https://{parent_host}/{parent_path}"])
    child = _lease("net.fetch", [f"https://{child_host}/{child_path}"])
    if parent is None or child is None:
        return
    try:
        check_subset(parent, child)
    except LeaseSubsetViolationError:
        return
    for host in ("a", "b", "ab", "a.b"):
        for path in paths:
            url = f"https://{host}/{path}"
            if child.allows("net.fetch", url):
                assert parent.allows("net.fetch", url), (parent, child, url)


@pytest.mark.parametrize(
    "grants",
    [
        {"tool.call": "search.*"},
        {"tool.call": b"search.*"},
        {"cost.budget": "USD:5"},
        {"fs.read": {"/data/**": True}},
        {"tool.call": ["ok", 5]},
        {"tool.call": None},
    ],
)
def test_a_string_is_never_split_into_patterns(grants: dict[str, Any]) -> None:
    """§9.2 (#12.1): a namespace given anything but a list of strings is INVALID_REQUEST
    naming the field, for a wire request and for a directly built Lease alike; ``"search.*"``
    used to become the patterns ``s``, ``e``, ..., ``*`` and grant every tool."""
    for build in (Lease.from_request, Lease):
        with pytest.raises(InvalidRequestError) as info:
            build(grants)  # type: ignore[arg-type]
        namespace = next(iter(grants))
        assert info.value.details["field"] == f"lease_request.{namespace}"
        assert info.value.details["namespace"] == namespace


def test_a_string_budget_gets_a_clear_message() -> None:
    """A string ``cost.budget`` says what a budget looks like, not ``'U' is not an amount``."""
    with pytest.raises(InvalidRequestError) as info:
        Lease.from_request({"cost.budget": "USD:5"})
    assert str(info.value) == (
        'lease_request.cost.budget must be a list of amounts such as ["USD:5.00"], not a string.'
    )


@pytest.mark.parametrize(
    ("namespace", "target"),
    [
        ("tool.call", ["search.web"]),
        ("tool.call", 5),
        ("fs.read", ["/data/x"]),
        ("net.fetch", None),
        ("model.use", b"mx"),
    ],
)
def test_a_target_that_is_not_a_string_is_never_covered(namespace: str, target: Any) -> None:
    """§9.3: the gate fails closed with PERMISSION_DENIED on a non-string target (a list of
    names is not checked name by name, and never crashes the matcher)."""
    lease = Lease.from_request(
        {
            "tool.call": ["*"],
            "fs.read": ["/**"],
            "net.fetch": ["https://**"],
            "model.use": ["**"],
        }
    )
    assert not lease.allows(namespace, target)
    with pytest.raises(PermissionDeniedError):
        lease.check(namespace, target)
