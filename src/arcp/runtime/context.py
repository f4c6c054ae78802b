"""The agent's view of its job: inputs, authority and event emitters (§7, §8).

Every emitter encodes its event once and hands it to the runtime core, which stamps and
queues it for each session that sees the job; nothing here waits on a network. Emitters
yield to the event loop every few hundred events so writers keep draining.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, overload

from pydantic import BaseModel

from arcp.ids import new_id
from arcp.protocol.event_frames import event_gate
from arcp.protocol.flow import Valve
from arcp.protocol.job_table import JobRecord
from arcp.runtime.gated import GatedOperations
from arcp.runtime.job_view import JobView
from arcp_gen.errors import InternalError, InvalidRequestError
from arcp_gen.metamodel import KIND_OF_BODY

if TYPE_CHECKING:
    from arcp.protocol.runtime_core import RuntimeCore
    from arcp.runtime.delegation import JobHost

__all__ = ["JobContext", "ResultStream"]

_LEVELS: Final = {
    "debug": "debug",
    "info": "info",
    "warn": "warn",
    "warning": "warn",
    "error": "error",
}
_YIELD_EVERY: Final = 256
_CHUNK_GATE: Final = event_gate("result_chunk")
_VENDOR_PREFIX: Final = "x-vendor."
_RUNTIME_OWNED: Final = {
    "tool_call": "tool_call()",
    "tool_result": "tool_call()",
    "delegate": "delegate()",
    "result_chunk": "stream_result()",
}
"""Kinds the runtime emits itself, after a check (§9.3 gate, §10, §8.4): emit() refuses them."""

log = logging.getLogger("arcp.runtime")


def _finite(value: float) -> bool:
    """True for a JSON-writable number (not a bool, NaN or an infinity)."""
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)  # pyright: ignore[reportUnnecessaryIsInstance]
        and math.isfinite(value)
    )


def _finite_non_negative(value: float) -> bool:
    return _finite(value) and value >= 0


class JobContext(JobView, GatedOperations):
    """Handed to every agent call: the job's identity, authority, and emitters (§7.1, §8.2).

    The authority-bearing operations (``tool_call``, ``check_read``/``check_write``/
    ``check_fetch``, ``use_model``, ``delegate``) come from :class:`GatedOperations` (§9).
    """

    def __init__(
        self,
        core: RuntimeCore[Any],
        job: JobRecord,
        *,
        max_result_chunk_bytes: int,
        max_result_bytes: int,
        host: JobHost | None = None,
        pump: Callable[[], None] = lambda: None,
    ) -> None:
        """``pump`` is the runtime's: it takes what the core made ready after each event."""
        self._core = core
        self._pump = pump
        self._job = job
        self._host = host
        self._span_id = self._new_span_id()
        self._cancelled = asyncio.Event()
        self._emitted = 0
        self._max_chunk = max_result_chunk_bytes
        self._max_total = max_result_bytes
        self.result_stream: ResultStream | None = None
        origin = job.origin
        self.can_stream_result: bool = origin is not None and origin.accepts(_CHUNK_GATE)
        """True when the submitting session negotiated ``result_chunk`` (§8.4)."""

    def __repr__(self) -> str:
        return f"JobContext({self.job_id!r}, agent={self.agent!r})"

    @property
    def trace_id(self) -> str:
        """The job's 32-hex trace-id (§11)."""
        return self._job.trace_id

    @property
    def input(self) -> Any:
        """The submitted input."""
        return self._job.input

    # -- cancellation (§7.4) -------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        """True once the job was cancelled or timed out."""
        return self._cancelled.is_set()

    async def wait_cancelled(self) -> None:
        """Wait until the job is cancelled or times out."""
        await self._cancelled.wait()

    def mark_cancelled(self) -> None:
        """Called by the runtime when the job ends early."""
        self._cancelled.set()

    # -- events (§8.2) ---------------------------------------------------------------------

    def _event(self, kind: str, body: dict[str, Any]) -> bool:
        """Emit one event, gated as the metamodel says (§6.2); True when the agent must
        :meth:`_pace`: it is due to let the loop run (an agent that emits in a tight loop never
        suspends otherwise), or it must wait for a lagging client or the store (§13.2)."""
        core = self._core
        core.event(self._job, kind, body, event_gate(kind))
        self._pump()
        self._emitted += 1
        origin = self._job.origin
        return (
            self._emitted % _YIELD_EVERY == 0
            or core.store_flow.shut
            or (origin is not None and origin.flow.shut)
        )

    def _throttled(self) -> bool:
        origin = self._job.origin
        return self._core.store_flow.shut or (origin is not None and origin.flow.shut)

    async def _pace(self) -> None:
        """Let the loop run; then, while the submitting session's client lags
        ``high_water`` events behind or the store cannot commit, wait (§13.2)."""
        await asyncio.sleep(0)
        while True:
            origin = self._job.origin
            if origin is not None and origin.flow.shut:
                await _opened(origin.flow)
            elif self._core.store_flow.shut:
                await _opened(self._core.store_flow)
            else:
                return

    async def log(self, message: str, level: str = "info") -> None:
        """A ``log`` event; ``level`` is debug, info, warn (or warning) or error."""
        spelled = _LEVELS.get(level)
        if spelled is None:
            raise ValueError(f"log level must be debug, info, warn or error, not {level!r}")
        if not isinstance(message, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            # The schema wants a string: refuse here rather than send a frame that breaks it.
            raise TypeError(f"log message must be a string, not {type(message).__name__}")
        if self._event("log", {"level": spelled, "message": message}):
            await self._pace()

    async def thought(self, text: str) -> None:
        """A ``thought`` event."""
        if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"thought text must be a string, not {type(text).__name__}")
        if self._event("thought", {"text": text}):
            await self._pace()

    async def status(self, phase: str, message: str | None = None) -> None:
        """A ``status`` event."""
        if not isinstance(phase, str) or not isinstance(message, str | None):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError("status phase and message must be strings")
        body: dict[str, Any] = {"phase": phase}
        if message is not None:
            body["message"] = message
        if self._event("status", body):
            await self._pace()

    async def metric(
        self,
        name: str,
        value: float,
        unit: str | None = None,
        dimensions: dict[str, Any] | None = None,
    ) -> None:
        """A ``metric`` event. A ``cost.*`` metric in a budgeted currency decrements the
        budget and is followed by ``cost.budget.remaining`` (§9.6); a negative or non-finite
        cost is logged and dropped, and the job goes on."""
        if not _finite(value):
            # NaN or an infinity would go out as null and break the schema (§8.2).
            kind = "cost" if name.startswith("cost.") else "metric"
            log.warning("job %s reported an invalid %s %s; ignored", self.job_id, kind, name)
            return
        body: dict[str, Any] = {"name": name, "value": value}
        if unit is not None:
            body["unit"] = unit
        if dimensions is not None:
            body["dimensions"] = dimensions
        authority = self._job.authority
        if authority is None or authority.budget is None or not name.startswith("cost."):
            if self._event("metric", body):
                await self._pace()
            return
        try:
            remaining = authority.charge(name, value, unit)
        except InvalidRequestError:
            log.warning("job %s reported an invalid cost %s; ignored", self.job_id, name)
            return
        if self._event("metric", body):
            await self._pace()
        if remaining is not None and self._event("metric", remaining):
            await self._pace()

    async def progress(
        self,
        current: float,
        total: float | None = None,
        units: str | None = None,
        message: str | None = None,
    ) -> None:
        """A ``progress`` event, delivered only where ``progress`` was negotiated (§8.2.1)."""
        if not _finite_non_negative(current) or not (total is None or _finite_non_negative(total)):
            # NaN or an infinity would go out as null and break the schema (§8.2.1).
            raise ValueError("progress values must be finite and not negative")
        body: dict[str, Any] = {"current": current}
        if total is not None:
            body["total"] = total
        if units is not None:
            body["units"] = units
        if message is not None:
            body["message"] = message
        if self._event("progress", body):
            await self._pace()

    async def artifact(
        self,
        uri: str,
        content_type: str,
        byte_size: int | None = None,
        sha256: str | None = None,
    ) -> None:
        """An ``artifact_ref`` event."""
        body: dict[str, Any] = {"uri": uri, "content_type": content_type}
        if byte_size is not None:
            body["byte_size"] = byte_size
        if sha256 is not None:
            body["sha256"] = sha256
        if self._event("artifact_ref", body):
            await self._pace()

    @overload
    async def emit(self, event: BaseModel, /) -> None: ...

    @overload
    async def emit(self, event: str, body: Mapping[str, Any], /) -> None: ...

    async def emit(self, event: BaseModel | str, body: Mapping[str, Any] | None = None) -> None:
        """Emit any event (§8.2): a generated body model (``LogBody(...)``, ``ProgressBody``,
        any kind the schema defines), whose kind and feature gate come from the metamodel, or
        a vendor kind ``x-vendor.<name>`` with a JSON-object body.

        The named emitters (:meth:`log`, :meth:`progress`, ...) are conveniences over this.
        Refused: a body carrying a secret (an ``x-secret`` field, e.g. a credential value;
        the runtime alone sends those, §9.8.2), and the kinds the runtime emits after a check
        (``tool_call``/``tool_result`` through :meth:`tool_call`, ``delegate``,
        ``result_chunk`` through :meth:`stream_result`).
        """
        if isinstance(event, BaseModel):
            kind, payload = _typed_event(event)
        else:
            kind = event
            if not kind.startswith(_VENDOR_PREFIX) or len(kind) == len(_VENDOR_PREFIX):
                raise ValueError("custom event kinds must look like x-vendor.<name>")
            if body is None:
                raise TypeError("a vendor event needs a body")
            payload = dict(body)
        if self._event(kind, payload):
            await self._pace()

    # -- result streaming (§8.4) ---------------------------------------------------------------

    def stream_result(self, encoding: Literal["utf8", "base64"] = "utf8") -> ResultStream:
        """Start streaming the result as ``result_chunk`` events (needs ``can_stream_result``)."""
        if not self.can_stream_result:
            raise InvalidRequestError("the submitting session did not negotiate result_chunk")
        if self.result_stream is not None:
            raise RuntimeError("the result is already being streamed")
        self.result_stream = ResultStream(self, encoding, self._max_chunk, self._max_total)
        return self.result_stream

    def _chunk(self, body: dict[str, Any]) -> None:
        self._core.event(self._job, "result_chunk", body, _CHUNK_GATE)
        self._pump()


