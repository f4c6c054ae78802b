"""stdio transport (§4): NDJSON over a pair of byte streams, mandatory for in-process children.

One frame per line: the compact JSON text followed by ``\\n``. JSON escapes newlines inside
strings, so a compact frame never contains one; ``send`` refuses a frame that does. On receive,
blank (whitespace-only) lines are skipped and a trailing ``\\r`` is dropped (CRLF peers). Lines are delivered as
they are, JSON or not: the transport knows nothing about ARCP.

The child side is :func:`stdio_transport`. **A child speaking ARCP over stdio must never write
anything else to stdout**; logs go to stderr. By default :func:`stdio_transport` enforces this by
moving the protocol pipes off file descriptors 0 and 1 and pointing fd 1 at stderr (and fd 0 at
``/dev/null``), so a stray ``print()`` lands in the log instead of corrupting the stream.
The parent side is :func:`spawn_stdio`. Unix pipes only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from typing import IO, Any

from arcp.transport.base import TransportClosed
from arcp.transport.pipes import PipeReader, PipeWriter

__all__ = [
    "DEFAULT_LINE_LIMIT",
    "ChildProcessTransport",
    "StdioTransport",
    "spawn_stdio",
    "stdio_transport",
]

DEFAULT_LINE_LIMIT = 8 * 1024 * 1024
"""Longest accepted line in bytes; a longer one closes the transport."""

_NEWLINE = b"\n"


def _frame_of(line: bytes) -> bytes | None:
    """The frame a line (without its ``\\n``) carries: a trailing ``\\r`` dropped, None
    for a blank line."""
    if line.endswith(b"\r"):
        line = line[:-1]
    return line if line and not line.isspace() else None


class StdioTransport:
    """NDJSON framing over the two ends of a pipe pair, as a :class:`Transport` (§4).

    Use a single reader task. Concurrent ``send`` calls are fine: each line is written whole.
    """

    def __init__(
        self,
        reader: PipeReader,
        writer: PipeWriter,
        *,
        flush_timeout: float = 5,
        line_limit: int = DEFAULT_LINE_LIMIT,
    ) -> None:
        self._reader = reader
        self._line_limit = line_limit
        # Lines are cut here from the bytes read: complete frames wait in
        # `_frames`, the start of the next line in `_partial`.
        self._frames: deque[bytes] = deque()
        self._partial = b""
        self._too_long = False  # a line over the limit follows the queued frames
        self._eof = False
        self._writer = writer
        self._flush_timeout = flush_timeout
        self._closed = False
        self._aborted = False

    @property
    def closed(self) -> bool:
        """True once either side closed, the stream hit EOF, or it failed."""
        return self._closed or self._writer.is_closing()

    async def send(self, frame: bytes) -> None:
        """Write one frame and its newline, waiting only if the pipe is full."""
        if _NEWLINE in frame:
            raise ValueError("an NDJSON frame must not contain a raw newline")
        await self._write(frame + _NEWLINE)

    async def send_many(self, frames: Sequence[bytes]) -> None:
        """Write ``frames`` in order, one line each, with one write and one drain."""
        if not frames:
            return
        if any(_NEWLINE in frame for frame in frames):
            raise ValueError("an NDJSON frame must not contain a raw newline")
        await self._write(_NEWLINE.join(frames) + _NEWLINE)

    async def _write(self, data: bytes) -> None:
        writer = self._writer
        if self._closed or writer.is_closing():
            raise TransportClosed("stdio transport is closed")
        writer.write(data)
        try:
            await writer.drain()
        except (ConnectionError, OSError) as exc:
            self._closed = True
            raise TransportClosed(f"stdio peer went away: {exc}") from None
        if self._aborted:
            raise TransportClosed("stdio transport closed before the frame was written")

    async def recv(self) -> bytes:
        """Return the next non-blank line without its line ending."""
        frames = self._frames
        while not frames:
            if self._closed:
                raise TransportClosed("stdio transport is closed")
            if self._too_long:
                await self._fail()
                raise TransportClosed("stdio frame exceeds the line limit")
            if self._eof:
                self._closed = True
                raise TransportClosed("stdio peer closed the stream")
            try:
                chunk = await self._reader.read()
            except (ConnectionError, OSError) as exc:
                await self._fail()
                raise TransportClosed(f"stdio read failed: {exc}") from None
            if self._closed:
                raise TransportClosed("stdio transport is closed")
            self._cut(chunk)
        return frames.popleft()

    def _cut(self, chunk: bytes) -> None:
        """Queue the complete lines of ``chunk`` (after what was left of the last one); at
        EOF (an empty chunk) the unterminated last line too."""
        limit = self._line_limit
        if not chunk:
            self._eof = True
            lines = [self._partial]
            self._partial = b""
        else:
            lines = (self._partial + chunk if self._partial else chunk).split(_NEWLINE)
            self._partial = lines.pop()
            if len(self._partial) > limit:
                self._too_long = True
        append = self._frames.append
        for line in lines:
            if len(line) > limit:
                self._too_long = True
                break
            frame = _frame_of(line)
            if frame is not None:
                append(frame)
        if self._too_long:
            self._partial = b""  # nothing after an overlong line is read

    def recv_ready(self) -> list[bytes]:
        """Take every complete line that already arrived, in order, without waiting (maybe
        none): what repeated ``recv`` calls would return before they had to wait."""
        if not self._eof and not self._too_long:
            chunk = self._reader.ready()
            if chunk is not None:
                self._cut(chunk)
        frames = self._frames
        if not frames:
            return []
        out = list(frames)
        frames.clear()
        return out

    async def _fail(self) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        """Mark closed, wake a pending ``recv``, close both directions."""
        self._closed = True
        self._reader.close()
        writer = self._writer
        if not writer.is_closing():
            writer.close()
        try:
            async with asyncio.timeout(self._flush_timeout):
                await writer.wait_closed()
        except TimeoutError:  # the peer stopped reading: drop what is still buffered
            self._aborted = True
            writer.abort()
        except (ConnectionError, OSError):
            pass

    async def close(self) -> None:
        """Close both directions; the peer reads EOF. Idempotent.

        Output still buffered is flushed for up to ``flush_timeout`` seconds, then dropped.
        """
        if self._closed and self._writer.is_closing():
            return
        await self._shutdown()


async def _open_pipes(
    read_fd: int, write_fd: int, *, close_fds: bool = True
) -> tuple[PipeReader, PipeWriter]:
    """Wrap two pipe file descriptors in the two protocols that own them."""
    loop = asyncio.get_running_loop()
    in_pipe = os.fdopen(read_fd, "rb", buffering=0, closefd=close_fds)
    out_pipe = os.fdopen(write_fd, "wb", buffering=0, closefd=close_fds)
    _, reader = await loop.connect_read_pipe(PipeReader, in_pipe)
    _, writer = await loop.connect_write_pipe(PipeWriter, out_pipe)
    return reader, writer


async def stdio_transport(
    *, limit: int = DEFAULT_LINE_LIMIT, take_over: bool = True
) -> StdioTransport:
    """The child side: speak NDJSON on this process's stdin/stdout (§4).

    With ``take_over`` (the default) the transport gets private duplicates of fds 0 and 1; fd 1
    is then redirected to stderr and fd 0 to ``/dev/null``, so nothing else can write into or
    read from the protocol stream. Without it, the caller must keep stdout clean.
    stdin and stdout must be pipes, sockets or ttys (not regular files): ``ValueError`` otherwise.
    """
    for fd in (0, 1):
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
            raise ValueError("stdio_transport needs stdin and stdout to be pipes or sockets")
    sys.stdout.flush()
    if not take_over:
        reader, writer = await _open_pipes(0, 1, close_fds=False)
        return StdioTransport(reader, writer, line_limit=limit)
    in_fd, out_fd = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    reader, writer = await _open_pipes(in_fd, out_fd)
    return StdioTransport(reader, writer, line_limit=limit)


class ChildProcessTransport(StdioTransport):
    """The parent side: NDJSON over a child process's stdin/stdout (§4)."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        reader: PipeReader,
        writer: PipeWriter,
        *,
        exit_timeout: float = 5,
        line_limit: int = DEFAULT_LINE_LIMIT,
    ) -> None:
        super().__init__(
            reader,
            writer,
            flush_timeout=exit_timeout,
            line_limit=line_limit,
        )
        self.process = process
        """The child process (``asyncio.subprocess.Process``)."""
        self._exit_timeout = exit_timeout

    @property
    def returncode(self) -> int | None:
        """The child's exit status once it has exited (negative: killed by that signal)."""
        return self.process.returncode

    async def close(self) -> None:
        """Close the child's stdin, give it ``exit_timeout`` s to exit, then terminate/kill it."""
        await super().close()
        process = self.process
        for stop in (None, process.terminate, process.kill):
            if process.returncode is not None:
                break
            if stop is not None:
                with contextlib.suppress(ProcessLookupError):
                    stop()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._exit_timeout if stop is None else 2):
                    await process.wait()
        await process.wait()


