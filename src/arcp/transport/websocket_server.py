"""The listening side of the WebSocket transport (§4): :func:`serve_websocket`.

Each accepted connection is a :class:`~arcp.transport.websocket_io.WebSocketTransport` over
``websockets``' Sans-I/O :class:`~websockets.server.ServerProtocol`, handed to the handler
in a task of its own once the opening handshake succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from ssl import SSLContext
from types import TracebackType
from typing import Any, Self

from websockets.extensions.permessage_deflate import enable_server_permessage_deflate
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from arcp.transport.base import TransportClosed
from arcp.transport.websocket_io import DEFAULT_MAX_SIZE, WS_LOGGER, WebSocketTransport

__all__ = ["WebSocketServer", "serve_websocket"]

Handler = Callable[[WebSocketTransport], Awaitable[None]]

_OPEN_TIMEOUT = 10.0
"""Seconds a connection has to complete the opening handshake before it is dropped."""


def _format_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class WebSocketServer:
    """A listening ARCP WebSocket endpoint created by :func:`serve_websocket` (§4)."""

    def __init__(self, handler: Handler, path: str | None) -> None:
        self._handler = handler
        self._path = path
        self._tasks: set[asyncio.Task[None]] = set()
        self._open: set[WebSocketTransport] = set()
        self._server: asyncio.Server | None = None
        self.host: str = ""
        """The bound address."""
        self.port: int = 0
        """The bound port (the real one when started with ``port=0``)."""

    async def listen(
        self,
        connection: Callable[[], WebSocketTransport],
        host: str,
        port: int,
        ssl: SSLContext | None,
    ) -> None:
        """Start accepting on ``host:port``; ``connection`` makes each connection's protocol."""
        loop = asyncio.get_running_loop()
        server = self._server = await loop.create_server(connection, host, port, ssl=ssl)
        name: tuple[Any, ...] = server.sockets[0].getsockname()
        self.host = str(name[0])
        self.port = int(name[1])

    @property
    def url(self) -> str:
        """``ws://host:port/path``: what a client passes to ``connect_websocket``."""
        return f"ws://{_format_host(self.host)}:{self.port}{self._path or '/'}"

    @property
    def connections(self) -> int:
        """Number of connections whose handler is still running."""
        return len(self._tasks)

    def accept(self, protocol: ServerProtocol, request: Request) -> Response:
        """Answer an opening handshake: 404 for another path, else ``websockets``' answer."""
        path = self._path
        if path is not None and request.path.partition("?")[0] != path:
            return protocol.reject(404, "Not Found\n")
        return protocol.accept(request)

    def opened(self, transport: WebSocketTransport) -> None:
        """Run the handler for a connection whose handshake succeeded."""
        task = asyncio.get_running_loop().create_task(self._run(transport))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, transport: WebSocketTransport) -> None:
        """The handler's life: its return closes with 1000, a failure (logged) with 1011;
        cancelled (server shutdown past its grace) it drops the connection."""
        self._open.add(transport)
        try:
            await self._handler(transport)
        except TransportClosed:
            pass
        except asyncio.CancelledError:
            transport.drop()
            raise
        except Exception:
            WS_LOGGER.exception("ARCP connection handler failed")
            await transport.close_with(CloseCode.INTERNAL_ERROR)
            return
        finally:
            self._open.discard(transport)
        await transport.close()

    async def close(self, *, grace: float | None = 10) -> None:
        """Stop accepting, close every connection (code 1001) and wait for the handlers.

        Handlers still running after ``grace`` seconds are cancelled. Idempotent.
        """
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        loop = asyncio.get_running_loop()
        closing = [
            loop.create_task(transport.close_with(CloseCode.GOING_AWAY))
            for transport in list(self._open)
        ]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*pending, return_exceptions=True)
        # Each ends within its close_timeout: the connection is dropped past it.
        await asyncio.gather(*closing, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def serve_websocket(
    handler: Handler,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    path: str | None = "/arcp",
    max_size: int | None = DEFAULT_MAX_SIZE,
    compression: str | None = None,
    close_timeout: float = 5,
    ssl: SSLContext | None = None,
) -> WebSocketServer:
    """Listen for ARCP WebSocket connections on ``host:port`` at ``path`` (§4); with an
    ``ssl`` server context, ``wss://``.

    Each accepted connection runs ``handler(transport)``; when it returns the connection is
    closed (code 1000; 1011 when it raised, which is logged). Requests for another path get
    HTTP 404; ``path=None`` accepts any path.
    """
    if compression not in (None, "deflate"):
        raise ValueError(f"unsupported compression {compression!r}: use None or 'deflate'")
    extensions = None if compression is None else enable_server_permessage_deflate(None)
    server = WebSocketServer(handler, path)

    def connection() -> WebSocketTransport:
        protocol = ServerProtocol(extensions=extensions, max_size=max_size, logger=WS_LOGGER)
        return WebSocketTransport(
            protocol,
            open_timeout=_OPEN_TIMEOUT,
            close_timeout=close_timeout,
            max_size=max_size,
            accept=server.accept,
            on_open=server.opened,
        )

    await server.listen(connection, host, port, ssl)
    return server
