"""The two ends of a pipe as asyncio protocols: what the stdio transport reads and writes.

Built on ``loop.connect_read_pipe``/``loop.connect_write_pipe`` and the documented
``asyncio.Protocol`` callbacks only (``data_received``, ``eof_received``, ``pause_writing``,
``resume_writing``, ``connection_lost``), instead of asyncio's stream classes, whose
buffer and close hooks are not public.
"""

from __future__ import annotations

import asyncio

__all__ = ["PipeReader", "PipeWriter"]

_HIGH_WATER = 1024 * 1024
"""Reading from the pipe pauses while this many bytes wait unread."""


class PipeReader(asyncio.Protocol):
    """The read end: bytes as they arrive, taken all at once."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.ReadTransport | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._eof = False
        self._error: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.ReadTransport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        self._wake()
        if self._size > _HIGH_WATER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()

    def eof_received(self) -> bool | None:
        self._eof = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._error = exc
        self._wake()

    def ready(self) -> bytes | None:
        """Every byte that arrived and was not taken yet; None when there is none."""
        chunks = self._chunks
        if not chunks:
            return None
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._size = 0
        if self._paused and self._transport is not None and not self._eof:
            self._paused = False
            self._transport.resume_reading()
        return data

    async def read(self) -> bytes:
        """Wait for bytes and take them all; ``b""`` at the end of the stream. Raises the
        ``OSError`` the pipe failed with, once its bytes were taken."""
        while True:
            data = self.ready()
            if data is not None:
                return data
            if self._eof:
                if self._error is not None:
                    raise self._error
                return b""
            waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    def close(self) -> None:
        """Stop reading: a pending ``read`` returns ``b""``."""
        self._eof = True
        if self._transport is not None:
            self._transport.close()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class PipeWriter(asyncio.Protocol):
    """The write end: writes with the transport's flow control, and its close."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.WriteTransport | None = None
        self._drain: asyncio.Future[None] | None = None
        self._lost: asyncio.Future[None] = self._loop.create_future()
        self._error: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self._transport = transport

    def pause_writing(self) -> None:
        if self._drain is None:
            self._drain = self._loop.create_future()

    def resume_writing(self) -> None:
        self._release()

    def connection_lost(self, exc: Exception | None) -> None:
        self._error = exc
        if not self._lost.done():
            self._lost.set_result(None)
        self._release()

    def is_closing(self) -> bool:
        """True once closed, by this side or because the reader went away."""
        transport = self._transport
        return transport is None or transport.is_closing() or self._lost.done()

    def write(self, data: bytes) -> None:
        assert self._transport is not None
        self._transport.write(data)

    async def drain(self) -> None:
        """Wait while the pipe's buffer is over its high-water mark; ``ConnectionError``
        once the pipe is gone."""
        drain = self._drain
        if drain is not None:
            await asyncio.shield(drain)
        if self._lost.done():
            raise ConnectionResetError(f"pipe closed: {self._error or 'by the reader'}")

    def close(self) -> None:
        """Close after what is buffered was written."""
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Close now, dropping what is buffered."""
        if self._transport is not None:
            self._transport.abort()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._lost)

    def _release(self) -> None:
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)
