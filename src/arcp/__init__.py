"""arcp: schema-first Python SDK for the Agent Runtime Control Protocol (ARCP v1.1).

The client (:class:`Client`) submits and observes jobs; the runtime (:class:`Runtime`)
hosts agents. Both speak the wire contract generated from ``spec/arcp-1.1.schema.json``.
"""

from arcp_gen.errors import ARCPError, ErrorCode
from arcp_gen.features import Feature
from arcp_gen.registry import PROTOCOL_VERSION

__version__ = "0.1.0"

# The client and runtime import ``__version__``, so they come after it.
from arcp.client import Client, JobHandle, Subscription
from arcp.runtime import JobContext, Runtime

__all__ = [
    "PROTOCOL_VERSION",
    "ARCPError",
    "Client",
    "ErrorCode",
    "Feature",
    "JobContext",
    "JobHandle",
    "Runtime",
    "Subscription",
    "__version__",
]
