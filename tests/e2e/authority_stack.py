"""A runtime with every authority feature configured, for the authority e2e tests.

``auth`` builds a runtime with a model policy (``require``), the reference credential
provisioner, a permissive observer policy for ``bob`` and no expiry grace, over memory and
WebSocket; it adds two agents: ``ticker`` (a gated tool call every 20 ms) and ``rotator``
(rotates its credential once the test sets ``Auth.release``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from arcp.client import Client
from arcp.demo import register_demo_agents
from arcp.runtime import JobContext, Runtime
from arcp.runtime.credentials import InProcessProvisioner
from arcp.transport import Transport, connect_websocket, memory_pair
from tests.e2e.conftest import ALICE, TOKENS  # pyright: ignore[reportPrivateUsage]


class Recording:
    """A transport that keeps every frame the runtime sent to this client."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.received: list[bytes] = []

    async def send(self, frame: bytes) -> None:
        await self.inner.send(frame)

    async def recv(self) -> bytes:
        frame = await self.inner.recv()
        self.received.append(frame)
        return frame

    async def close(self) -> None:
        await self.inner.close()

    @property
    def closed(self) -> bool:
        return self.inner.closed


@dataclass
class Auth:
    """A runtime with every authority feature configured, reachable over one transport."""

    runtime: Runtime
    provisioner: InProcessProvisioner
    dial_raw: Any
    release: asyncio.Event = field(default_factory=asyncio.Event)
    recordings: list[Recording] = field(default_factory=list[Recording])

    async def connect(self, token: str = ALICE, *, record: bool = False) -> Client:
        async def dial() -> Transport:
            transport: Transport = await self.dial_raw()
            if record:
                recording = Recording(transport)
                self.recordings.append(recording)
                return recording
            return transport

        return await Client.connect(dial, token=token)


def _build(release: asyncio.Event) -> tuple[Runtime, InProcessProvisioner]:
    provisioner = InProcessProvisioner()
    runtime = Runtime(
        tokens=TOKENS,
        model_policy="require",
        provisioner=provisioner,
        observer_policy=lambda principal, job: principal == "bob",
        expiry_grace_sec=0,
    )
    register_demo_agents(runtime)

    @runtime.agent("ticker")
    async def ticker(input: Any, ctx: JobContext) -> Any:
        """A gated tool call every 20 ms until the lease runs out (or ``input`` ticks)."""
        ticks = 0
        while input is None or ticks < input:
            await ctx.tool_call("tick", {"n": ticks}, lambda args: args)
            ticks += 1
            await asyncio.sleep(0.02)
        return ticks

    @runtime.agent("rotator")
    async def rotator(input: Any, ctx: JobContext) -> Any:
        """Wait for the test's go, rotate the credential, log about it, and finish."""
        await ctx.status("ready")
        await release.wait()
        await ctx.rotate_credentials()
        await ctx.log(f"rotated {len(ctx.credentials)} credential(s)")
        return "rotated"

    return runtime, provisioner


@pytest.fixture(name="auth", params=["memory", "websocket"])
async def auth_fixture(request: pytest.FixtureRequest) -> AsyncIterator[Auth]:
    release = asyncio.Event()
    runtime, provisioner = _build(release)
    tasks: list[asyncio.Task[None]] = []
    if request.param == "memory":

        async def dial() -> Transport:
            ours, theirs = memory_pair()
            tasks.append(asyncio.ensure_future(runtime.serve(theirs)))
            return ours

        made = Auth(runtime, provisioner, dial, release)
    else:
        server = await runtime.serve_websocket(host="127.0.0.1", port=0, path="/arcp")

        async def dial() -> Transport:
            return await connect_websocket(server.url)

        made = Auth(runtime, provisioner, dial, release)
    try:
        yield made
    finally:
        await runtime.aclose()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
