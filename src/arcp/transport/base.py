"""The transport contract: an ordered, reliable, message-framed duplex channel (§4).

A transport moves whole frames (one JSON text each) and knows nothing about ARCP.
Every transport in :mod:`arcp.transport` implements :class:`Transport`.

A transport may also offer ``async send_many(frames: Sequence[bytes]) -> None``: the same as
calling ``send`` for each frame in order, done with fewer writes and wake-ups. It is not part
of the protocol; callers look it up with ``getattr`` and fall back to ``send``. The memory,
WebSocket and stdio transports have it.

Likewise a transport may offer ``recv_ready() -> list[bytes]``: every frame that already
arrived, in order, taken at once without waiting (an empty list when ``recv`` would have to
wait). Frames it returns are not returned by ``recv`` again. The client's reader uses it to
take a backlog in one call; the memory, WebSocket and stdio transports have it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from arcp_gen.errors import ARCPException

__all__ = ["Transport", "TransportClosed"]


class TransportClosed(ARCPException, ConnectionError):
    """The channel is closed: by either peer, or because the connection dropped."""


@runtime_checkable
class Transport(Protocol):
    """One connection. ``send``/``recv`` move whole frames; both raise :class:`TransportClosed`
    once the channel is closed. ``recv`` returns frames in the order the peer sent them."""

    async def send(self, frame: bytes) -> None:
        """Queue one frame for the peer."""
        ...

    async def recv(self) -> bytes:
        """Wait for the next frame from the peer."""
        ...

    async def close(self) -> None:
        """Close the channel; idempotent. Pending ``recv`` calls raise ``TransportClosed``."""
        ...

    @property
    def closed(self) -> bool:
        """True once either side closed the channel."""
        ...
