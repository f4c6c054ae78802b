"""Transports (§4): in-memory pair, WebSocket, stdio. All implement :class:`Transport`.

The ASGI adapter (:mod:`arcp.transport.asgi`, an ARCP endpoint inside Starlette/FastAPI) is
imported on its own: ``from arcp.transport.asgi import ARCPApp``.
"""

from arcp.transport.base import Transport, TransportClosed
from arcp.transport.memory import MemoryTransport, memory_pair
from arcp.transport.stdio import (
    DEFAULT_LINE_LIMIT,
    ChildProcessTransport,
    StdioTransport,
    spawn_stdio,
    stdio_transport,
)
from arcp.transport.websocket import (
    DEFAULT_MAX_SIZE,
    WebSocketConnectError,
    WebSocketServer,
    WebSocketTransport,
    connect_websocket,
    serve_websocket,
)

__all__ = [
    "DEFAULT_LINE_LIMIT",
    "DEFAULT_MAX_SIZE",
    "ChildProcessTransport",
    "MemoryTransport",
    "StdioTransport",
    "Transport",
    "TransportClosed",
    "WebSocketConnectError",
    "WebSocketServer",
    "WebSocketTransport",
    "connect_websocket",
    "memory_pair",
    "serve_websocket",
    "spawn_stdio",
    "stdio_transport",
]
