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
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import Protocol, Side, State
from websockets.streams import StreamReader

from arcp.transport.base import TransportClosed

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


def _parser_at_frame_start(protocol: Any) -> bool:
    """True when ``websockets``' parser waits at the start of a frame with nothing buffered:
    its frame loop (``Protocol.parse``) is suspended in ``reader.at_eof()``. Anything else
    (the handshake, a frame header read but not its payload, an unknown ``websockets``
    version) is False, and the frames then stay with ``websockets``."""
    reader = protocol.reader
    if reader.buffer or reader.eof:
        return False
    outer: Any = None
    inner: Any = protocol.parser
    while True:
        nested = getattr(inner, "gi_yieldfrom", None)
        if nested is None:
            break
        outer, inner = inner, nested
    return (
        outer is not None
        and getattr(inner, "gi_code", None) is _AT_EOF_CODE
        and getattr(outer, "gi_code", None) is _PARSE_CODE
    )


def _assembler_is_known(assembler: Any) -> bool:
    """True when ``websockets``' message assembler has the layout :meth:`_deliver` writes to
    (a queue of frames over a deque, with its waiting reader's future)."""
    frames = getattr(assembler, "frames", None)
    return (
        isinstance(getattr(frames, "queue", None), deque)
        and hasattr(frames, "get_waiter")
        and hasattr(assembler, "maybe_pause")
        and hasattr(assembler, "closed")
    )


_TEXT = Opcode.TEXT  # enum members read once: a class attribute lookup costs per frame
_BINARY = Opcode.BINARY
_AT_EOF_CODE = StreamReader.at_eof.__code__
_PARSE_CODE = Protocol.parse.__code__


