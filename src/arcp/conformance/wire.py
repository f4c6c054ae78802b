"""Raw ARCP frames over WebSocket: send a request, collect frames until a predicate holds.

The kit judges the wire, not a client library, so it speaks plain JSON envelopes (dicts)
through :func:`arcp.transport.connect_websocket` and parses with :func:`arcp.codec.loads`.
Every frame received is kept on the :class:`Peer` and in the shared :class:`Recorder`, so
passive checks (envelope fields, error shapes, ...) can look at all traffic of a run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import orjson

from arcp.codec import DecodeError, loads
from arcp.ids import new_ulid
from arcp.protocol.client_core import ALL_FEATURES as CLIENT_FEATURES
from arcp.transport import TransportClosed, WebSocketTransport, connect_websocket
from arcp_gen.features import Feature
from arcp_gen.metamodel import PROTOCOL_VERSION

__all__ = [
    "ALL_FEATURES",
    "CLIENT",
    "Frame",
    "Peer",
    "Received",
    "Recorder",
    "arr",
    "is_error",
    "now_iso",
    "obj",
]

Frame = dict[str, Any]
"""One decoded JSON envelope."""

ALL_FEATURES: tuple[str, ...] = tuple(f.value for f in Feature if f in CLIENT_FEATURES)
"""The flags this SDK implements (§6.2); a conformance session asks for all of them by default."""

CLIENT = {"name": "arcp-conformance", "version": "1.1"}


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty dict."""
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def arr(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty list."""
    return cast(list[Any], value) if isinstance(value, list) else []


def now_iso() -> str:
    """The current UTC time as RFC 3339 with ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def is_error(frame: Frame) -> bool:
    """True for ``session.error`` / ``job.error`` frames."""
    return frame.get("type") in ("session.error", "job.error")


@dataclass
class Received:
    """One inbound frame: the raw bytes, the parsed object (None if it was not one)."""

    peer: str
    raw: bytes
    frame: Frame | None


@dataclass
class Recorder:
    """All frames every peer of a run received, in arrival order."""

    received: list[Received] = field(default_factory=list[Received])

    def frames(self) -> list[Frame]:
        """The inbound frames that parsed as JSON objects."""
        return [r.frame for r in self.received if r.frame is not None]


class Peer:
    """One raw connection to the runtime under test."""

    def __init__(
        self, transport: WebSocketTransport, label: str, recorder: Recorder, timeout: float
    ) -> None:
        self.transport = transport
        self.label = label
        self.recorder = recorder
        self.timeout = timeout
        self.frames: list[Frame] = []
        self.sent_ids: dict[str, str] = {}
        self.session_id: str | None = None
        self.welcome: Frame | None = None
        self.closed = False
        self._cursor = 0

    @classmethod
    async def open(cls, url: str, label: str, recorder: Recorder, wait: float) -> Peer:
        """Open a WebSocket to ``url``."""
        transport = await connect_websocket(url, open_timeout=wait)
        return cls(transport, label, recorder, wait)

    # -- sending ---------------------------------------------------------------------------

    async def send(
        self, type_: str, payload: Mapping[str, Any] | None = None, **envelope: Any
    ) -> str:
        """Send one envelope of ``type_``; returns its ``id``. ``session_id`` is filled in."""
        frame: Frame = {"arcp": PROTOCOL_VERSION, "id": new_ulid(), "type": type_}
        if self.session_id is not None:
            frame["session_id"] = self.session_id
        frame.update(envelope)
        frame["payload"] = dict(payload or {})
        self.sent_ids[str(frame["id"])] = type_
        await self.send_raw(orjson.dumps(frame))
        return str(frame["id"])

    async def send_raw(self, data: bytes) -> None:
        """Send bytes as one frame, exactly as given."""
        await self.transport.send(data)

    # -- receiving -------------------------------------------------------------------------

    async def _recv(self, deadline: float) -> Frame | None:
        loop = asyncio.get_running_loop()
        while not self.closed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                async with asyncio.timeout(remaining):
                    raw = await self.transport.recv()
            except TimeoutError:
                return None
            except TransportClosed:
                self.closed = True
                return None
            try:
                parsed = loads(raw)
            except DecodeError:
                parsed = None
            frame = obj(parsed) if isinstance(parsed, dict) else None
            self.recorder.received.append(Received(self.label, raw, frame))
            if frame is not None:
                self.frames.append(frame)
                return frame
        return None

    async def until(self, pred: Callable[[Frame], bool], wait: float | None = None) -> Frame | None:
        """The first not-yet-consumed frame matching ``pred`` (waiting up to ``wait`` s).

        Frames before it are consumed too (they stay in :attr:`frames`). None on timeout or
        when the connection closed first.
        """
        while self._cursor < len(self.frames):
            frame = self.frames[self._cursor]
            self._cursor += 1
            if pred(frame):
                return frame
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.timeout if wait is None else wait)
        while True:
            frame = await self._recv(deadline)
            if frame is None:
                return None
            self._cursor = len(self.frames)
            if pred(frame):
                return frame

    async def answer(self, request_id: str, *types: str) -> Frame | None:
        """The response to request ``request_id``: a frame of ``types`` or an error for it.

        Matches on ``payload.request_id``; a response without one matches by type (FIFO).
        """

        def pred(f: Frame) -> bool:
            rid = obj(f.get("payload")).get("request_id")
            if f.get("type") in types or f.get("type") == "session.error":
                return rid is None or rid == request_id
            return False

        return await self.until(pred)

    async def drain(self, wait: float) -> list[Frame]:
        """Everything that arrives within ``wait`` seconds."""
        start = len(self.frames)
        await self.until(lambda _f: False, wait)
        return self.frames[start:]

    async def closes(self, wait: float | None = None) -> bool:
        """True when the runtime closes the connection within ``wait`` s."""
        await self.until(lambda _f: False, wait)
        return self.closed

    def job_frames(self, job_id: str) -> list[Frame]:
        """Every frame received so far about ``job_id``."""
        return [f for f in self.frames if _job_of(f) == job_id]

    # -- session ---------------------------------------------------------------------------

    async def hello(
        self, token: str, features: tuple[str, ...] | list[str] = ALL_FEATURES
    ) -> Frame | None:
        """Send ``session.hello``; return the welcome (or the error, or None on silence)."""
        rid = await self.send(
            "session.hello",
            {
                "client": CLIENT,
                "auth": {"scheme": "bearer", "token": token},
                "capabilities": {"encodings": ["json"], "features": list(features)},
            },
        )
        answer = await self.until(
            lambda f: (
                f.get("type") == "session.welcome"
                or (is_error(f) and obj(f.get("payload")).get("request_id") in (None, rid))
            )
        )
        if answer is not None and answer.get("type") == "session.welcome":
            self.adopt(answer)
        return answer

    def adopt(self, welcome: Frame) -> None:
        """Remember a welcome's session id (envelope or payload)."""
        self.welcome = welcome
        sid = welcome.get("session_id") or obj(welcome.get("payload")).get("session_id")
        self.session_id = str(sid) if sid is not None else None

    @property
    def features(self) -> set[str]:
        """Features the runtime advertised in its welcome."""
        caps = obj(obj(obj(self.welcome).get("payload")).get("capabilities"))
        return {str(f) for f in arr(caps.get("features"))}

    @property
    def resume_token(self) -> str | None:
        """The resume token of the latest welcome."""
        token = obj(obj(self.welcome).get("payload")).get("resume_token")
        return str(token) if isinstance(token, str) else None

    def last_seq(self) -> int:
        """The highest ``event_seq`` received on this connection (0 if none)."""
        seqs = [f["event_seq"] for f in self.frames if isinstance(f.get("event_seq"), int)]
        return max(seqs, default=0)

    async def close(self) -> None:
        """Close the WebSocket (no ``session.close``)."""
        self.closed = True
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.timeout):
                await self.transport.close()

    def drop(self) -> None:
        """Abort the TCP connection, as a network failure would."""
        self.closed = True
        self.transport.drop()


def _job_of(frame: Frame) -> Any:
    return frame.get("job_id") or obj(frame.get("payload")).get("job_id")
