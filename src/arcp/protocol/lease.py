"""The lease model of ARCP (§9, §10): parsing, coverage, expiry, budgets, subsetting.

Pure: no I/O, no clocks of its own. The runtime's authority gate calls, in order,
``Expiry.check`` (``LEASE_EXPIRED``), ``Budget.check`` (``BUDGET_EXHAUSTED``) and
``Lease.check`` (``PERMISSION_DENIED``) (wire-decisions: Leases).

Helpers live in ``lease_glob`` (globs and inclusion), ``lease_targets`` (per-namespace
targets) and ``lease_budget`` (amounts and counters); this module re-exports what callers use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, cast

from pydantic import BaseModel

from arcp.ids import parse_timestamp
from arcp.protocol.lease_budget import (
    BUDGET_NAMESPACE,
    Budget,
    format_amount,
    parse_amount,
    parse_budget,
)
from arcp.protocol.lease_glob import Glob, compile_glob, glob_includes
from arcp.protocol.lease_targets import (
    PatternError,
    TargetMatcher,
    compile_target_pattern,
    normalize_path,
    normalize_url,
    pattern_covers,
    prepare_target,
    redact_target,
)
from arcp_gen.errors import (
    InvalidRequestError,
    LeaseExpiredError,
    LeaseSubsetViolationError,
    PermissionDeniedError,
)

__all__ = [
    "BUDGET_NAMESPACE",
    "DEFAULT_EXPIRY_GRACE",
    "RESERVED_NAMESPACES",
    "Budget",
    "Expiry",
    "Glob",
    "Lease",
    "TargetMatcher",
    "check_subset",
    "compile_glob",
    "compile_target_pattern",
    "format_amount",
    "glob_includes",
    "is_valid_namespace",
    "normalize_path",
    "normalize_url",
    "not_a_pattern_list",
    "parse_amount",
    "parse_budget",
    "parse_lease_constraints",
    "pattern_covers",
    "pattern_list",
]

RESERVED_NAMESPACES: Final = frozenset(
    {
        "fs.read",
        "fs.write",
        "net.fetch",
        "tool.call",
        "agent.delegate",
        BUDGET_NAMESPACE,
        "model.use",
    }
)
"""The namespaces §9.2 reserves; any other must start with ``x-vendor.``."""

DEFAULT_EXPIRY_GRACE: Final = 1.0
"""Seconds past ``expires_at`` still tolerated (§14, wire-decisions: Leases)."""

_VENDOR_PREFIX: Final = "x-vendor."
_UTC_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")


def is_valid_namespace(namespace: str) -> bool:
    """True for a §9.2 reserved namespace or an ``x-vendor.<something>`` one."""
    return namespace in RESERVED_NAMESPACES or (
        namespace.startswith(_VENDOR_PREFIX) and len(namespace) > len(_VENDOR_PREFIX)
    )


def _invalid(message: str, **details: str) -> InvalidRequestError:
    return InvalidRequestError(message, details=details)


def pattern_list(namespace: str, patterns: object, *, where: str = "lease_request") -> list[str]:
    """The patterns granted in one lease namespace, as a list of strings (§9.1, §9.2).

    A caller-supplied value must be a list (or another non-string iterable) of strings; a
    bare string is refused with ``INVALID_REQUEST`` naming ``where.namespace``, never split
    into one-character patterns (a lone ``*`` would grant everything).
    """
    textual = isinstance(patterns, str | bytes | bytearray | Mapping)
    if textual or not isinstance(patterns, Iterable):
        raise not_a_pattern_list(namespace, cast(object, patterns), where)
    items: list[str] = []
    for pattern in cast(Iterable[object], patterns):
        if not isinstance(pattern, str):
            name = f"{where}.{namespace[:64]}"
            raise _invalid(
                f"{name} has a pattern that is not a string.",
                namespace=namespace[:200],
                field=f"{where}.{namespace[:200]}",
            )
        items.append(pattern)
    return items


def not_a_pattern_list(namespace: str, value: object, where: str) -> InvalidRequestError:
    """The ``INVALID_REQUEST`` for a namespace whose value is not an array (§9.2)."""
    name = f"{where}.{namespace[:64]}"
    what = (
        'a list of amounts such as ["USD:5.00"]'
        if namespace == BUDGET_NAMESPACE
        else ("a list of patterns")
    )
    return _invalid(
        f"{name} must be {what}, not {_kind(value)}.",
        namespace=namespace[:200],
        field=f"{where}.{namespace[:200]}",
    )


def _kind(value: object) -> str:
    if isinstance(value, str | bytes | bytearray):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


@dataclass(frozen=True, slots=True)
class Lease:
    """An immutable, validated lease: namespace -> patterns, plus parsed budget caps (§9.1).

    ``grants`` keeps the patterns exactly as requested (``cost.budget`` included) so
    ``to_wire`` echoes them; ``budget_caps`` holds the parsed ``cost.budget`` amounts.
    Constructing one validates it like :meth:`from_request`.
    """

    grants: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    budget_caps: Mapping[str, Decimal] = field(init=False, compare=False)
    _matchers: Mapping[str, tuple[TargetMatcher, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        matchers: dict[str, tuple[TargetMatcher, ...]] = {}
        caps: dict[str, Decimal] = {}
        grants = {ns: tuple(pattern_list(ns, patterns)) for ns, patterns in self.grants.items()}
        for namespace, patterns in grants.items():
            if not is_valid_namespace(namespace):
                raise _invalid(
                    f"The lease namespace {namespace[:64]!r} is neither reserved nor x-vendor.*.",
                    namespace=namespace[:200],
                )
            for pattern in patterns:
                if not pattern:
                    raise _invalid(
                        f"The lease namespace {namespace} has an empty pattern.",
                        namespace=namespace,
                        pattern=pattern,
                    )
            if namespace == BUDGET_NAMESPACE:
                caps = parse_budget(patterns)
                continue
            compiled: list[TargetMatcher] = []
            for pattern in patterns:
                try:
                    compiled.append(compile_target_pattern(namespace, pattern))
                except PatternError as exc:
                    raise _invalid(
                        f"The {namespace} pattern {pattern[:64]!r} is unusable: {exc}.",
                        namespace=namespace,
                        pattern=pattern[:200],
                    ) from None
            matchers[namespace] = tuple(compiled)
        object.__setattr__(self, "grants", MappingProxyType(grants))
        object.__setattr__(self, "budget_caps", MappingProxyType(caps))
        object.__setattr__(self, "_matchers", MappingProxyType(matchers))

    __hash__ = None  # type: ignore[assignment]  # holds mappings

    @classmethod
    def from_request(cls, request: Mapping[str, Any] | BaseModel | None) -> Lease:
        """Validate a wire ``lease_request`` (None means an empty lease) (§9.2, §9.6).

        Takes the decoded JSON object or the generated ``arcp_gen.models.Lease``.
        """
        if request is None:
            return cls()
        if isinstance(request, BaseModel):
            request = _dump(request)
        if not isinstance(request, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise _invalid("The lease must be an object of namespace to pattern list.")
        grants: dict[str, tuple[str, ...]] = {}
        for namespace, patterns in request.items():
            if not isinstance(namespace, str):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise _invalid("Lease namespaces must be strings.")
            if not isinstance(patterns, list | tuple):  # a JSON array, never coerced
                raise not_a_pattern_list(namespace, patterns, "lease_request")
            grants[namespace] = tuple(pattern_list(namespace, cast(object, patterns)))
        return cls(MappingProxyType(grants))

    def to_wire(self) -> dict[str, list[str]]:
        """The lease as JSON: ``{namespace: [pattern, ...]}``."""
        return {namespace: list(patterns) for namespace, patterns in self.grants.items()}

    @property
    def namespaces(self) -> frozenset[str]:
        """The namespaces the lease names."""
        return frozenset(self.grants)

    def patterns(self, namespace: str) -> tuple[str, ...]:
        """The patterns granted in ``namespace`` (empty when none)."""
        return self.grants.get(namespace, ())

    def allows(self, namespace: str, target: str) -> bool:
        """True when some pattern of ``namespace`` covers ``target`` (§9.3).

        Unknown namespaces and ``cost.budget`` never cover anything; relative paths,
        unusable URLs and targets that are not strings are never covered.
        """
        matchers = self._matchers.get(namespace)
        if not matchers or not isinstance(target, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            return False
        prepared = prepare_target(matchers[0].kind, target)
        if prepared is None:
            return False
        return any(m.matches_prepared(prepared) for m in matchers)

    def check(self, namespace: str, target: str) -> None:
        """Raise PermissionDeniedError unless :meth:`allows` (§9.3)."""
        if self.allows(namespace, target):
            return
        shown = redact_target(namespace, target) if isinstance(target, str) else None  # pyright: ignore[reportUnnecessaryIsInstance]
        details = {"namespace": namespace[:200]}
        if shown is None:
            message = f"The lease does not allow {namespace[:64]} on that target."
        else:
            details["target"] = shown
            message = f"The lease does not allow {namespace[:64]} on {shown}."
        raise PermissionDeniedError(message, details=details)


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def parse_lease_constraints(
    constraints: Mapping[str, Any] | BaseModel | None, *, now: datetime
) -> datetime | None:
    """The ``expires_at`` of ``lease_constraints`` as an aware UTC datetime, or None (§9.5).

    It must be written in UTC with ``Z`` and lie strictly after ``now`` (aware); otherwise
    InvalidRequestError. Other keys are ignored. Takes the decoded JSON object or the
    generated ``arcp_gen.models.LeaseConstraints``.
    """
    if constraints is None:
        return None
    if isinstance(constraints, BaseModel):
        constraints = _dump(constraints)
    if not isinstance(constraints, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise _invalid("lease_constraints must be an object.")
    raw = constraints.get("expires_at")
    if raw is None:
        return None
    if not isinstance(raw, str) or _UTC_TIMESTAMP.fullmatch(raw) is None:
        raise _invalid(
            "lease_constraints.expires_at must be an RFC 3339 UTC timestamp ending in Z.",
            field="lease_constraints.expires_at",
        )
    whole, dot, fraction = raw[:-1].partition(".")
    try:
        expires_at = parse_timestamp(f"{whole}.{fraction[:6]:0<6}Z" if dot else raw)
    except ValueError:
        raise _invalid(
            "lease_constraints.expires_at is not a valid date and time.",
            field="lease_constraints.expires_at",
        ) from None
    if expires_at <= now:
        raise _invalid(
            "lease_constraints.expires_at is not in the future.",
            field="lease_constraints.expires_at",
        )
    return expires_at


@dataclass(frozen=True, slots=True)
class Expiry:
    """A lease deadline on the monotonic clock (§9.5, §14).

    Built once at acceptance from the wall-clock ``expires_at``; afterwards only the
    monotonic clock is consulted, so wall-clock jumps cannot move it.
    """

    expires_at: datetime
    monotonic_deadline: float

    @classmethod
    def at_acceptance(
        cls, expires_at: datetime, *, now_wall: datetime, now_monotonic: float
    ) -> Expiry:
        """Map ``expires_at`` onto the monotonic clock read at ``now_monotonic``."""
        left = (expires_at - now_wall) / timedelta(seconds=1)
        return cls(expires_at, now_monotonic + left)

    def remaining(self, now_monotonic: float) -> float:
        """Seconds until the deadline (negative once past), without grace."""
        return self.monotonic_deadline - now_monotonic

    def expired(self, now_monotonic: float, grace: float = DEFAULT_EXPIRY_GRACE) -> bool:
        """True at or after the deadline plus ``grace`` seconds (§9.5)."""
        if grace < 0:
            raise ValueError("grace must not be negative")
        return now_monotonic >= self.monotonic_deadline + grace

    def check(self, now_monotonic: float, grace: float = DEFAULT_EXPIRY_GRACE) -> None:
        """Raise LeaseExpiredError when :meth:`expired` (§9.5)."""
        if self.expired(now_monotonic, grace):
            raise LeaseExpiredError("The lease has expired.")


def _covered(parent: Lease, namespace: str, child: TargetMatcher) -> bool:
    return any(pattern_covers(p, child) for p in parent._matchers.get(namespace, ()))  # pyright: ignore[reportPrivateUsage]


def check_subset(
    parent: Lease,
    child: Lease,
    *,
    parent_remaining: Budget | None = None,
    parent_expires_at: datetime | None = None,
    child_expires_at: datetime | None = None,
) -> datetime | None:
    """Check a delegated lease against its parent; return the child's effective expiry.

    Raises LeaseSubsetViolationError naming the first offending grant (§9.4, §10) when a
    child pattern is covered by no single parent pattern of its namespace, when the child's
    budget does not fit what the parent has left (``parent_remaining``, else the parent's
    caps), or when the child expires after the parent. The effective expiry is the earlier
    of both, inherited when the child gives none.
    """
    for namespace, matchers in child._matchers.items():  # pyright: ignore[reportPrivateUsage]
        for matcher in matchers:
            if not _covered(parent, namespace, matcher):
                raise LeaseSubsetViolationError(
                    f"The delegated {namespace} grant {matcher.pattern[:64]!r} "
                    "is not covered by the parent lease.",
                    details={"namespace": namespace, "pattern": matcher.pattern[:200]},
                )
    if BUDGET_NAMESPACE in child.grants or parent.budget_caps:
        budget = parent_remaining if parent_remaining is not None else Budget(parent.budget_caps)
        budget.check_carve(child.budget_caps)
    if parent_expires_at is None:
        return child_expires_at
    if child_expires_at is None:
        return parent_expires_at
    if child_expires_at > parent_expires_at:
        raise LeaseSubsetViolationError(
            "The delegated lease would expire after its parent.",
            details={"field": "lease_constraints.expires_at"},
        )
    return child_expires_at
