"""The ARCP reference runtime (§6-§11): host agents and serve them over any transport."""

from arcp.protocol.ceilings import Ceiling, Ceilings
from arcp.protocol.limits import Limits
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
from arcp.runtime.policy import Policy, PolicyError, load_policy
from arcp.runtime.revocation import MemoryRevocationOutbox, PendingRevocation, RevocationOutbox
from arcp.runtime.runtime import Agent, Runtime

__all__ = [
    "Agent",
    "Ceiling",
    "Ceilings",
    "ChildJob",
    "CredentialProvisioner",
    "CredentialRequest",
    "InProcessProvisioner",
    "IssuedCredential",
    "JobContext",
    "Limits",
    "MemoryRevocationOutbox",
    "PendingRevocation",
    "Policy",
    "PolicyError",
    "ResultStream",
    "RevocationError",
    "RevocationOutbox",
    "Runtime",
    "TokenVerifier",
    "load_policy",
]
