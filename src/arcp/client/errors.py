"""Client-side failures that are not ARCP error codes (§12 lists only what travels on the wire).

Errors the runtime reports arrive as the typed :class:`arcp_gen.errors.ARCPError` subclasses;
these two cover what only the client can observe.
"""

from __future__ import annotations

__all__ = ["ConnectionLostError", "UnsubscribedError"]


class ConnectionLostError(ConnectionError):
    """The connection to the runtime is gone and the session could not continue over a new
    one (reconnect disabled or exhausted, or the client was closed), or a request was in
    flight during a resume (§6.3) and is not safe to repeat. Jobs keep running on the runtime.
    """


class UnsubscribedError(RuntimeError):
    """``result()`` of a :class:`~arcp.client.Subscription` that was unsubscribed (§7.6)
    before its job ended."""