async def spawn_stdio(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stderr: int | IO[Any] | None = None,
    limit: int = DEFAULT_LINE_LIMIT,
    exit_timeout: float = 5,
) -> ChildProcessTransport:
    """Start ``argv`` as a child speaking NDJSON on its stdin/stdout (§4).

    ``argv`` is a list of arguments; a single string is refused, never split (``TypeError``).
    The child's stderr is inherited unless ``stderr`` says otherwise (e.g.
    ``asyncio.subprocess.DEVNULL``); never pass ``PIPE`` without draining it.
    ``OSError`` (e.g. ``FileNotFoundError``) if the program cannot be started.
    """
    if isinstance(argv, str):
        raise TypeError("argv must be a list of arguments, not a string")
    if not argv:
        raise ValueError("argv must name a program")
    child_in, parent_out = os.pipe()
    parent_in, child_out = os.pipe()
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=child_in,
            stdout=child_out,
            stderr=stderr,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    except BaseException:
        os.close(parent_in)
        os.close(parent_out)
        raise
    finally:
        os.close(child_in)
        os.close(child_out)
    reader, writer = await _open_pipes(parent_in, parent_out)
    return ChildProcessTransport(
        process,
        reader,
        writer,
        exit_timeout=exit_timeout,
        line_limit=limit,
    )
