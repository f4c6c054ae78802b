"""The runtime's connections, asyncio side: one reader loop, one writer, one heartbeat (§6).

:class:`Connections` feeds each connection's frames to the sans-IO core and, after each,
takes what the core made ready through the runtime's ``pump`` (the one door out of the
core, see :mod:`arcp.protocol.ready`). A writer task per connection sleeps on its own event;
the pump sets it when the core put the connection in ``Ready.writers``, and the writer then
takes every queued frame and sends them with one ``send_many``: commit first, then send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arcp.protocol.runtime_actions import Action
from arcp.protocol.runtime_connection import RuntimeConnection
from arcp.protocol.runtime_core import RuntimeCore
from arcp.protocol.runtime_session import RuntimeSession
from arcp.runtime.persistence import Persister
from arcp.transport.base import Transport, TransportClosed
from arcp_gen.errors import UnauthenticatedError

__all__ = ["Connections", "shut"]

log = logging.getLogger("arcp.runtime")

_CLOSE_GRACE_SEC = 1.0
"""How long a connection being closed for a limit may take to write its last error."""
_CLOSE_TIMEOUT_SEC = 5.0
"""How long a closing handshake may take before the connection is dropped."""

Send = Callable[[list[bytes]], Awaitable[None]]


async def _recv(transport: Transport, deadline: float | None) -> bytes:
    """The next frame; TimeoutError past ``deadline`` (loop time) when one is given."""
    if deadline is None:
        return await transport.recv()
    async with asyncio.timeout_at(deadline):
        return await transport.recv()


async def shut(transport: Transport, *, abort: bool = False) -> None:
    """Close ``transport``; drop it (when it can be dropped) if ``abort`` or when the peer
    does not take the close within :data:`_CLOSE_TIMEOUT_SEC` because it stopped reading."""
    drop: Callable[[], None] | None = getattr(transport, "drop", None)
    if abort and drop is not None:
        drop()
        return
    try:
        async with asyncio.timeout(_CLOSE_TIMEOUT_SEC):
            await transport.close()
    except TimeoutError:
        if drop is not None:
            drop()


def _sender(transport: Transport) -> Send:
    """Write a batch: with one ``send_many(frames)`` flush when the transport offers it."""
    send_many: Send | None = getattr(transport, "send_many", None)

    async def send(frames: list[bytes]) -> None:
        if send_many is not None and frames:  # one frame too: it skips per-frame objects
            await send_many(frames)
        else:
            for frame in frames:
                await transport.send(frame)

    return send


class Connections:
    """Every live connection of one runtime, with its writer's wake-up event."""

    def __init__(
        self,
        core: RuntimeCore[Any],
        persister: Persister | None,
        act: Callable[[Action], Awaitable[None]],
        pump: Callable[[], None],
    ) -> None:
        self.core = core
        self.persister = persister
        self.act = act
        self.pump = pump
        """The runtime's: takes what the core made ready (called after each feed)."""
        self.live: dict[RuntimeConnection, tuple[Transport, asyncio.Task[None]]] = {}
        self.unauthenticated = 0
        self._wakes: dict[int, asyncio.Event] = {}

    def wake(self, keys: set[int]) -> None:
        """Have the writers of these connections (by key) look at their queues again."""
        wakes = self._wakes
        for key in keys:
            event = wakes.get(key)
            if event is not None:
                event.set()

    def wake_all(self) -> None:
        """Every writer re-checks what it may send (the store failed or recovered)."""
        for event in self._wakes.values():
            event.set()

    def disconnect(self, session: RuntimeSession) -> None:
        """Close the connection a session is attached to (it moves to another node)."""
        for conn in self.live:
            if conn.session is session and conn.current:
                conn.close_after_flush()
        self.pump()

    def close_all(self) -> list[asyncio.Task[None]]:
        """Close every connection once what is queued is written; returns the writers."""
        for conn in list(self.live):
            conn.close_after_flush()
        self.pump()
        return [writer for _, writer in self.live.values()]

    async def serve(self, transport: Transport) -> None:
        """Serve one connection until it closes (limits: §13.2, §14)."""
        limits = self.core.config.limits
        if self.unauthenticated >= limits.max_unauthenticated:
            log.warning("connection refused: %d waiting for session.hello", self.unauthenticated)
            await shut(transport)
            return
        loop = asyncio.get_running_loop()
        conn = self.core.connect()
        wake = self._wakes[conn.key] = asyncio.Event()
        writer = asyncio.create_task(self._write(conn, transport, wake))
        self.live[conn] = (transport, writer)
        heartbeat: asyncio.Task[None] | None = None
        self.unauthenticated += 1
        waiting = True  # counted in unauthenticated until a session is bound
        hello_deadline = loop.time() + limits.hello_timeout_sec
        try:
            while not conn.overflowed:
                try:
                    data = await _recv(transport, hello_deadline if waiting else None)
                except TransportClosed:
                    break
                except TimeoutError:
                    conn.error(UnauthenticatedError("no session.hello in time"))
                    conn.close_after_flush()
                    self.pump()
                    break
                session_before = conn.session, conn.generation
                actions = self.core.on_frame(conn, data, loop.time(), time.time())
                del data  # an idle connection keeps no frame (nor its decoded hello) alive
                self.pump()  # before acting: a reply is woken ahead of the agent it starts
                while actions:
                    await self.act(actions.pop(0))
                if waiting and conn.session is not None:
                    waiting = False
                    self.unauthenticated -= 1
                if (conn.session, conn.generation) != session_before and conn.current:
                    if heartbeat is not None:
                        heartbeat.cancel()
                    heartbeat = asyncio.create_task(self._heartbeat(conn, transport, writer))
        finally:
            if waiting:
                self.unauthenticated -= 1
            if conn.closing and not writer.done():  # give the writer a moment for the error
                await asyncio.wait([writer], timeout=_CLOSE_GRACE_SEC)
            self.core.on_disconnect(conn, loop.time())
            self.pump()
            if heartbeat is not None:
                heartbeat.cancel()
            if not writer.done():
                writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, TransportClosed):
                await writer
            self.live.pop(conn, None)
            self._wakes.pop(conn.key, None)
            await shut(transport, abort=conn.overflowed)

    async def _write(
        self, conn: RuntimeConnection, transport: Transport, wake: asyncio.Event
    ) -> None:
        """Drain ``conn`` to ``transport``: commit first, then send (never an event the
        store does not hold); while the store fails, only control frames go out."""
        loop = asyncio.get_running_loop()
        persister = self.persister
        send = _sender(transport)
        held: list[bytes] = []  # taken, but their commit failed: sent once it succeeds
        try:
            while True:
                if persister is not None and persister.failing:
                    if not await self._write_control(conn, transport, wake, send):
                        return
                    wake.set()  # the store is back: send what waited
                    continue
                await wake.wait()
                wake.clear()
                frames = conn.take(loop.time())
                self.pump()  # taking may open a valve agents wait on (§13.2)
                if held:
                    frames, held = held + frames, []
                if persister is not None and not await persister.flush():
                    held = frames
                    continue
                await send(frames)
                del frames  # not kept while the connection idles
                if (
                    conn.closing
                    and not conn.preamble
                    and not (conn.current and conn.session and conn.session.outbox)
                ):
                    await transport.close()
                    return
        except TransportClosed:
            return

    async def _write_control(
        self, conn: RuntimeConnection, transport: Transport, wake: asyncio.Event, send: Send
    ) -> bool:
        """While the store fails: send control frames (errors, pongs) as they come, keep
        events queued. False when the connection was superseded and is closed."""
        persister = self.persister
        loop = asyncio.get_running_loop()
        while persister is not None and persister.failing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.25):  # a queue with events wakes no one
                    await wake.wait()
            wake.clear()
            await send(conn.take_control(loop.time()))
            if conn.closing and not conn.current:
                await transport.close()
                return False
        return True

    async def _heartbeat(
        self, conn: RuntimeConnection, transport: Transport, writer: asyncio.Task[None]
    ) -> None:
        """Ping when idle; on heartbeat loss give the writer one interval to send the error,
        then close the transport even if the peer stopped reading (§6.4)."""
        loop = asyncio.get_running_loop()
        session = conn.session
        while session is not None and conn.current:
            deadline = session.next_deadline()
            if deadline is None:
                if session.closing:
                    await asyncio.wait([writer], timeout=session.heartbeat_interval_sec)
                    await transport.close()
                return
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            if not conn.current:
                return
            session.on_deadline(loop.time())
            self.pump()
