"""arcp: schema-first Python SDK for the Agent Runtime Control Protocol (ARCP v1.1)."""

from arcp_gen.errors import ARCPError, ErrorCode
from arcp_gen.features import Feature
from arcp_gen.registry import PROTOCOL_VERSION

__all__ = ["PROTOCOL_VERSION", "ARCPError", "ErrorCode", "Feature"]

__version__ = "0.1.0"
