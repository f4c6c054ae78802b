"""Provisioned credentials (§9.8): the provisioner interface and a reference implementation.

A :class:`CredentialProvisioner` mints one short-lived credential per job, constrained to the
job's lease (§9.8.3), rotates it and revokes it. :class:`InProcessProvisioner` is the bundled
reference: an in-memory "gateway" that issues opaque bearer tokens and can check them, enough
for tests, demos and as a template for a real backend (LiteLLM virtual keys, vendor sub-keys,
short-lived OAuth tokens). Credential values never appear in a ``repr`` (§14).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from arcp.ids import new_id, utc_timestamp
from arcp.protocol.lease import Lease, format_amount

__all__ = [
    "CredentialProvisioner",
    "CredentialRequest",
    "InProcessProvisioner",
    "IssuedCredential",
    "RevocationError",
]


class RevocationError(Exception):
    """A provisioner could not revoke a credential now; the runtime retries (§9.8.2)."""


@dataclass(frozen=True, slots=True)
class CredentialRequest:
    """What the runtime asks a provisioner for: one job's lease-shaped credential (§9.8.3)."""

    job_id: str
    lease: Lease
    budget: Mapping[str, Decimal]
    """The budget the credential may spend: the job's remaining counters."""
    expires_at: datetime | None
    parent_job_id: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """One credential as issued (§9.8.1); ``value`` is secret and never shown by ``repr``."""

    id: str
    value: str = field(repr=False)
    endpoint: str
    scheme: str = "bearer"
    profile: str | None = None
    constraints: Mapping[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        """The ``job.accepted.credentials[]`` entry (§9.8.1)."""
        wire: dict[str, Any] = {
            "id": self.id,
            "scheme": self.scheme,
            "value": self.value,
            "endpoint": self.endpoint,
        }
        if self.profile is not None:
            wire["profile"] = self.profile
        if self.constraints:
            wire["constraints"] = dict(self.constraints)
        return wire


@runtime_checkable
class CredentialProvisioner(Protocol):
    """Mints, rotates and revokes job-scoped credentials at an upstream (§9.8.2).

    ``revoke`` must be idempotent and raise (any exception) on a failure worth retrying.
    """

    async def issue(self, request: CredentialRequest) -> IssuedCredential: ...

    async def rotate(self, credential: IssuedCredential) -> IssuedCredential: ...

    async def revoke(self, credential_id: str) -> None: ...


def lease_constraints_of(request: CredentialRequest) -> dict[str, Any]:
    """The constraints an upstream can bake in: budget, models, TTL (§9.8.3)."""
    constraints: dict[str, Any] = {}
    if request.budget:
        constraints["cost.budget"] = [
            format_amount(currency, max(amount, Decimal(0)))
            for currency, amount in request.budget.items()
        ]
    models = request.lease.patterns("model.use")
    if models:
        constraints["model.use"] = list(models)
    if request.expires_at is not None:
        constraints["expires_at"] = utc_timestamp(request.expires_at)
    return constraints


class InProcessProvisioner:
    """The reference provisioner: an in-memory gateway issuing opaque bearer tokens (§9.8).

    ``fail_revocations`` makes the next that many ``revoke`` calls fail, to exercise the
    runtime's retrying revocation outbox.
    """

    def __init__(
        self, endpoint: str = "https://gateway.invalid/v1", profile: str | None = "generic"
    ) -> None:
        self.endpoint = endpoint
        self.profile = profile
        self.fail_revocations = 0
        self._live: dict[str, IssuedCredential] = {}
        self.issued: list[str] = []
        """Every credential id ever issued, in order."""
        self.revoked: list[str] = []
        """Every credential id revoked, in order."""

    def __repr__(self) -> str:
        return f"InProcessProvisioner({self.endpoint!r}, live={len(self._live)})"

    @staticmethod
    def _token() -> str:
        return "sk-arcp-" + secrets.token_urlsafe(24)

    async def issue(self, request: CredentialRequest) -> IssuedCredential:
        """Mint a fresh credential carrying the request's constraints."""
        credential = IssuedCredential(
            id=new_id("cred"),
            value=self._token(),
            endpoint=self.endpoint,
            profile=self.profile,
            constraints=lease_constraints_of(request),
        )
        self._live[credential.id] = credential
        self.issued.append(credential.id)
        return credential

    async def rotate(self, credential: IssuedCredential) -> IssuedCredential:
        """Replace the value; the prior value stops working at once."""
        if credential.id not in self._live:
            raise KeyError("unknown or revoked credential")
        fresh = replace(credential, value=self._token())
        self._live[credential.id] = fresh
        return fresh

    async def revoke(self, credential_id: str) -> None:
        """Invalidate the credential (idempotent)."""
        if self.fail_revocations > 0:
            self.fail_revocations -= 1
            raise RevocationError("the gateway is unavailable")
        if self._live.pop(credential_id, None) is not None:
            self.revoked.append(credential_id)

    def is_live(self, credential_id: str) -> bool:
        """True while the credential is issued and not revoked."""
        return credential_id in self._live

    def accepts(self, value: str, *, model: str | None = None) -> bool:
        """What the gateway would answer for ``value`` (and, given, ``model``) (§9.8.3)."""
        for credential in self._live.values():
            if secrets.compare_digest(credential.value, value):
                if model is None:
                    return True
                patterns = (credential.constraints or {}).get("model.use")
                return patterns is None or Lease({"model.use": tuple(patterns)}).allows(
                    "model.use", model
                )
        return False
