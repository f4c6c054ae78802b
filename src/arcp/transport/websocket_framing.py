"""RFC 6455 framing done by hand on the two hot paths of the WebSocket transport (§4).

* Reading on the client: :class:`FramingClientConnection` cuts the plain data frames a
  runtime sends out of the socket's bytes itself and queues them for ``recv`` as
  ``websockets`` would, without its generator-based parser.
* Writing on the server: :func:`plain_server` says when a text message may be framed by
  hand, :func:`text_header` builds its header and :func:`write_coalesced` writes a batch.

Both lean on ``websockets`` internals (its parser's generator state, its message assembler's
queue); each checks the layout it relies on and leaves the frames to ``websockets`` when the
layout is not the one it knows. ``uv.lock`` pins ``websockets``; the framing tests compare
both paths with ``websockets``' own framing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State
from websockets.streams import StreamReader

__all__ = ["FramingClientConnection", "plain_server", "text_header", "write_coalesced"]


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


class FramingClientConnection(ClientConnection):
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


def plain_server(protocol: Any) -> bool:
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


def text_header(length: int) -> bytes:
    """The header of an unmasked, final text frame (RFC 6455 §5.2) carrying ``length`` bytes."""
    if length < 126:
        return _SMALL_HEADERS[length]
    if length < 65536:
        return b"\x81\x7e" + length.to_bytes(2, "big")
    return b"\x81\x7f" + length.to_bytes(8, "big")


def write_coalesced(transport: asyncio.Transport, chunks: list[bytes]) -> None:
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
