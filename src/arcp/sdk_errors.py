"""The SDK's own failures that are not ARCP error codes (§6.3, §7.6), in a leaf module.

Every layer may raise them (the sans-IO client core, the asyncio client), so they depend on
nothing but the generated root :class:`~arcp_gen.errors.ARCPException`. Applications import
them from :mod:`arcp.errors`, which re-exports them with every other exception.
"""

from __future__ import annotations

from arcp_gen.errors import ARCPException

__all__ = [
    "ConnectionLostError",
    "ReconnectFailedError",
    "RequestTimeoutError",
    "ResumeFailedError",
    "UnsubscribedError",
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