class _ClientConnection(ClientConnection):
    """``websockets``' client connection, reading the frames a runtime sends most by itself.

    An unmasked, final, uncompressed text or binary frame of at most 64 KiB arriving on an
    open connection is cut out of the received bytes here and queued for ``recv`` exactly as
    ``websockets`` would queue it (same :class:`Frame`, same flow control), without its
    generator-based parser, which costs several times more per frame than decoding the ARCP
    message in it. The shortcut is taken only while ``websockets``' parser waits at a frame
    boundary with nothing buffered; the first frame it does not handle (control frames,
    fragments, reserved bits, masking, anything over the size limits) and everything after
    it go to ``websockets`` from that boundary, so it sees a well-formed stream and keeps
    the whole protocol (closing handshake, pings, errors, limits)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # While framing, this class, not `websockets`, cuts the input into frames; `_parser`
        # is the protocol's parser it stands in for (replaced when the protocol fails).
        self._framing = False
        self._parser: Any = None
        self._partial = b""  # the start of a frame not complete yet (while framing)

    def _can_frame(self) -> bool:
        protocol: Any = self.protocol
        return (
            self.response is not None
            and protocol.state is State.OPEN
            and protocol.side is Side.CLIENT
            and not protocol.extensions
            and not protocol.debug
            and protocol.current_size is None
            and protocol.parser_exc is None
            and _parser_at_frame_start(protocol)
            and _assembler_is_known(self.recv_messages)
        )

    def data_received(self, data: bytes) -> None:
        protocol: Any = self.protocol
        partial = self._partial
        if partial:
            data = partial + data
            self._partial = b""
        if self._framing and (protocol.parser is not self._parser or protocol.parser_exc):
            self._framing = False  # the protocol failed meanwhile: it discards the input
        if not self._framing:
            if not self._can_frame():
                super().data_received(data)
                return
            self._framing = True
            self._parser = protocol.parser
        limit = 65535  # the largest length a 2-byte header carries (longer frames: 8 bytes)
        for size in (protocol.max_message_size, protocol.max_fragment_size):
            if size is not None and size < limit:
                limit = size
        got: list[Frame] = []
        put = got.append
        end = len(data)
        pos = 0
        while True:
            if end - pos < 2:
                break
            head = data[pos]
            length = data[pos + 1]
            start = pos + 2
            if length == 126:
                if end - pos < 4:
                    break
                length = data[pos + 2] << 8 | data[pos + 3]
                start = pos + 4
            elif length > 126:
                head = 0  # a 64-bit length (127), or the mask bit (0x80) set: not ours
            if head == 0x81:
                opcode = _TEXT
            elif head == 0x82:
                opcode = _BINARY
            else:
                opcode = None
            if opcode is None or length > limit:
                # Not a frame this class reads: hand it, and all that follows, over.
                self._framing = False
                self._deliver(got)
                super().data_received(data[pos:] if pos else data)
                return
            stop = start + length
            if stop > end:
                break
            put(Frame(opcode, data[start:stop]))
            pos = stop
        if pos < end:
            self._partial = data[pos:]
        self._deliver(got)

    def _deliver(self, frames: list[Frame]) -> None:
        """Queue ``frames`` for ``recv`` as that many ``Assembler.put`` calls would: appended
        in order, the waiting reader woken once, flow control checked once."""
        if not frames:
            return
        assembler: Any = self.recv_messages
        if assembler.closed:
            raise EOFError("stream of frames ended")
        queue = assembler.frames
        queue.queue.extend(frames)
        waiter = queue.get_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        assembler.maybe_pause()

    def eof_received(self) -> None:
        # The stream ended: give `websockets` the incomplete frame, as it would have had it.
        if self._framing:
            self._framing = False
            partial, self._partial = self._partial, b""
            if partial:
                super().data_received(partial)
        super().eof_received()


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
                    if _plain_server(protocol):
                        # Unmasked, uncompressed text frames: RFC 6455 framing is a 2-10 byte
                        # header; build it here rather than one Frame object per message.
                        chunks = protocol.data_to_send()
                        append = chunks.append
                        while end < count and size < _BATCH_BYTES:
                            frame = frames[end]
                            length = len(frame)
                            append(_text_header(length))
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
                    _write_coalesced(ws.transport, chunks)
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
                return data if type(data) is bytes else bytes(data)
        try:
            return await self._ws.recv(decode=False)
        except ConnectionClosed as exc:
            raise TransportClosed(f"websocket closed: {exc}") from None

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
            queue.popleft()
            data = frame.data
            append(data if type(data) is bytes else bytes(data))
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


def _plain_server(protocol: Any) -> bool:
    """True when a text message can be framed by hand exactly as ``websockets`` would: the
    server side (frames are not masked), no extension (no compression), an open connection,
    no fragmented message in progress and no frame logging."""
    return (
        protocol.side is Side.SERVER
        and protocol.state is State.OPEN
        and not protocol.extensions
        and not protocol.expect_continuation_frame
        and not protocol.debug
    )


_SMALL_HEADERS = tuple(bytes((0x81, n)) for n in range(126))


def _text_header(length: int) -> bytes:
    """The header of an unmasked, final text frame (RFC 6455 §5.2) carrying ``length`` bytes."""
    if length < 126:
        return _SMALL_HEADERS[length]
    if length < 65536:
        return b"\x81\x7e" + length.to_bytes(2, "big")
    return b"\x81\x7f" + length.to_bytes(8, "big")


def _write_coalesced(transport: asyncio.Transport, chunks: list[bytes]) -> None:
    """Write what the protocol queued with one ``write`` (one syscall when the buffer is
    empty). An empty chunk means "half-close" to ``websockets``; it never follows a data
    frame sent on an open connection, but is honoured the way ``websockets`` does."""
    if all(chunks):
        if len(chunks) == 1:
            transport.write(chunks[0])
        elif chunks:
            transport.write(b"".join(chunks))
        return
    for chunk in chunks:  # pragma: no cover - defensive, see the docstring
        if chunk:
            transport.write(chunk)
        elif transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()


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
            create_connection=_ClientConnection,
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
