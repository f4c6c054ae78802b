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
``arcp``), so the root is generated there too and re-exported here with them.
"""

from __future__ import annotations

from arcp.codec import DecodeError
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


class ConnectionLostError(ARCPException, ConnectionError):
    """The connection to the runtime is gone and the session could not continue over a new
    one (reconnect disabled, the client was closed), or a request was in flight during a
    resume (§6.3) and is not safe to repeat. Jobs keep running on the runtime."""


class ReconnectFailedError(ConnectionLostError):
    """The reconnect policy gave up: every dial failed, or the attempts ran out (§6.3)."""


class ResumeFailedError(ConnectionLostError):
    """The runtime did not resume the session (§6.3): it answered neither ``session.resume``
    nor the legacy ``session.hello`` carrying ``resume`` in time, or refused both."""


class RequestTimeoutError(ARCPException, TimeoutError):
    """An operation did not complete within its deadline: no answer to a request (``hello``,
    ``resume``, ``submit``, ``cancel``, ``subscribe``, ``unsubscribe``, ``list_jobs``,
    ``close``), or no result in time. Only that operation failed; the session stays usable.
    Not the wire code ``TIMEOUT`` (a job ran past ``max_runtime_sec``: ``JobTimeoutError``).
    """

    def __init__(self, operation: str, timeout: float) -> None:
        super().__init__(f"{operation} got no answer within {timeout:g} s")
        self.operation = operation
        """What timed out (the request type, e.g. ``job.submit``, or ``result``)."""
        self.timeout = timeout
        """The deadline that passed, in seconds."""


class UnsubscribedError(ARCPException, RuntimeError):
    """``result()`` of a :class:`~arcp.client.Subscription` that was unsubscribed (§7.6)
    before its job ended."""
