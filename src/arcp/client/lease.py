"""Typed lease builders for ``client.submit`` and the client's view of credentials (§9).

``Lease().fs_read("/data/**").tool_call("search.*").budget("USD", "1.00")`` builds a
``lease_request``; ``LeaseConstraints.expires_in(seconds=30)`` builds ``lease_constraints``.
Both are read-only mappings, so ``client.submit(lease=..., lease_constraints=...)`` takes them
as they are. Every builder call returns a new object.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from arcp.ids import utc_timestamp
from arcp.protocol.lease import Lease as _ValidatedLease
from arcp.protocol.lease import format_amount, parse_amount, pattern_list

__all__ = ["Lease", "LeaseConstraints", "ProvisionedCredential"]


class Lease(Mapping[str, list[str]]):
    """An immutable ``lease_request`` builder: namespace -> patterns (§9.1, §9.2)."""

    __slots__ = ("_grants",)

    def __init__(self, grants: Mapping[str, list[str] | tuple[str, ...]] | None = None) -> None:
        # A string is refused, never split into one-character patterns (§9.2).
        self._grants: dict[str, list[str]] = {
            namespace: pattern_list(namespace, patterns)
            for namespace, patterns in (grants or {}).items()
        }
        _ValidatedLease.from_request(self._grants)  # INVALID_REQUEST now, not at the runtime

    def __getitem__(self, namespace: str) -> list[str]:
        return list(self._grants[namespace])

    def __iter__(self) -> Iterator[str]:
        return iter(self._grants)

    def __len__(self) -> int:
        return len(self._grants)

    def __repr__(self) -> str:
        return f"Lease({self._grants!r})"

    def to_wire(self) -> dict[str, list[str]]:
        """The ``lease_request`` JSON object."""
        return {namespace: list(patterns) for namespace, patterns in self._grants.items()}

    def grant(self, namespace: str, *patterns: str) -> Lease:
        """Add ``patterns`` to ``namespace`` (reserved or ``x-vendor.*``)."""
        grants = self.to_wire()
        existing = grants.setdefault(namespace, [])
        existing.extend(p for p in patterns if p not in existing)
        return Lease(grants)

    def fs_read(self, *paths: str) -> Lease:
        """Grant ``fs.read`` on path globs (``**`` crosses ``/``)."""
        return self.grant("fs.read", *paths)

    def fs_write(self, *paths: str) -> Lease:
        """Grant ``fs.write`` on path globs."""
        return self.grant("fs.write", *paths)

    def net_fetch(self, *urls: str) -> Lease:
        """Grant ``net.fetch`` on URL globs."""
        return self.grant("net.fetch", *urls)

    def tool_call(self, *tools: str) -> Lease:
        """Grant ``tool.call`` on tool-name globs."""
        return self.grant("tool.call", *tools)

    def delegate(self, *agents: str) -> Lease:
        """Grant ``agent.delegate`` on agent-name globs (§10)."""
        return self.grant("agent.delegate", *agents)

    def model_use(self, *models: str) -> Lease:
        """Grant ``model.use`` on model-name globs (§9.7)."""
        return self.grant("model.use", *models)

    def budget(self, currency: str, amount: str | Decimal | int) -> Lease:
        """Cap spending in ``currency`` at ``amount`` (``cost.budget``, §9.6); replaces an
        earlier cap in the same currency."""
        cur, value = parse_amount(f"{currency}:{amount}")
        grants = self.to_wire()
        kept = [a for a in grants.get("cost.budget", []) if parse_amount(a)[0] != cur]
        grants["cost.budget"] = [*kept, format_amount(cur, value)]
        return Lease(grants)


class LeaseConstraints(Mapping[str, Any]):
    """An immutable ``lease_constraints`` object (§9.5): currently only ``expires_at``."""

    __slots__ = ("_fields",)

    def __init__(self, expires_at: datetime | None = None) -> None:
        self._fields: dict[str, Any] = {}
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise ValueError("expires_at must be timezone-aware")
            self._fields["expires_at"] = utc_timestamp(expires_at)

    @classmethod
    def expires_in(
        cls, seconds: float = 0, *, minutes: float = 0, hours: float = 0
    ) -> LeaseConstraints:
        """A lease that expires that long from now (wall clock, UTC)."""
        delta = timedelta(seconds=seconds, minutes=minutes, hours=hours)
        if delta <= timedelta(0):
            raise ValueError("the expiry must lie in the future")
        return cls(datetime.now(UTC) + delta)

    @property
    def expires_at(self) -> str | None:
        """The ``expires_at`` text (RFC 3339 with ``Z``), or None."""
        return self._fields.get("expires_at")

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"LeaseConstraints({self._fields!r})"


@dataclass(frozen=True, slots=True)
class ProvisionedCredential:
    """A job's credential as the submitter holds it (§9.8.1); ``repr`` never shows ``value``.

    Treat ``value`` as a secret and drop it when the job ends (§9.8.2).
    """

    id: str
    scheme: str
    value: str = field(repr=False)
    endpoint: str
    profile: str | None = None
    constraints: Mapping[str, Any] | None = None

    @classmethod
    def from_wire(cls, wire: Any) -> ProvisionedCredential:
        """From a generated ``Credential`` model (or its JSON object)."""
        data: Mapping[str, Any] = (
            wire.model_dump(by_alias=True, exclude_none=True)
            if hasattr(wire, "model_dump")
            else wire
        )
        return cls(
            id=str(data["id"]),
            scheme=str(data["scheme"]),
            value=str(data["value"]),
            endpoint=str(data["endpoint"]),
            profile=data.get("profile"),
            constraints=data.get("constraints"),
        )

    def rotated(self, value: str) -> ProvisionedCredential:
        """The same credential with a new value (``status credential_rotated``)."""
        return ProvisionedCredential(
            self.id, self.scheme, value, self.endpoint, self.profile, self.constraints
        )
