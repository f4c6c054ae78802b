"""A small scripted ARCP runtime that speaks a chosen *dialect* (docs/interop.md), for testing
clients: the strict spec, the official Python SDK's runtime, the TypeScript SDK's runtime.

It is deliberately not :class:`arcp.runtime.Runtime`: it builds raw frames, so it can deviate
exactly where a dialect does (uncorrelated errors, a ``job.error`` for a job it never
accepted, ``session.resume`` dropped, events lost while detached), and inject faults (a gap
in ``event_seq``, a connection drop, a silent link, slow answers) for the client conformance
run (``arcp conformance client``). Agents: ``echo``, ``chatty`` (``{"n"}`` log events),
``chunked`` (``{"parts"}`` as ``result_chunk`` events, §8.4), ``sleep`` (``{"sec"}``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import orjson

from arcp.ids import new_ulid, utc_timestamp
from arcp.transport.base import Transport, TransportClosed

__all__ = ["OFFICIAL_PYTHON", "STRICT", "TYPESCRIPT", "Dialect", "ScriptedRuntime"]

AGENTS = {"echo": "1.0.0", "chatty": "1.0.0", "chunked": "1.0.0", "sleep": "1.0.0"}
FEATURES = ["ack", "heartbeat", "list_jobs", "subscribe", "result_chunk", "agent_versions"]


@dataclass(frozen=True, slots=True)
class Dialect:
    """Where a runtime deviates from the spec (defaults: the strict spec, §5-§8)."""

    name: str = "strict"
    correlate: bool = True  # payload.request_id on responses
    refuse_with: Literal["session.error", "job.error"] = "session.error"  # unknown agent
    foreign_cancel: Literal["session.error", "job.error", "ignore"] = "session.error"
    cancel_ack: bool = True  # job.cancelled before the job ends
    cancel_end: Literal["job.error", "job.result"] = "job.error"
    resume: Literal["resume", "hello-drop", "hello-refuse-close"] = "resume"
    buffer_detached: bool = True  # events emitted while detached are replayed on resume
    expire_empty_resume: bool = False  # RESUME_WINDOW_EXPIRED when nothing is to replay
    close: Literal["closed", "refuse"] = "closed"
    list_finished: bool = True
    history_first: bool = False  # replayed events before job.subscribed
    running_status: bool = False  # each job starts with a status {phase: running} event
    heartbeat_sec: int = 30
    # Faults, for the client conformance scenarios.
    delay: float = 0.0  # seconds before each answer
    gap_at: int | None = None  # skip this event_seq once (a gap, §8.3)
    drop_after: int | None = None  # drop the first connection after this many events
    mute_after: int | None = None  # go silent (no pong, nothing) after this many events
    silent: frozenset[str] = field(default_factory=frozenset[str])  # types never answered


STRICT = Dialect()
OFFICIAL_PYTHON = Dialect(
    name="official-python",
    correlate=True,
    cancel_ack=False,
    cancel_end="job.result",
    foreign_cancel="ignore",
    resume="hello-refuse-close",
    buffer_detached=False,
    close="refuse",
    history_first=True,
)
TYPESCRIPT = Dialect(
    name="typescript",
    correlate=False,
    refuse_with="job.error",
    foreign_cancel="job.error",
    resume="hello-drop",
    buffer_detached=False,
    expire_empty_resume=True,
    close="refuse",
    list_finished=False,
    history_first=True,
    running_status=True,
)


@dataclass
class _Job:
    job_id: str
    agent: str
    owner: str
    trace_id: str | None
    status: str = "running"
    events: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    task: asyncio.Task[None] | None = None
    watchers: set[str] = field(default_factory=set[str])


@dataclass
class _Session:
    session_id: str
    token: str
    seq: int = 0
    link: Transport | None = None
    buffer: list[tuple[int, bytes]] = field(default_factory=list[tuple[int, bytes]])
    sent_events: int = 0
    muted: bool = False


class ScriptedRuntime:
    """Serve ARCP sessions in one :class:`Dialect`; call :meth:`serve` per connection."""

    def __init__(self, dialect: Dialect = STRICT) -> None:
        self.dialect = dialect
        self.frames: list[dict[str, Any]] = []  # every frame received, for assertions
        self._sessions: dict[str, _Session] = {}
        self._jobs: dict[str, _Job] = {}
        self._gap_done = False
        self._drop_done = False
        self._mute_done = False
        self._ids = itertools.count(1)

    def with_faults(self, **faults: Any) -> ScriptedRuntime:
        """A fresh runtime of the same dialect with faults added."""
        return ScriptedRuntime(replace(self.dialect, **faults))

    # -- connections -----------------------------------------------------------------------

    async def serve(self, link: Transport) -> None:
        """Run one connection until it closes."""
        session: _Session | None = None
        try:
            while True:
                try:
                    msg: Any = orjson.loads(await link.recv())
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(msg, dict):
                    continue
                self.frames.append(msg)  # pyright: ignore[reportUnknownArgumentType]
                session = await self._on(link, session, msg)  # pyright: ignore[reportUnknownArgumentType]
        except TransportClosed:
            pass
        finally:
            if session is not None and session.link is link:
                session.link = None

    async def _on(
        self, link: Transport, s: _Session | None, msg: dict[str, Any]
    ) -> _Session | None:
        type_ = msg.get("type")
        payload: dict[str, Any] = msg.get("payload") or {}
        if type_ in self.dialect.silent or (s is not None and s.muted):
            return s
        if self.dialect.delay and type_ not in ("session.ping", "session.ack"):
            await asyncio.sleep(self.dialect.delay)
        if type_ == "session.hello":
            return await self._hello(link, payload)
        if type_ == "session.resume":
            if self.dialect.resume == "hello-drop" or s is not None:
                return s
            if self.dialect.resume == "hello-refuse-close":
                await self._error(link, None, "INVALID_REQUEST", "unknown envelope type", msg)
                await link.close()
                return s
            return await self._resume(link, payload)
        if s is None:
            return None  # before the handshake: dropped
        handler = _HANDLERS.get(str(type_))
        if handler is not None:
            await handler(self, s, msg, payload)
        return s

    async def _hello(self, link: Transport, payload: dict[str, Any]) -> _Session | None:
        resume = payload.get("resume")
        if isinstance(resume, dict):  # the legacy resume form, accepted by every dialect
            return await self._resume(link, resume)  # pyright: ignore[reportUnknownArgumentType]
        auth: dict[str, Any] = payload.get("auth") or {}
        token = auth.get("token")
        if not isinstance(token, str) or not token:
            await self._error(link, None, "UNAUTHENTICATED", "a bearer token is required", {})
            return None
        session = _Session(f"sess_{new_ulid()}", token, link=link)
        self._sessions[session.session_id] = session
        await self._welcome(link, session)
        return session

    async def _resume(self, link: Transport, request: dict[str, Any]) -> _Session | None:
        session = self._sessions.get(str(request.get("session_id")))
        if session is None or request.get("resume_token") != session.token:
            await self._error(link, None, "RESUME_WINDOW_EXPIRED", "unknown session", {})
            return None
        last = int(request.get("last_event_seq") or 0)
        if self.dialect.expire_empty_resume and last >= session.seq:
            await self._error(link, None, "RESUME_WINDOW_EXPIRED", "nothing to resume", {})
            return None
        session.token = f"rt_{new_ulid()}"
        session.link = link
        session.muted = False
        await self._welcome(link, session)
        for seq, frame in session.buffer:
            if seq > last:
                await link.send(frame)
        return session

    async def _welcome(self, link: Transport, s: _Session) -> None:
        await self._send(
            link,
            "session.welcome",
            {
                "runtime": {"name": f"scripted-{self.dialect.name}", "version": "0"},
                "session_id": s.session_id,
                "accepted_at": utc_timestamp(),
                "resume_token": s.token,
                "resume_window_sec": 60,
                "heartbeat_interval_sec": self.dialect.heartbeat_sec,
                "capabilities": {
                    "encodings": ["json"],
                    "features": FEATURES,
                    "agents": [{"name": n, "versions": [v]} for n, v in AGENTS.items()],
                },
            },
            session_id=s.session_id,
        )

    # -- requests --------------------------------------------------------------------------

    async def _submit(self, s: _Session, msg: dict[str, Any], payload: dict[str, Any]) -> None:
        name, _, version = str(payload.get("agent", "")).partition("@")
        code = None
        if name not in AGENTS:
            code = "AGENT_NOT_AVAILABLE"
        elif version and version != AGENTS[name]:
            code = "AGENT_VERSION_NOT_AVAILABLE"
        if code is not None:
            if self.dialect.refuse_with == "job.error":  # under a job id it never accepted
                await self._emit(
                    s, f"job_{new_ulid()}", "job.error", _err(code), msg.get("trace_id")
                )
            else:
                await self._error(s.link, s, code, f"no agent {payload.get('agent')!r}", msg)
            return
        job = _Job(f"job_{new_ulid()}", f"{name}@{AGENTS[name]}", s.session_id, msg.get("trace_id"))
        job.watchers.add(s.session_id)
        self._jobs[job.job_id] = job
        accepted: dict[str, Any] = {"job_id": job.job_id, "agent": job.agent, "lease": {}}
        accepted["accepted_at"] = utc_timestamp()
        await self._answer(
            s, msg, "job.accepted", accepted, job_id=job.job_id, trace_id=job.trace_id
        )
        job.task = asyncio.create_task(self._run(job, name, payload.get("input")))

    async def _cancel(self, s: _Session, msg: dict[str, Any], payload: dict[str, Any]) -> None:
        job_id = str(msg.get("job_id") or payload.get("job_id"))
        job = self._jobs.get(job_id)
        if job is None:
            await self._error(s.link, s, "JOB_NOT_FOUND", "no such job", msg, job_id=job_id)
            return
        if job.owner != s.session_id:
            how = self.dialect.foreign_cancel
            if how == "job.error":  # under the running job's id; the job goes on
                await self._emit(
                    s, job_id, "job.error", _err("PERMISSION_DENIED"), None, to_one=True
                )
            elif how == "session.error":
                await self._error(s.link, s, "PERMISSION_DENIED", "not yours", msg, job_id=job_id)
            return
        if job.status != "running":
            await self._error(s.link, s, "JOB_NOT_FOUND", "already ended", msg, job_id=job_id)
            return
        if self.dialect.cancel_ack:
            await self._answer(s, msg, "job.cancelled", {"job_id": job_id}, job_id=job_id)
        if job.task is not None:
            job.task.cancel()

    async def _list(self, s: _Session, msg: dict[str, Any], payload: dict[str, Any]) -> None:
        jobs: list[dict[str, Any]] = [
            {"job_id": j.job_id, "agent": j.agent, "status": j.status, "lease": {},
             "created_at": utc_timestamp(), "submitted_at": utc_timestamp(),
             "parent_job_id": None, "last_event_seq": len(j.events)}
            for j in self._jobs.values()
            if self.dialect.list_finished or j.status == "running"
        ]  # fmt: skip
        await self._answer(s, msg, "session.jobs", {"jobs": jobs, "next_cursor": None})

    async def _subscribe(self, s: _Session, msg: dict[str, Any], payload: dict[str, Any]) -> None:
        job = self._jobs.get(str(payload.get("job_id")))
        if job is None:
            await self._error(s.link, s, "JOB_NOT_FOUND", "no such job", msg)
            return
        history = job.events if payload.get("history") else []
        described: dict[str, Any] = {
            "job_id": job.job_id, "current_status": job.status, "agent": job.agent,
            "lease": {}, "parent_job_id": None, "trace_id": job.trace_id,
            "subscribed_from": len(job.events), "replayed": bool(history),
        }  # fmt: skip
        if not self.dialect.history_first:
            await self._answer(s, msg, "job.subscribed", described, job_id=job.job_id)
        for frame in history:
            await self._emit(s, job.job_id, frame["type"], frame["payload"], None, to_one=True)
        if self.dialect.history_first:
            await self._answer(s, msg, "job.subscribed", described, job_id=job.job_id)
        if job.status == "running":
            job.watchers.add(s.session_id)

    async def _unsubscribe(self, s: _Session, msg: dict[str, Any], payload: dict[str, Any]) -> None:
        job = self._jobs.get(str(msg.get("job_id") or payload.get("job_id")))
        if job is not None:
            job.watchers.discard(s.session_id)

    async def _ping(self, s: _Session, msg: dict[str, Any], payload: dict[str, Any]) -> None:
        pong = {"ping_nonce": payload.get("nonce"), "received_at": utc_timestamp()}
        await self._send(s.link, "session.pong", pong, session_id=s.session_id)

    async def _close(self, s: _Session, msg: dict[str, Any], payload: dict[str, Any]) -> None:
        if self.dialect.close == "refuse" and msg.get("type") == "session.close":
            await self._error(s.link, s, "INVALID_REQUEST", "unknown envelope type", {})
            return
        link = s.link
        if link is not None:
            if msg.get("type") == "session.close":
                await self._send(link, "session.closed", {}, session_id=s.session_id)
            await link.close()

    # -- jobs and events -------------------------------------------------------------------

    async def _run(self, job: _Job, name: str, data: Any) -> None:
        args: dict[str, Any] = data if isinstance(data, dict) else {}  # pyright: ignore[reportUnknownVariableType]
        final: tuple[str, dict[str, Any]]
        try:
            if self.dialect.running_status:
                await self._event(job, "status", {"phase": "running"})
            if name == "chatty":
                for i in range(int(args.get("n", 3))):
                    await self._event(job, "log", {"level": "info", "message": f"line {i}"})
                    await asyncio.sleep(float(args.get("every", 0)))
                final = (
                    "job.result",
                    {"final_status": "success", "result": {"lines": args.get("n", 3)}},
                )
            elif name == "chunked":
                parts = [str(p) for p in args.get("parts", ["a", "b"])]
                for i, part in enumerate(parts):
                    body = {"result_id": "res_1", "chunk_seq": i, "data": part,
                            "encoding": "utf8", "more": i < len(parts) - 1}  # fmt: skip
                    await self._event(job, "result_chunk", body)
                final = ("job.result", {"final_status": "success", "result_id": "res_1"})
            elif name == "sleep":
                await asyncio.sleep(float(args.get("sec", 0.1)))
                final = ("job.result", {"final_status": "success", "result": "slept"})
            else:
                final = ("job.result", {"final_status": "success", "result": data})
        except asyncio.CancelledError:
            if self.dialect.cancel_end == "job.result":
                final = ("job.result", {"final_status": "cancelled", "summary": "cancelled"})
            else:
                final = ("job.error", {**_err("CANCELLED"), "final_status": "cancelled"})
        job.status = final[1]["final_status"] if final[0] == "job.result" else "cancelled"
        final[1]["completed_at"] = utc_timestamp()
        await self._publish(job, final[0], final[1])
        job.watchers.clear()

    async def _event(self, job: _Job, kind: str, body: dict[str, Any]) -> None:
        await self._publish(job, "job.event", {"kind": kind, "ts": utc_timestamp(), "body": body})

    async def _publish(self, job: _Job, type_: str, payload: dict[str, Any]) -> None:
        job.events.append({"type": type_, "payload": payload})
        for session_id in list(job.watchers):
            session = self._sessions.get(session_id)
            if session is not None:
                await self._emit(session, job.job_id, type_, payload, job.trace_id)

    async def _emit(
        self,
        s: _Session,
        job_id: str,
        type_: str,
        payload: dict[str, Any],
        trace_id: str | None,
        *,
        to_one: bool = False,
    ) -> None:
        """Stamp the session's next ``event_seq`` and send (or buffer) one job message."""
        s.seq += 1
        d = self.dialect
        env: dict[str, Any] = {"session_id": s.session_id, "job_id": job_id, "event_seq": s.seq}
        if trace_id is not None:
            env["trace_id"] = trace_id
        frame = _frame(type_, payload, env)
        if s.link is not None or d.buffer_detached:
            s.buffer.append((s.seq, frame))
        link = s.link
        if link is None or s.muted:
            return
        if d.gap_at == s.seq and not self._gap_done and not to_one:
            self._gap_done = True
            return  # withheld: the client sees a gap (§8.3); a resume replays it
        with contextlib.suppress(TransportClosed):
            await link.send(frame)
        s.sent_events += 1
        if d.mute_after is not None and s.sent_events == d.mute_after and not self._mute_done:
            self._mute_done = s.muted = True
        if d.drop_after is not None and s.sent_events == d.drop_after and not self._drop_done:
            self._drop_done = True
            drop = getattr(link, "drop", None)
            if callable(drop):
                drop()
            else:
                await link.close()

    # -- framing ---------------------------------------------------------------------------

    async def _answer(
        self, s: _Session, request: dict[str, Any], type_: str, payload: dict[str, Any], **env: Any
    ) -> None:
        if self.dialect.correlate:
            payload = {"request_id": request.get("id"), **payload}
        await self._send(s.link, type_, payload, session_id=s.session_id, **env)

    async def _error(
        self,
        link: Transport | None,
        s: _Session | None,
        code: str,
        message: str,
        request: dict[str, Any],
        **env: Any,
    ) -> None:
        payload = _err(code, message)
        if self.dialect.correlate and request.get("id"):
            payload["request_id"] = request["id"]
        if s is not None:
            env["session_id"] = s.session_id
        await self._send(link, "session.error", payload, **env)

    async def _send(
        self, link: Transport | None, type_: str, payload: dict[str, Any], **env: Any
    ) -> None:
        if link is not None:
            with contextlib.suppress(TransportClosed):
                await link.send(_frame(type_, payload, env))


def _err(code: str, message: str = "refused") -> dict[str, Any]:
    return {"code": code, "message": message, "retryable": False, "final_status": "error"}


def _frame(type_: str, payload: dict[str, Any], env: dict[str, Any]) -> bytes:
    return orjson.dumps({"arcp": "1.1", "id": new_ulid(), "type": type_, **env, "payload": payload})


_HANDLERS = {
    "job.submit": ScriptedRuntime._submit,  # pyright: ignore[reportPrivateUsage]
    "job.cancel": ScriptedRuntime._cancel,  # pyright: ignore[reportPrivateUsage]
    "session.list_jobs": ScriptedRuntime._list,  # pyright: ignore[reportPrivateUsage]
    "job.subscribe": ScriptedRuntime._subscribe,  # pyright: ignore[reportPrivateUsage]
    "job.unsubscribe": ScriptedRuntime._unsubscribe,  # pyright: ignore[reportPrivateUsage]
    "session.ping": ScriptedRuntime._ping,  # pyright: ignore[reportPrivateUsage]
    "session.close": ScriptedRuntime._close,  # pyright: ignore[reportPrivateUsage]
    "session.bye": ScriptedRuntime._close,  # pyright: ignore[reportPrivateUsage]
}
