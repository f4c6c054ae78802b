"""Every exception the SDK raises, under one root: :class:`ARCPException`.

::

    ARCPException
    ├── ARCPError               a protocol error with a §12 code (generated, one class per code)
    │   └── DecodeError         an inbound frame that is not a valid envelope (INVALID_REQUEST)
    ├── ConnectionLostError     the session cannot continue over any connection
    │   ├── ReconnectFailedError    the reconnect policy gave up (§6.3)
    │   └── ResumeFailedError       the runtime would not resume the session (§6.3)
    ├── RequestTimeoutError     an operation missed its deadline (also a ``TimeoutError``)
    ├── TransportClosed         the channel closed (also a ``ConnectionError``)
    │   └── WebSocketConnectError
    ├── UnsubscribedError       ``result()`` of an unsubscribed subscription (§7.6)
    └── StoreError              a session store could not be opened or used

The protocol classes live in the generated ``arcp_gen.errors`` (which cannot import from
``arcp``), so the root is generated there too and re-exported here with them. This module is
the applications' one place to import from; inside the package each layer imports a class
from where it is defined (the SDK's own failures: :mod:`arcp.sdk_errors`, a leaf), so no
layer imports this facade, which sits above them all.
"""

from __future__ import annotations

from arcp.codec import DecodeError
from arcp.sdk_errors import (
    ConnectionLostError,
    ReconnectFailedError,
    RequestTimeoutError,
    ResumeFailedError,
    UnsubscribedError,
)
from arcp.store.base import StoreError
from arcp.transport.base import TransportClosed
from arcp.transport.websocket import WebSocketConnectError
from arcp_gen.errors import (
    ERROR_CLASSES,
    NEVER_RETRYABLE,
    RETRYABLE_DEFAULTS,
    AgentNotAvailableError,
    AgentVersionNotAvailableError,
    ARCPError,
    ARCPException,
    BudgetExhaustedError,
    DuplicateKeyError,
    ErrorCode,
    HeartbeatLostError,
    InternalError,
    InvalidRequestError,
    JobCancelledError,
    JobNotFoundError,
    JobTimeoutError,
    LeaseExpiredError,
    LeaseSubsetViolationError,
    PermissionDeniedError,
    ResumeWindowExpiredError,
    UnauthenticatedError,
    error_from_payload,
)

__all__ = [
    "ERROR_CLASSES",
    "NEVER_RETRYABLE",
    "RETRYABLE_DEFAULTS",
    "ARCPError",
    "ARCPException",
    "AgentNotAvailableError",
    "AgentVersionNotAvailableError",
    "BudgetExhaustedError",
    "ConnectionLostError",
    "DecodeError",
    "DuplicateKeyError",
    "ErrorCode",
    "HeartbeatLostError",
    "InternalError",
    "InvalidRequestError",
    "JobCancelledError",
    "JobNotFoundError",
    "JobTimeoutError",
    "LeaseExpiredError",
    "LeaseSubsetViolationError",
    "PermissionDeniedError",
    "ReconnectFailedError",
    "RequestTimeoutError",
    "ResumeFailedError",
    "ResumeWindowExpiredError",
    "StoreError",
    "TransportClosed",
    "UnauthenticatedError",
    "UnsubscribedError",
    "WebSocketConnectError",
    "error_from_payload",
]
