"""One WebSocket connection (§4): an asyncio protocol over ``websockets``' Sans-I/O objects.

``websockets`` implements RFC 6455 without doing any I/O: :class:`~websockets.client.
ClientProtocol` and :class:`~websockets.server.ServerProtocol` take the bytes read from the
socket (``receive_data``/``receive_eof``), hand back what was parsed (``events_received``)
and what to write (``data_to_send``). :class:`WebSocketTransport` is the asyncio side of that
contract, following ``websockets``' Sans-I/O integration guide and nothing else of the library:

* reading: one ``receive_data`` per socket read and all its ``events_received()`` at once;
  whole messages wait in one queue that ``recv``/``recv_ready`` take from;
* writing: many ``send_text`` calls, then one ``transport.write`` of the joined
  ``data_to_send()``; ``write`` buffers past the transport's high-water mark make senders wait
  (``pause_writing``/``resume_writing``);
* closing: ``close_expected()`` arms a timer that drops the TCP connection if the peer does
  not finish the closing handshake within ``close_timeout``.

Two hot paths frame plain data frames by RFC 6455 §5.2 instead (:mod:`arcp.transport.
websocket_frames`), because the protocol objects' per-frame cost exceeds an ARCP message's
decode: a server without compression writes its text frames with their header built here, and
a client without compression cuts the server's unmasked, final text and binary frames out of
the received bytes itself. The protocol object sees every byte up to the opening handshake's
end, and every byte from the first frame that is not such a frame on (control frames,
fragments, anything over ``max_size``); since it is only ever handed whole frames before
that point, it always starts at a frame boundary. Closing, pings, errors and limits stay
``websockets``' own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import CloseCode, Frame
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol

from arcp.transport.base import TransportClosed
from arcp.transport.websocket_frames import FOREIGN, cut_plain_frames, text_header
from arcp.transport.websocket_inbox import Inbox

__all__ = ["BATCH_BYTES", "DEFAULT_MAX_SIZE", "WS_LOGGER", "WebSocketTransport"]

DEFAULT_MAX_SIZE = 4 * 1024 * 1024
"""Largest incoming message accepted by default, in bytes (a 1 MiB chunk base64'd fits)."""

# websockets logs every frame's content at DEBUG, and ARCP frames carry bearer tokens,
# resume tokens and credential values (§9.8, §14). Its protocol objects log through this
# logger, which passes warnings and errors only, whatever the application configures.
WS_LOGGER = logging.getLogger("arcp.transport.websockets")
WS_LOGGER.setLevel(logging.WARNING)

BATCH_BYTES = 256 * 1024
"""``send_many`` writes (and waits for the socket to drain) once per this many bytes."""

Accept = Callable[[ServerProtocol, Request], Response]
"""How a server answers the opening handshake: ``protocol.accept(request)`` or a reject."""


class WebSocketTransport(asyncio.Protocol):
    """One WebSocket connection as an ARCP :class:`~arcp.transport.Transport` (§4).

    Made by :func:`~arcp.transport.connect_websocket` and
    :func:`~arcp.transport.serve_websocket`. ``recv`` and ``recv_ready`` are for a single
    reader; concurrent ``send`` calls are fine, each frame goes out whole.
    """

    def __init__(
        self,
        protocol: ClientProtocol | ServerProtocol,
        *,
        close_timeout: float,
        open_timeout: float | None = None,
        max_size: int | None = None,
        request: Request | None = None,
        accept: Accept | None = None,
        on_open: Callable[[WebSocketTransport], None] | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._protocol = protocol
        self._close_timeout = close_timeout
        self._open_timeout = open_timeout  # server: drop a connection stuck in its handshake
        self._max_size = max_size
        # Client: the end of the handshake response not seen yet (its last bytes so far), then
        # whether frames are cut here (see the module docstring) and the incomplete one.
        self._head_tail: bytes | None = b"" if isinstance(protocol, ClientProtocol) else None
        self._cutting = False
        self._partial = b""
        self._plain_send = False  # server without compression: headers built here
        self._request = request  # the client's own, or the one the server received
        self._response: Response | None = None
        self._accept = accept
        self._on_open = on_open
        self._transport: asyncio.Transport | None = None
        self._inbox = Inbox()
        self._drain: asyncio.Future[None] | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self.opened: asyncio.Future[None] = loop.create_future()
        """Done once the opening handshake succeeded; its exception when it failed."""
        self._lost: asyncio.Future[None] = loop.create_future()

    # -- what the rest of ARCP reads ---------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once either side started closing, or the connection dropped."""
        return self._protocol.state is not State.OPEN

    @property
    def remote_address(self) -> Any:
        """The peer's socket address, e.g. ``("127.0.0.1", 53211)``."""
        transport = self._transport
        return None if transport is None else transport.get_extra_info("peername")

    @property
    def path(self) -> str | None:
        """The request path of the opening handshake (query string included)."""
        request = self._request
        return None if request is None else request.path

    @property
    def request_headers(self) -> Mapping[str, str]:
        """Headers of the opening handshake request (empty if unknown)."""
        request = self._request
        return {} if request is None else request.headers

    @property
    def compression(self) -> str | None:
        """``"deflate"`` when permessage-deflate was negotiated, else None."""
        response = self._response
        if response is None or response.status_code != 101:
            return None
        negotiated = response.headers.get("Sec-WebSocket-Extensions", "")
        return "deflate" if "permessage-deflate" in negotiated else None

    @property
    def close_code(self) -> int | None:
        """The close code the peer sent, once closed (1000 normal, 1001 going away, 1009 too
        big, 1006 when the connection dropped without one)."""
        return self._protocol.close_code

    @property
    def socket_transport(self) -> asyncio.Transport | None:
        """The asyncio transport under this connection (None before it is made)."""
        return self._transport

    # -- Transport ---------------------------------------------------------------------------

    async def send(self, frame: bytes) -> None:
        """Send one frame as a text message (ARCP is JSON text, §5)."""
        protocol = self._protocol
        if protocol.state is not State.OPEN:
            raise TransportClosed("websocket closed")
        if self._plain_send:
            self._write([text_header(len(frame)), frame])
        else:
            protocol.send_text(frame)
            self._write(protocol.data_to_send())
        if self._drain is not None:
            await self._drained()

    async def send_binary(self, data: bytes) -> None:
        """Send one binary message. ARCP peers send text (§5); this exists for tests and
        tools that check how a peer treats binary messages."""
        protocol = self._protocol
        if protocol.state is not State.OPEN:
            raise TransportClosed("websocket closed")
        protocol.send_binary(data)
        self._write(protocol.data_to_send())
        if self._drain is not None:
            await self._drained()

    async def send_many(self, frames: Sequence[bytes]) -> None:
        """Send ``frames`` in order, each as its own text message, with one socket write per
        :data:`BATCH_BYTES` of frames; waits for the socket to drain as ``send`` does."""
        protocol = self._protocol
        count = len(frames)
        start = 0
        while start < count:
            if protocol.state is not State.OPEN:
                raise TransportClosed("websocket closed")
            size = 0
            end = start
            if self._plain_send:
                chunks: list[bytes] = []
                append = chunks.append
                while end < count and size < BATCH_BYTES:
                    frame = frames[end]
                    length = len(frame)
                    append(text_header(length))
                    append(frame)
                    size += length
                    end += 1
            else:
                send_text = protocol.send_text
                while end < count and size < BATCH_BYTES:
                    frame = frames[end]
                    send_text(frame)
                    size += len(frame)
                    end += 1
                chunks = protocol.data_to_send()
            self._write(chunks)
            start = end
            if self._drain is not None:
                await self._drained()

    async def recv(self) -> bytes:
        """Return the next message's bytes, text or binary, without decoding. Messages that
        arrived before the connection closed are still returned, then TransportClosed."""
        inbox = self._inbox
        messages = inbox.messages
        while not messages:
            if self._lost.done():
                raise TransportClosed(self._closed_reason())
            await inbox.wait(self._loop)
        data = messages.popleft()
        inbox.taken(self._lost.done())
        return data

    def recv_ready(self) -> list[bytes]:
        """Take every complete message that already arrived, in order, without waiting (maybe
        none): what repeated ``recv`` calls would return before they had to wait."""
        inbox = self._inbox
        messages = inbox.messages
        if not messages:
            return []
        out = list(messages)
        messages.clear()
        inbox.taken(self._lost.done())
        return out

    async def close(self) -> None:
        """Run the closing handshake (code 1000); idempotent."""
        await self.close_with(CloseCode.NORMAL_CLOSURE)

    async def close_with(self, code: int, reason: str = "") -> None:
        """Run the closing handshake with ``code`` (e.g. 1001 going away, 1011 error) and wait
        until the connection is closed; the TCP connection is dropped after ``close_timeout``
        if the peer does not answer."""
        protocol = self._protocol
        if protocol.state is State.OPEN and self._transport is not None:
            protocol.send_close(code, reason)
            self._flush()
        await self.wait_closed()

    async def wait_closed(self) -> None:
        """Wait until the connection is fully closed, by either side."""
        await asyncio.shield(self._lost)

    def drop(self) -> None:
        """Abort the TCP connection without a closing handshake, as a network failure would."""
        if self._transport is not None:
            self._transport.abort()

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._inbox.attach(transport)
        if self._open_timeout is not None:
            self._close_timer = self._loop.call_later(self._open_timeout, self._open_expired)
        protocol = self._protocol
        if isinstance(protocol, ClientProtocol):
            request = self._request
            assert request is not None
            protocol.send_request(request)
            self._flush()

    def data_received(self, data: bytes) -> None:
        if self._cutting:
            self._cut(data)
            return
        if self._head_tail is not None:
            data = self._handshake_head(data)
            if self._cutting:
                if data:
                    self._cut(data)
                return
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        """Hand ``data`` to the protocol object; take its events; write its answers."""
        protocol = self._protocol
        protocol.receive_data(data)
        events = protocol.events_received()
        if events:
            self._take(events)
        self._flush()

    def _handshake_head(self, data: bytes) -> bytes:
        """Client: hand the protocol the handshake response up to its end (the blank line of
        RFC 9112 §2.1; a 101 response has no body); return what follows it, if anything."""
        tail = self._head_tail or b""
        found = (tail + data).find(b"\r\n\r\n")
        if found < 0:
            self._head_tail = (tail + data)[-3:]
            self._feed(data)
            return b""
        cut = found + 4 - len(tail)
        self._head_tail = None
        self._feed(data[:cut])
        rest = data[cut:]
        if self.opened.done() and not self.opened.exception() and self.compression is None:
            self._cutting = self._protocol.state is State.OPEN
        elif rest:
            self._feed(rest)
            return b""
        return rest

    def _cut(self, data: bytes) -> None:
        """Client fast path: queue the plain frames; the first other frame and all that
        follows go to the protocol object, which then reads everything."""
        if self._partial:
            data = self._partial + data
            self._partial = b""
        got: list[tuple[bool, bytes]] = []
        pos, status = cut_plain_frames(data, self._max_size, got)
        inbox = self._inbox
        before = len(inbox.messages)
        if not inbox.put_plain(got):
            self._cutting = False
            self._invalid_utf8()
            self._flush()
        elif status == FOREIGN:
            self._cutting = False
            inbox.queued(before)
            self._feed(data[pos:])
            return
        elif pos < len(data):
            self._partial = data[pos:]
        inbox.queued(before)

    def eof_received(self) -> None:
        if self._cutting:
            self._cutting = False
            partial, self._partial = self._partial, b""
            if partial:  # a frame cut short: the protocol sees it as it was
                self._feed(partial)
        self._protocol.receive_eof()
        self._flush()
        # Returning None closes the transport, which reports connection_lost.

    def connection_lost(self, exc: Exception | None) -> None:
        self._protocol.receive_eof()  # idempotent: the protocol state is now CLOSED
        if self._close_timer is not None:
            self._close_timer.cancel()
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("the connection closed during the handshake"))
            self.opened.exception()  # retrieved: the caller may be gone (timeout)
        if not self._lost.done():
            self._lost.set_result(None)
        self._inbox.wake()
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    def pause_writing(self) -> None:
        if self._drain is None:
            self._drain = self._loop.create_future()

    def resume_writing(self) -> None:
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    # -- inside ------------------------------------------------------------------------------

    def _take(self, events: list[Any]) -> None:
        """Queue the whole messages among ``events``; answer the opening handshake."""
        inbox = self._inbox
        before = len(inbox.messages)
        for event in events:
            if type(event) is Frame:
                if not inbox.put_frame(event):
                    self._invalid_utf8()
                    break
            elif isinstance(event, Request):
                self._handshake_request(event)
            elif isinstance(event, Response):
                self._handshake_response(event)
        inbox.queued(before)

    def _open_expired(self) -> None:
        self._close_timer = None
        if not self.opened.done():
            self.drop()

    def _invalid_utf8(self) -> None:
        """A text message that is not UTF-8 fails the connection with 1007 (RFC 6455 §8.1)."""
        self._protocol.fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")

    def _handshake_request(self, request: Request) -> None:
        protocol = self._protocol
        assert isinstance(protocol, ServerProtocol) and self._accept is not None
        self._request = request
        response = self._accept(protocol, request)
        self._response = response
        protocol.send_response(response)
        if self._close_timer is not None:  # the open timeout
            self._close_timer.cancel()
            self._close_timer = None
        if protocol.state is State.OPEN:
            self._plain_send = self.compression is None
            self.opened.set_result(None)
            if self._on_open is not None:
                self._on_open(self)

    def _handshake_response(self, response: Response) -> None:
        self._response = response
        failure = self._protocol.handshake_exc
        if self.opened.done():
            return
        if failure is None:
            self.opened.set_result(None)
        else:
            self.opened.set_exception(failure)
            self.opened.exception()  # retrieved: the caller may be gone (timeout)
            if self._transport is not None:
                self._transport.close()

    def _flush(self) -> None:
        """Write what the protocol queued; arm the close timer when it expects the end."""
        self._write(self._protocol.data_to_send())
        if self._close_timer is None and self._protocol.close_expected():
            self._close_timer = self._loop.call_later(self._close_timeout, self.drop)

    def _write(self, chunks: list[bytes]) -> None:
        transport = self._transport
        if not chunks or transport is None:
            return
        if all(chunks):
            transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
            return
        for chunk in chunks:  # an empty chunk asks to half-close the TCP connection
            if chunk:
                transport.write(chunk)
            elif transport.can_write_eof():
                transport.write_eof()
            else:
                transport.close()

    async def _drained(self) -> None:
        drain = self._drain
        if drain is not None:
            await asyncio.shield(drain)
        if self._lost.done():
            raise TransportClosed(self._closed_reason())

    def _closed_reason(self) -> str:
        protocol = self._protocol
        return f"websocket closed (code {protocol.close_code}, {protocol.close_reason!r})"
