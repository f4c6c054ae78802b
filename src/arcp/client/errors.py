"""Client-side failures that are not ARCP error codes; defined in the leaf :mod:`arcp.sdk_errors`
under the SDK's one root :class:`~arcp.errors.ARCPException`, re-exported here and in
:mod:`arcp.errors`."""

from __future__ import annotations

from arcp.sdk_errors import (
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
