"""Client-side failures that are not ARCP error codes; they live in :mod:`arcp.errors`, under
the SDK's one root :class:`~arcp.errors.ARCPException`, and are re-exported here."""

from __future__ import annotations

from arcp.errors import (
    ConnectionLostError,
    ReconnectFailedError,
    RequestTimeoutError,
    ResumeFailedError,
    UnsubscribedError,
)

__all__ = [
    "ConnectionLostError",
    "ReconnectFailedError",
    "RequestTimeoutError",
    "ResumeFailedError",
    "UnsubscribedError",
]
