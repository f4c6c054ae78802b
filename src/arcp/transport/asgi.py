"""Serve an ARCP runtime from any ASGI server or framework (§4).

:class:`ARCPApp` is a plain ASGI application with no framework dependency. Each WebSocket
connection it accepts becomes an :class:`ASGIWebSocketTransport` handed to
``runtime.serve``, so the runtime behaves exactly as over :mod:`arcp.transport.websocket`:
one ARCP envelope per text message, binary messages accepted on receive.

Authentication stays where §6.1 puts it: the bearer token in ``session.hello`` is checked by
the runtime's ``tokens`` verifier. Nothing is read from HTTP headers except ``Host``, which
can be restricted with ``allowed_hosts`` (a defence against DNS rebinding).

Mount it on a Starlette or FastAPI app with :func:`mount`, which answers both
``ws://host/arcp`` and ``ws://host/arcp/``::

    app = FastAPI()
    mount(app, "/arcp", ARCPApp(runtime))

(``app.mount("/arcp", ...)`` alone answers only ``ws://host/arcp/``: Starlette hands a mount
only the paths below its prefix and redirects only HTTP requests, so a WebSocket to
``/arcp`` is refused with 403 before this app sees it.)

or run it on its own (``uvicorn module:app``) with ``ARCPApp(runtime, owns_runtime=True)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, Protocol

from arcp.transport.base import TransportClosed
from arcp.transport.websocket_io import DEFAULT_MAX_SIZE

__all__ = [
    "ARCPApp",
    "ASGIApp",
    "ASGIWebSocketTransport",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "ServedRuntime",
    "host_allowed",
    "mount",
]

Scope = MutableMapping[str, Any]
"""An ASGI connection scope."""
Message = MutableMapping[str, Any]
"""An ASGI event (``{"type": ...}``)."""
Receive = Callable[[], Awaitable[Message]]
"""The ASGI ``receive`` callable."""
Send = Callable[[Message], Awaitable[None]]
"""The ASGI ``send`` callable."""
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
"""An ASGI 3 application."""

_CLOSE_NORMAL = 1000
_CLOSE_POLICY = 1008
_CLOSE_TOO_BIG = 1009
_TEXT_PLAIN = (b"content-type", b"text/plain; charset=utf-8")
# What an ASGI server raises when the peer is gone or the socket is already closed
# (uvicorn's ``ClientDisconnected`` is an ``OSError``; sending after close is a RuntimeError).
_SEND_ERRORS = (OSError, RuntimeError)


class ASGIWebSocketTransport:
    """One accepted ASGI WebSocket connection as an ARCP :class:`Transport` (§4).

    ``recv`` raises :class:`TransportClosed` on ``websocket.disconnect`` and once ``close``
    was called; a message larger than ``max_size`` bytes closes the connection with code 1009.
    Frames are sent as text messages (ARCP is JSON text, §5).
    """

    __slots__ = ("_close_code", "_closed", "_max_size", "_receive", "_send", "scope")

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        max_size: int | None = DEFAULT_MAX_SIZE,
    ) -> None:
        self.scope = scope
        """The ASGI ``websocket`` scope (path, headers, client address...)."""
        self._receive = receive
        self._send = send
        self._max_size = max_size
        self._closed = False
        self._close_code: int | None = None

    @property
    def closed(self) -> bool:
        """True once either side closed the connection."""
        return self._closed

    @property
    def close_code(self) -> int | None:
        """The close code once closed: ours when we closed first, else the peer's."""
        return self._close_code

    @property
    def request_headers(self) -> dict[str, str]:
        """Headers of the opening handshake, lower-cased names (latin-1 decoded)."""
        headers: list[tuple[bytes, bytes]] = self.scope.get("headers", [])
        return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}

    async def send(self, frame: bytes) -> None:
        """Send one frame as a text message."""
        if self._closed:
            raise TransportClosed("websocket closed")
        try:
            await self._send({"type": "websocket.send", "text": frame.decode()})
        except _SEND_ERRORS as exc:
            self._gone(1006)
            raise TransportClosed(f"websocket closed: {exc}") from None

    async def recv(self) -> bytes:
        """Return the next message's bytes (text is UTF-8 encoded, binary passed through)."""
        while True:
            if self._closed:
                raise TransportClosed("websocket closed")
            message = await self._receive()
            kind = message["type"]
            if kind == "websocket.receive":
                if self._closed:
                    raise TransportClosed("websocket closed")
                text: str | None = message.get("text")
                data: bytes = text.encode() if text is not None else message.get("bytes") or b""
                if self._max_size is not None and len(data) > self._max_size:
                    await self._close(_CLOSE_TOO_BIG, "message too big")
                    raise TransportClosed("message too big (closed with 1009)")
                return data
            if kind == "websocket.disconnect":
                self._gone(int(message.get("code", 1005)))
                raise TransportClosed(f"websocket closed by the peer ({self._close_code})")

    async def close(self) -> None:
        """Close the connection with code 1000; idempotent."""
        await self._close(_CLOSE_NORMAL, "")

    async def _close(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._gone(code)
        with contextlib.suppress(*_SEND_ERRORS):
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    def _gone(self, code: int) -> None:
        if not self._closed:
            self._closed = True
            self._close_code = code


def _strip_host(value: str) -> str:
    """The host name of a ``Host`` header or pattern: lower case, no port, no brackets."""
    value = value.strip().lower()
    if value.startswith("["):  # [IPv6]:port
        end = value.find("]")
        return value[1:end] if end > 0 else value
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def _check_patterns(patterns: Sequence[str]) -> tuple[str, ...]:
    if isinstance(patterns, str):
        raise TypeError("allowed_hosts must be a sequence of host names, not a string")
    checked: list[str] = []
    for pattern in patterns:
        if pattern == "*":
            checked.append(pattern)
            continue
        wildcard = pattern.startswith("*.")
        name = _strip_host(pattern[2:] if wildcard else pattern)
        if not name or "*" in name:
            raise ValueError(f"bad allowed host {pattern!r}: use a name, '*.domain' or '*'")
        checked.append(f"*.{name}" if wildcard else name)
    return tuple(checked)


def host_allowed(host: str | None, patterns: Sequence[str]) -> bool:
    """True when the ``Host`` header value matches one of ``patterns``: exact names
    (case-insensitive, port ignored), ``*.example.com`` for any subdomain, or ``*``."""
    if "*" in patterns:
        return True
    if not host:
        return False
    name = _strip_host(host)
    for pattern in patterns:
        if pattern.startswith("*."):
            if name.endswith(pattern[1:]):
                return True
        elif name == _strip_host(pattern):
            return True
    return False


def _route_path(scope: Scope) -> str:
    """The path below the mount point (Starlette's ``get_route_path`` rule)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root) :] if path[len(root)] == "/" else path


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class ServedRuntime(Protocol):
    """What the adapter needs of an :class:`arcp.Runtime`: serve one connection, and close.
    A protocol, so a transport adapter does not import the runtime layer above it."""

    async def serve(self, transport: ASGIWebSocketTransport, /) -> None:
        """Serve one connection until it closes."""
        ...

    async def aclose(self) -> None:
        """End running jobs and close every connection."""
        ...


class ARCPApp:
    """An ASGI application serving ``runtime`` over WebSocket (§4).

    * ``path``: the route path that accepts ARCP connections (``None``: any path; use that
      when mounting, as the mount prefix already selects the endpoint).
    * ``allowed_hosts``: ``Host`` header allow-list (exact names, ``*.example.com``, ``*``);
      other hosts are refused before the handshake completes (HTTP 403). ``None`` allows all.
    * ``max_size``: largest incoming message in bytes; a larger one closes with 1009.
    * ``fallback``: ASGI app for every other request (HTTP, other paths, lifespan);
      without it HTTP requests get 404.
    * ``owns_runtime``: on ASGI lifespan shutdown, ``await runtime.aclose()``.
    """

    def __init__(
        self,
        runtime: ServedRuntime,
        *,
        path: str | None = "/arcp",
        allowed_hosts: Sequence[str] | None = None,
        max_size: int | None = DEFAULT_MAX_SIZE,
        fallback: ASGIApp | None = None,
        owns_runtime: bool = False,
    ) -> None:
        if path is not None and not path.startswith("/"):
            raise ValueError("path must start with '/' (or be None for any path)")
        if max_size is not None and max_size <= 0:
            raise ValueError("max_size must be positive (or None for no limit)")
        self.runtime = runtime
        self.path = path
        self.allowed_hosts = None if allowed_hosts is None else _check_patterns(allowed_hosts)
        self.max_size = max_size
        self.fallback = fallback
        self.owns_runtime = owns_runtime

    def __repr__(self) -> str:
        return f"ARCPApp({self.runtime!r}, path={self.path!r})"

    def serves(self, scope: Scope) -> bool:
        """True when ``scope``'s path is the ARCP endpoint: :attr:`path` with or without a
        trailing ``/``, or the mount point itself when the app is mounted at :attr:`path`."""
        if self.path is None:
            return True
        wanted = self.path.rstrip("/")
        route = _route_path(scope).rstrip("/")
        if route == wanted:
            return True
        root = str(scope.get("root_path", "")).rstrip("/")
        return not route and bool(root) and root.endswith(wanted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket" and self.serves(scope):
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)
        elif self.fallback is not None:
            await self.fallback(scope, receive, send)
        elif kind == "http":
            await _not_found(send)
        elif kind == "websocket" and (await receive())["type"] == "websocket.connect":
            await _refuse(scope, send, 404, "Not Found")

    async def aclose(self) -> None:
        """Close the runtime: end its jobs and connections (what shutdown does when owned)."""
        await self.runtime.aclose()

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        if self.allowed_hosts is not None and not host_allowed(
            _header(scope, b"host"), self.allowed_hosts
        ):
            # A close before accept: every ASGI server answers it with HTTP 403.
            await send({"type": "websocket.close", "code": _CLOSE_POLICY, "reason": "host"})
            return
        transport = ASGIWebSocketTransport(scope, receive, send, max_size=self.max_size)
        try:
            await send({"type": "websocket.accept"})
        except _SEND_ERRORS:
            return
        try:
            await self.runtime.serve(transport)
        finally:
            await transport.close()

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fallback is not None:

            async def send_after_close(message: Message) -> None:
                if message["type"] == "lifespan.shutdown.complete" and self.owns_runtime:
                    await self.aclose()
                await send(message)

            await self.fallback(scope, receive, send_after_close)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    if self.owns_runtime:
                        await self.aclose()
                except Exception as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                return


def mount(app: Any, path: str, arcp_app: ARCPApp, *, name: str | None = None) -> None:
    """Serve ``arcp_app`` on a Starlette or FastAPI ``app`` at ``path``: WebSocket clients
    may dial ``ws://host/PATH`` or ``ws://host/PATH/`` (§4); everything below ``PATH/`` goes
    to ``arcp_app`` as with ``app.mount`` (its ``fallback`` answers HTTP)."""
    from starlette.routing import Mount, WebSocketRoute

    bare = "/" + path.strip("/")
    if bare == "/":
        raise ValueError("mount ARCP below the root, e.g. '/arcp'")
    app.router.routes.append(WebSocketRoute(bare, arcp_app))
    app.router.routes.append(Mount(bare, app=arcp_app, name=name))


async def _not_found(send: Send) -> None:
    body = b"Not Found\n"
    headers = [_TEXT_PLAIN, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(scope: Scope, send: Send, status: int, text: str) -> None:
    """Refuse a WebSocket handshake with ``status`` when the server supports the
    ``websocket.http.response`` extension, else with a close before accept (HTTP 403)."""
    extensions: dict[str, Any] = scope.get("extensions") or {}
    if "websocket.http.response" in extensions:
        body = f"{text}\n".encode()
        headers = [_TEXT_PLAIN, (b"content-length", str(len(body)).encode())]
        start = {"type": "websocket.http.response.start", "status": status, "headers": headers}
        await send(start)
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": _CLOSE_POLICY, "reason": text})
