"""The messages a WebSocket connection received and its reader has not taken yet (§4).

Fed with whole frames (``websockets``' :class:`~websockets.frames.Frame` events, or the
payloads of plain frames cut by :mod:`arcp.transport.websocket_frames`), it reassembles
fragmented messages (RFC 6455 §5.4), refuses text that is not UTF-8 (§8.1), wakes the one
waiting reader, and pauses reading from the socket while too many messages wait.
"""

from __future__ import annotations

import asyncio
from collections import deque

from websockets.frames import Frame, Opcode

__all__ = ["HIGH_WATER", "LOW_WATER", "Inbox"]

HIGH_WATER = 64
"""Reading from the socket pauses while this many received messages wait unread ..."""
LOW_WATER = 16
"""... and resumes once no more than this many are left."""

_TEXT = Opcode.TEXT  # enum members read once: a class attribute lookup costs per frame
_BINARY = Opcode.BINARY
_CONT = Opcode.CONT


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def valid_text(data: bytes) -> bool:
    """True when ``data`` may be a text message's payload: UTF-8 (ASCII checked first)."""
    return data.isascii() or _utf8(data)


class Inbox:
    """Received messages in order, for a single reader."""

    __slots__ = ("_fragment_text", "_fragments", "_paused", "_transport", "_waiter", "messages")

    def __init__(self) -> None:
        self.messages: deque[bytes] = deque()
        """The whole messages waiting, oldest first."""
        self._fragments: list[bytes] = []
        self._fragment_text = False
        self._waiter: asyncio.Future[None] | None = None
        self._transport: asyncio.Transport | None = None
        self._paused = False

    def attach(self, transport: asyncio.Transport) -> None:
        """The socket whose reading is paused and resumed."""
        self._transport = transport

    def put_plain(self, frames: list[tuple[bool, bytes]]) -> bool:
        """Queue whole messages ``(is_text, payload)``; False at the first text that is not
        UTF-8 (those before it are queued)."""
        append = self.messages.append
        for is_text, payload in frames:
            if is_text and not payload.isascii() and not _utf8(payload):
                return False
            append(payload)
        return True

    def put_frame(self, frame: Frame) -> bool:
        """Queue a data frame's message, or collect a fragment; False when a text message is
        not UTF-8. Control frames need nothing: the protocol object answered them."""
        opcode = frame.opcode
        data = frame.data
        if frame.fin and (opcode is _TEXT or opcode is _BINARY):
            data = data if type(data) is bytes else bytes(data)
            if opcode is _TEXT and not valid_text(data):
                return False
            self.messages.append(data)
        elif opcode is _TEXT or opcode is _BINARY:
            self._fragment_text = opcode is _TEXT
            self._fragments = [bytes(data)]
        elif opcode is _CONT:
            self._fragments.append(bytes(data))
            if frame.fin:
                whole = b"".join(self._fragments)
                self._fragments = []
                if self._fragment_text and not valid_text(whole):
                    return False
                self.messages.append(whole)
        return True

    def queued(self, before: int) -> None:
        """After messages were queued (``before`` were there): wake the reader; pause reading
        from the socket past :data:`HIGH_WATER`."""
        count = len(self.messages)
        if count != before:
            self.wake()
            if count >= HIGH_WATER and not self._paused and self._transport is not None:
                self._paused = True
                self._transport.pause_reading()

    async def wait(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait until :meth:`wake` (a message arrived, or the connection ended)."""
        waiter = self._waiter = loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def taken(self, lost: bool) -> None:
        """After the reader took messages: resume reading below :data:`LOW_WATER`."""
        if self._paused and len(self.messages) <= LOW_WATER:
            self._paused = False
            if self._transport is not None and not lost:
                self._transport.resume_reading()
