"""WebSocket transport (§4): the mandatory transport for network deployments.

Built on the asyncio API of ``websockets``. One ARCP envelope is one WebSocket text message;
binary messages are accepted on receive. The wrapper adds no task and no copy per frame: ``send``
awaits ``websockets``' own send, ``recv`` returns its bytes undecoded.

Defaults chosen for ARCP:

* ``max_size`` is :data:`DEFAULT_MAX_SIZE` (4 MiB) so a 1 MiB result chunk (§8.4), base64-encoded
  inside its envelope (~1.4 MiB), fits with room to spare. A larger incoming message closes the
  connection with code 1009; the peer sees :class:`TransportClosed`.
* Compression (permessage-deflate) is off unless ``compression="deflate"``: on loopback and fast
  links it halves throughput for little gain.
* ``websockets``' keepalive pings are off: ARCP sessions run their own heartbeats (§6.4).
* A text message that is not valid UTF-8 closes the connection with code 1007 (RFC 6455
  §8.1); the receiver sees :class:`TransportClosed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as _ws_connect
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as _ws_serve
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import CloseCode, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State

from arcp.transport.base import TransportClosed
from arcp.transport.websocket_framing import (
    FramingClientConnection,
    plain_server,
    text_header,
    write_coalesced,
)

# websockets logs every frame's content at DEBUG, and ARCP frames carry bearer tokens,
# resume tokens and credential values (§9.8, §14). Its connections log through this logger,
# which passes warnings and errors only, whatever the application configures.
_WS_LOGGER = logging.getLogger("arcp.transport.websockets")
_WS_LOGGER.setLevel(logging.WARNING)

__all__ = [
    "DEFAULT_MAX_SIZE",
    "WebSocketConnectError",
    "WebSocketServer",
    "WebSocketTransport",
    "connect_websocket",
    "serve_websocket",
]

DEFAULT_MAX_SIZE = 4 * 1024 * 1024
"""Largest incoming message accepted by default, in bytes (a 1 MiB chunk base64'd fits)."""

_COMPRESSIONS = (None, "deflate")

_BATCH_BYTES = 256 * 1024
"""``send_many`` writes (and drains) at least once per this many bytes of frames."""


class WebSocketConnectError(TransportClosed):
    """Opening a WebSocket connection failed (refused, timed out, or the handshake was rejected).

    ``status`` is the HTTP status the server answered with (e.g. 404 for a wrong path), or None
    when no HTTP response was received.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WebSocketTransport:
    """One WebSocket connection as an ARCP :class:`Transport` (§4).

    Use a single reader task: ``websockets`` refuses concurrent ``recv`` calls. Concurrent
    ``send`` calls are fine; each frame goes out whole.
    """

    __slots__ = ("_messages", "_queue", "_ws")

    def __init__(self, connection: Connection) -> None:
        self._ws = connection
        # Messages already received and parsed by ``websockets`` wait in its assembler's
        # queue of frames; ``recv`` takes a complete one from there directly (see there).
        messages: Any = getattr(connection, "recv_messages", None)
        queue: Any = getattr(getattr(messages, "frames", None), "queue", None)
        ok = isinstance(queue, deque) and hasattr(messages, "maybe_resume")
        self._messages: Any = messages if ok else None
        self._queue: deque[Any] = queue if ok else deque()

    @property
    def connection(self) -> Connection:
        """The underlying ``websockets`` connection."""
        return self._ws

    @property
    def closed(self) -> bool:
        """True once either side started closing, or the connection dropped."""
        return self._ws.state is not State.OPEN

    @property
    def remote_address(self) -> Any:
        """The peer's socket address, e.g. ``("127.0.0.1", 53211)``."""
        return self._ws.remote_address

    @property
    def path(self) -> str | None:
        """The request path of the opening handshake (query string included)."""
        request = self._ws.request
        return None if request is None else request.path

    @property
    def request_headers(self) -> Mapping[str, str]:
        """Headers of the opening handshake request (empty if unknown)."""
        request = self._ws.request
        return {} if request is None else request.headers

    @property
    def compression(self) -> str | None:
        """``"deflate"`` when permessage-deflate was negotiated, else None."""
        for extension in self._ws.protocol.extensions:
            if extension.name == "permessage-deflate":
                return "deflate"
        return None

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code once closed (1000 normal, 1001 going away, 1009 too big)."""
        return self._ws.close_code

    async def send(self, frame: bytes) -> None:
        """Send one frame as a text message (ARCP is JSON text, §5)."""
        try:
            await self._ws.send(frame, text=True)
        except ConnectionClosed as exc:
            raise TransportClosed(f"websocket closed: {exc}") from None

    async def send_many(self, frames: Sequence[bytes]) -> None:
        """Send ``frames`` in order, each as its own text message, with one socket write and
        one drain per :data:`_BATCH_BYTES` of data instead of one per frame.

        ``websockets``' flow control still applies: after each write this waits until the
        write buffer is below its low-water mark, exactly as ``send`` does.
        """
        ws = self._ws
        try:
            while ws.send_in_progress is not None:  # a fragmented message is being sent
                await asyncio.shield(ws.send_in_progress)
            count = len(frames)
            start = 0
            while start < count:
                async with ws.send_context():
                    protocol = ws.protocol
                    size = 0
                    end = start
                    if plain_server(protocol):
                        # Unmasked, uncompressed text frames: RFC 6455 framing is a 2-10 byte
                        # header; build it here rather than one Frame object per message.
                        chunks = protocol.data_to_send()
                        append = chunks.append
                        while end < count and size < _BATCH_BYTES:
                            frame = frames[end]
                            length = len(frame)
                            append(text_header(length))
                            append(frame)
                            size += length
                            end += 1
                    else:
                        while end < count and size < _BATCH_BYTES:
                            frame = frames[end]
                            protocol.send_text(frame)
                            size += len(frame)
                            end += 1
                        chunks = protocol.data_to_send()
                    write_coalesced(ws.transport, chunks)
                start = end
        except ConnectionClosed as exc:
            raise TransportClosed(f"websocket closed: {exc}") from None

    async def recv(self) -> bytes:
        """Return the next message's bytes, text or binary, without decoding."""
        queue = self._queue
        if queue:
            # Fast path: the next message is one whole frame already parsed by
            # ``websockets``: take it as its own ``recv(decode=False)`` would (same order, same
            # flow-control bookkeeping), without three coroutine layers and a join per frame.
            messages = self._messages
            frame = queue[0]
            if frame.fin and not messages.get_in_progress:
                queue.popleft()
                messages.maybe_resume()
                data = frame.data
                data = data if type(data) is bytes else bytes(data)
                if frame.opcode is Opcode.TEXT and not data.isascii():
                    await self._check_utf8(data)
                return data
        try:
            # ``decode=None``: websockets checks a text message's UTF-8 (closing with 1007
            # when it is not) and returns str; a binary message comes back as bytes.
            data = await self._ws.recv()
        except ConnectionClosed as exc:
            raise TransportClosed(f"websocket closed: {exc}") from None
        return data.encode() if isinstance(data, str) else data

    async def _check_utf8(self, data: bytes) -> None:
        """Close with 1007 and raise TransportClosed when ``data`` is not UTF-8 (RFC 6455)."""
        try:
            data.decode()
        except UnicodeDecodeError as exc:
            ws = self._ws
            try:
                async with asyncio.timeout(ws.close_timeout), ws.send_context():
                    ws.protocol.fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")
            except (ConnectionClosed, TimeoutError):
                ws.transport.abort()  # the peer does not read: no closing handshake
            raise TransportClosed(f"websocket closed: invalid UTF-8 ({exc.reason})") from None

    def recv_ready(self) -> list[bytes]:
        """Take every complete message that already arrived, in order, without waiting (maybe
        none): what repeated ``recv`` calls would return before they had to wait."""
        queue = self._queue
        if not queue:
            return []
        messages = self._messages
        if messages.get_in_progress:
            return []
        out: list[bytes] = []
        append = out.append
        while queue:
            frame = queue[0]
            if not frame.fin:  # a fragmented message: recv() assembles it
                break
            data = frame.data
            data = data if type(data) is bytes else bytes(data)
            if frame.opcode is Opcode.TEXT and not data.isascii() and not _utf8(data):
                break  # recv() closes the connection with 1007
            queue.popleft()
            append(data)
        messages.maybe_resume()
        return out

    async def close(self) -> None:
        """Run the closing handshake (code 1000); idempotent."""
        await self._ws.close()

    async def wait_closed(self) -> None:
        """Wait until the connection is fully closed, by either side."""
        await self._ws.wait_closed()

    def drop(self) -> None:
        """Abort the TCP connection without a closing handshake, as a network failure would."""
        self._ws.transport.abort()


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _check_compression(compression: str | None) -> None:
    if compression not in _COMPRESSIONS:
        raise ValueError(f"unsupported compression {compression!r}: use None or 'deflate'")


async def connect_websocket(
    url: str,
    *,
    max_size: int | None = DEFAULT_MAX_SIZE,
    compression: str | None = None,
    open_timeout: float = 10,
    close_timeout: float = 5,
    extra_headers: Mapping[str, str] | None = None,
) -> WebSocketTransport:
    """Open a client connection to an ARCP runtime at ``url`` (``ws://`` or ``wss://``, §4).

    Raises :class:`WebSocketConnectError` (a :class:`TransportClosed`) when the connection is
    refused, times out, or the server rejects the handshake; ``ValueError`` for a bad URL.
    """
    _check_compression(compression)
    try:
        connection: ClientConnection = await _ws_connect(
            url,
            compression=compression,
            additional_headers=dict(extra_headers) if extra_headers else None,
            open_timeout=open_timeout,
            close_timeout=close_timeout,
            ping_interval=None,
            max_size=max_size,
            logger=_WS_LOGGER,
            create_connection=FramingClientConnection,
        )
    except InvalidURI as exc:
        raise ValueError(str(exc)) from exc
    except InvalidStatus as exc:
        status = exc.response.status_code
        raise WebSocketConnectError(
            f"{url}: server rejected the connection with HTTP {status}", status=status
        ) from exc
    except (InvalidHandshake, OSError, TimeoutError) as exc:
        raise WebSocketConnectError(f"{url}: cannot connect: {exc}") from exc
    return WebSocketTransport(connection)


def _format_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class WebSocketServer:
    """A listening ARCP WebSocket endpoint created by :func:`serve_websocket` (§4)."""

    def __init__(self, server: Server, path: str | None, tasks: set[asyncio.Task[Any]]) -> None:
        self._server = server
        self._path = path
        self._tasks = tasks
        name: tuple[Any, ...] = server.sockets[0].getsockname()
        self.host: str = str(name[0])
        """The bound address."""
        self.port: int = int(name[1])
        """The bound port (the real one when started with ``port=0``)."""

    @property
    def url(self) -> str:
        """``ws://host:port/path``: what a client passes to :func:`connect_websocket`."""
        return f"ws://{_format_host(self.host)}:{self.port}{self._path or '/'}"

    @property
    def connections(self) -> int:
        """Number of connections whose handler is still running."""
        return len(self._tasks)

    async def close(self, *, grace: float | None = 10) -> None:
        """Stop accepting, close every connection (code 1001) and wait for the handlers.

        Handlers still running after ``grace`` seconds are cancelled. Idempotent.
        """
        self._server.close()
        try:
            async with asyncio.timeout(grace):
                await self._server.wait_closed()
        except TimeoutError:
            for task in list(self._tasks):
                task.cancel()
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
    handler: Callable[[WebSocketTransport], Awaitable[None]],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    path: str | None = "/arcp",
    max_size: int | None = DEFAULT_MAX_SIZE,
    compression: str | None = None,
    close_timeout: float = 5,
) -> WebSocketServer:
    """Listen for ARCP WebSocket connections on ``host:port`` at ``path`` (§4).

    Each accepted connection runs ``handler(transport)``; when it returns (or raises, which is
    logged by ``websockets``) the connection is closed. Requests for another path get HTTP 404;
    ``path=None`` accepts any path.
    """
    _check_compression(compression)
    tasks: set[asyncio.Task[Any]] = set()

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if path is not None and request.path.partition("?")[0] != path:
            return connection.respond(404, "Not Found\n")
        return None

    async def on_connection(connection: ServerConnection) -> None:
        task = asyncio.current_task()
        if task is not None:
            tasks.add(task)
        try:
            with contextlib.suppress(TransportClosed):
                await handler(WebSocketTransport(connection))
        finally:
            if task is not None:
                tasks.discard(task)

    server = await _ws_serve(
        on_connection,
        host,
        port,
        compression=compression,
        process_request=process_request,
        ping_interval=None,
        close_timeout=close_timeout,
        max_size=max_size,
        logger=_WS_LOGGER,
    )
    return WebSocketServer(server, path, tasks)
