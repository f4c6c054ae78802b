"""A raw ARCP peer for runtime tests: sends real frames, decodes and schema-checks replies.

Every frame the runtime sends must decode and must be valid under the schema root, which
states what a conformant sender produces (no receive-only forms, formats asserted).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from arcp.codec import decode, encode
from arcp.ids import new_ulid
from arcp.runtime import Runtime
from arcp.transport import MemoryTransport, memory_pair
from tests.spec._fixtures import schema_validator

ALL_FEATURES = (
    "heartbeat",
    "ack",
    "list_jobs",
    "subscribe",
    "progress",
    "result_chunk",
    "agent_versions",
    "lease_expires_at",
    "cost.budget",
    "model.use",
    "provisioned_credentials",
)
Frame = dict[str, Any]
SENDER_SCHEMA = schema_validator()


class Peer:
    """The client end of a memory connection to a runtime, speaking raw frames."""

    def __init__(self, transport: MemoryTransport, task: asyncio.Task[None]) -> None:
        self.transport = transport
        self.task = task
        self.session_id: str | None = None
        self.resume_token: str | None = None
        self.last_seq = 0
        self.held: list[Frame] = []

    async def send_raw(self, data: bytes) -> None:
        await self.transport.send(data)

    async def send(self, type_: str, payload: dict[str, Any] | None = None, **envelope: Any) -> str:
        env: dict[str, Any] = {
            "arcp": "1.1",
            "id": envelope.pop("id", None) or new_ulid(),
            "type": type_,
        }
        if self.session_id is not None and type_ not in ("session.hello", "session.resume"):
            env["session_id"] = self.session_id
        env.update(envelope)
        env["payload"] = payload if payload is not None else {}
        await self.transport.send(encode(env))
        return env["id"]

    async def recv(self) -> Frame:
        """The next frame (held ones first); every frame must decode under the schema."""
        if self.held:
            return self.held.pop(0)
        return await self._recv_wire()

    async def _recv_wire(self) -> Frame:
        async with asyncio.timeout(10):
            data = await self.transport.recv()
        decode(data)
        frame: Frame = orjson.loads(data)
        errors = [e.message for e in SENDER_SCHEMA.iter_errors(frame)]
        assert not errors, f"the runtime sent a frame the schema refuses: {errors} {frame}"
        seq = frame.get("event_seq")
        if seq is not None:
            assert seq == self.last_seq + 1, f"gap: {seq} after {self.last_seq}"
            self.last_seq = seq
        return frame

    async def expect(self, type_: str) -> Frame:
        frame = await self.recv()
        assert frame["type"] == type_, frame
        return frame

    async def until(self, pred: Callable[[Frame], bool]) -> list[Frame]:
        """Frames up to and including the first matching ``pred``."""
        out: list[Frame] = []
        while True:
            frame = await self.recv()
            out.append(frame)
            if pred(frame):
                return out

    async def until_terminal(self, job_id: str) -> list[Frame]:
        return await self.until(
            lambda f: f["type"] in ("job.result", "job.error") and f.get("job_id") == job_id
        )

    async def hello(self, token: str | None = "t", features: Iterable[str] = ALL_FEATURES) -> Frame:
        payload: dict[str, Any] = {
            "client": {"name": "test", "version": "0"},
            "capabilities": {"encodings": ["json"], "features": list(features)},
        }
        if token is not None:
            payload["auth"] = {"scheme": "bearer", "token": token}
        await self.send("session.hello", payload)
        welcome = await self.expect("session.welcome")
        self.session_id = welcome["session_id"]
        self.resume_token = welcome["payload"]["resume_token"]
        return welcome

    async def submit(self, agent: str, input: Any = None, **fields: Any) -> Frame:
        """Submit and return the ``job.accepted`` frame (events before it are held)."""
        rid = await self.send("job.submit", {"agent": agent, "input": input, **fields})
        while True:
            frame = await self._recv_wire()
            if frame["payload"].get("request_id") == rid:
                return frame
            self.held.append(frame)

    async def request(self, type_: str, payload: dict[str, Any], **envelope: Any) -> Frame:
        """Send a request and return the response correlated by ``request_id``."""
        rid = await self.send(type_, payload, **envelope)
        while True:
            frame = await self._recv_wire()
            if frame["payload"].get("request_id") == rid:
                return frame
            self.held.append(frame)

    async def drop(self) -> None:
        self.transport.drop()
        await self.task


def connect(rt: Runtime) -> Peer:
    client, server = memory_pair()
    return Peer(client, asyncio.create_task(rt.serve(server)))
