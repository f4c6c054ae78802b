"""WebSocket transport (§4): the mandatory transport for network deployments.

Built on the Sans-I/O layer of ``websockets`` (:mod:`arcp.transport.websocket_io`): one ARCP
envelope is one WebSocket text message; binary messages are accepted on receive. ``recv``
returns a message's bytes undecoded.

Defaults chosen for ARCP:

* ``max_size`` is :data:`DEFAULT_MAX_SIZE` (4 MiB) so a 1 MiB result chunk (§8.4), base64-encoded
  inside its envelope (~1.4 MiB), fits with room to spare. A larger incoming message closes the
  connection with code 1009; the peer sees :class:`TransportClosed`.
* Compression (permessage-deflate) is off unless ``compression="deflate"``: on loopback and fast
  links it halves throughput for little gain.
* No keepalive pings: ARCP sessions run their own heartbeats (§6.4). Pings from the peer are
  answered.
* A text message that is not valid UTF-8 closes the connection with code 1007 (RFC 6455
  §8.1); the receiver sees :class:`TransportClosed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from ssl import SSLContext

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.uri import parse_uri

from arcp.transport.base import TransportClosed
from arcp.transport.websocket_io import DEFAULT_MAX_SIZE, WS_LOGGER, WebSocketTransport
from arcp.transport.websocket_server import WebSocketServer, serve_websocket

__all__ = [
    "DEFAULT_MAX_SIZE",
    "WebSocketConnectError",
    "WebSocketServer",
    "WebSocketTransport",
    "connect_websocket",
    "serve_websocket",
]


class WebSocketConnectError(TransportClosed):
    """Opening a WebSocket connection failed (refused, timed out, or the handshake was rejected).

    ``status`` is the HTTP status the server answered with (e.g. 404 for a wrong path), or None
    when no HTTP response was received.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


async def connect_websocket(
    url: str,
    *,
    max_size: int | None = DEFAULT_MAX_SIZE,
    compression: str | None = None,
    open_timeout: float = 10,
    close_timeout: float = 5,
    extra_headers: Mapping[str, str] | None = None,
    ssl: SSLContext | None = None,
) -> WebSocketTransport:
    """Open a client connection to an ARCP runtime at ``url`` (``ws://`` or ``wss://``, §4).
    ``ssl`` is the TLS context for ``wss://`` (custom CA, client certificate).

    Raises :class:`WebSocketConnectError` (a :class:`TransportClosed`) when the connection is
    refused, times out, or the server rejects the handshake; ``ValueError`` for a bad URL.
    """
    if compression not in (None, "deflate"):
        raise ValueError(f"unsupported compression {compression!r}: use None or 'deflate'")
    extensions = None if compression is None else enable_client_permessage_deflate(None)
    try:
        uri = parse_uri(url)
    except InvalidURI as exc:
        raise ValueError(str(exc)) from exc
    protocol = ClientProtocol(uri, extensions=extensions, max_size=max_size, logger=WS_LOGGER)
    request = protocol.connect()
    for name, value in (extra_headers or {}).items():
        request.headers[name] = value
    tls: SSLContext | bool | None = (ssl or True) if uri.secure else None
    loop = asyncio.get_running_loop()
    transport: WebSocketTransport | None = None
    try:
        async with asyncio.timeout(open_timeout):
            _, transport = await loop.create_connection(
                lambda: WebSocketTransport(
                    protocol, close_timeout=close_timeout, max_size=max_size, request=request
                ),
                uri.host,
                uri.port,
                ssl=tls,
                server_hostname=uri.host if uri.secure else None,
            )
            await transport.opened
    except InvalidStatus as exc:
        status = exc.response.status_code
        raise WebSocketConnectError(
            f"{url}: server rejected the connection with HTTP {status}", status=status
        ) from exc
    except (InvalidHandshake, OSError, TimeoutError) as exc:
        if transport is not None:
            transport.drop()
        raise WebSocketConnectError(f"{url}: cannot connect: {exc}") from exc
    return transport
