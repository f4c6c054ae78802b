"""A loopback TCP proxy that injects faults into live connections (#13 item 6).

Every connection accepted on ``127.0.0.1`` is relayed to ``upstream``. :meth:`FaultProxy.fault`
picks a live connection and does one of three things to it, at whatever point of the stream
it happens to be: ``drop`` (reset both sides at once), ``stall`` (stop relaying for a while,
then go on) or ``half_close`` (end the stream towards the client, keep the other direction
open until the upstream side notices). The proxy knows nothing of ARCP or WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from dataclasses import dataclass, field

__all__ = ["FaultProxy"]

FAULTS = ("drop", "stall", "half_close")


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    resume: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list[asyncio.Task[None]])

    def __post_init__(self) -> None:
        self.resume.set()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a network failure would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _kill(link: _Link) -> None:
    _reset(link.client)
    _reset(link.server)
    link.resume.set()  # let both pumps see the reset and end


class FaultProxy:
    """Relay ``127.0.0.1:<port>`` to ``upstream_port``; inject faults on demand."""

    def __init__(self, upstream_port: int, *, seed: int | None = None) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.counts: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self._random = random.Random(seed)
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None

    @property
    def faults(self) -> int:
        """Faults injected so far."""
        return sum(self.counts.values())

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            _kill(link)
        for link in list(self._links):
            for task in link.tasks:
                task.cancel()
        self._links.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            _reset(writer)
            return
        link = _Link(writer, up_writer)
        self._links.add(link)
        link.tasks = [
            asyncio.create_task(self._pump(link, reader, up_writer)),
            asyncio.create_task(self._pump(link, up_reader, writer)),
        ]
        await asyncio.wait(link.tasks)
        self._links.discard(link)

    async def _pump(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                data = await reader.read(65536)
                await link.resume.wait()
                if not data:
                    with contextlib.suppress(OSError, RuntimeError):
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (OSError, RuntimeError, asyncio.IncompleteReadError):
            _reset(link.client)
            _reset(link.server)

    def live(self) -> int:
        """Connections being relayed now."""
        return len(self._links)

    async def fault(
        self, kind: str | None = None, stall_sec: tuple[float, float] = (0.05, 0.5)
    ) -> str | None:
        """Inject one fault into a random live connection; the kind, or None if none is live."""
        if not self._links:
            return None
        link = self._random.choice(sorted(self._links, key=id))
        kind = kind or self._random.choice(FAULTS)
        self.counts[kind] += 1
        if kind == "drop":
            _kill(link)
        elif kind == "stall":
            link.resume.clear()
            await asyncio.sleep(self._random.uniform(*stall_sec))
            link.resume.set()
        else:  # half_close: the client sees the end of its stream; upstream is left open
            with contextlib.suppress(OSError, RuntimeError):
                link.client.write_eof()
            link.resume.clear()  # nothing more is relayed on this connection
            asyncio.get_running_loop().call_later(5.0, _kill, link)
        return kind