def _typed_event(body: BaseModel) -> tuple[str, dict[str, Any]]:
    """The kind and wire body of a generated event body model (§8.2)."""
    kind = KIND_OF_BODY.get(type(body))
    if kind is None:
        raise TypeError(f"{type(body).__name__} is not an ARCP event body model")
    if kind in _RUNTIME_OWNED:
        raise ValueError(f"{kind} events are emitted through {_RUNTIME_OWNED[kind]}")
    fields = type(body).model_fields
    for name in body.model_fields_set:
        if fields[name].repr is False and getattr(body, name) is not None:
            raise ValueError(f"{kind} events with `{name}` are sent by the runtime only")
    return kind, body.model_dump(mode="json", by_alias=True, exclude_none=True)


class ResultStream:
    """Writes a job's result as ordered ``result_chunk`` events (§8.4).

    The newest chunk is held back until the next write or the end, so the final chunk can
    say ``more: false``.
    """

    def __init__(
        self,
        ctx: JobContext,
        encoding: Literal["utf8", "base64"],
        max_chunk_bytes: int,
        max_total_bytes: int,
    ) -> None:
        self.result_id = new_id("res")
        self.encoding: Literal["utf8", "base64"] = encoding
        self.size = 0
        self.failed = False
        self._ctx = ctx
        self._next_seq = 0
        self._held: str | None = None
        self._max_total = max_total_bytes
        self._piece = max_chunk_bytes if encoding == "utf8" else max(3, max_chunk_bytes // 4 * 3)

    async def write(self, data: str | bytes) -> None:
        """Append ``data`` to the result, split into chunks no larger than the limit."""
        raw = data.encode() if isinstance(data, str) else bytes(data)
        if self.encoding == "utf8" and isinstance(data, bytes):
            raw.decode()  # raises UnicodeDecodeError for non-text bytes
        if self.size + len(raw) > self._max_total:
            self.failed = True
            raise InternalError(
                "the streamed result exceeds the runtime's size limit"  # retryable, as §12 says
            )
        self.size += len(raw)
        start = 0
        while start < len(raw):
            end = min(start + self._piece, len(raw))
            if self.encoding == "utf8":
                while end < len(raw) and end > start + 1 and (raw[end] & 0xC0) == 0x80:
                    end -= 1
                text = raw[start:end].decode()
            else:
                text = base64.b64encode(raw[start:end]).decode()
            self._hold(text)
            start = end
        await self._pace()

    def _hold(self, text: str) -> None:
        if self._held is not None:
            self._send(self._held, more=True)
        self._held = text

    def _send(self, data: str, *, more: bool) -> None:
        body = {
            "result_id": self.result_id,
            "chunk_seq": self._next_seq,
            "data": data,
            "encoding": self.encoding,
            "more": more,
        }
        self._next_seq += 1
        self._ctx._chunk(body)  # pyright: ignore[reportPrivateUsage]

    async def _pace(self) -> None:
        if self._ctx._throttled():  # pyright: ignore[reportPrivateUsage]
            await self._ctx._pace()  # pyright: ignore[reportPrivateUsage]
        else:
            await asyncio.sleep(0)

    def finish(self) -> dict[str, Any]:
        """Send the final chunk; the ``job.result`` fields that reference the result."""
        self._send(self._held or "", more=False)
        self._held = None
        return {"result_id": self.result_id, "result_size": self.size}


async def _opened(valve: Valve) -> None:
    """Wait until ``valve`` opens: park a future on it, which the runtime's pump resolves
    once the valve released it (see :attr:`arcp.protocol.ready.Ready.released`)."""
    opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    if valve.park(opened):
        await opened
