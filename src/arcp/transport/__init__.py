"""Transports (§4): in-memory pair, WebSocket, stdio. All implement :class:`Transport`."""

from arcp.transport.base import Transport, TransportClosed
from arcp.transport.memory import MemoryTransport, memory_pair

__all__ = ["MemoryTransport", "Transport", "TransportClosed", "memory_pair"]
