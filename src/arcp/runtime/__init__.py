"""The ARCP reference runtime (§6-§11): host agents and serve them over any transport."""

from arcp.runtime.bearer import TokenVerifier
from arcp.runtime.context import JobContext, ResultStream
from arcp.runtime.credentials import (
    CredentialProvisioner,
    CredentialRequest,
    InProcessProvisioner,
    IssuedCredential,
    RevocationError,
)
from arcp.runtime.delegation import ChildJob
from arcp.runtime.revocation import MemoryRevocationOutbox, PendingRevocation, RevocationOutbox
from arcp.runtime.runtime import Agent, Runtime

__all__ = [
    "Agent",
    "ChildJob",
    "CredentialProvisioner",
    "CredentialRequest",
    "InProcessProvisioner",
    "IssuedCredential",
    "JobContext",
    "MemoryRevocationOutbox",
    "PendingRevocation",
    "ResultStream",
    "RevocationError",
    "RevocationOutbox",
    "Runtime",
    "TokenVerifier",
]
