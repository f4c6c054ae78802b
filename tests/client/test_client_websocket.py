"""The client over a real WebSocket connection to the runtime (§4)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from arcp.client import Client
from arcp.runtime import Runtime
from arcp_gen.models import LogEvent

from .conftest import GATES, TOKEN


async def test_url_target_over_websocket(runtime: Runtime) -> None:
    """§4: a ws:// URL target dials the runtime; events and result flow as in memory."""
    server = await runtime.serve_websocket("127.0.0.1", port=0)
    async with Client.connect(server.url, token=TOKEN) as client:
        handle = await client.submit("chatty", {"n": 50})
        lines = [e.payload.body.message async for e in handle if isinstance(e.payload, LogEvent)]
        assert lines == [f"line {i}" for i in range(50)]
        assert await handle.result() == {"count": 50}


async def test_bad_url_is_rejected_before_dialling() -> None:
    """§4: only ws:// and wss:// URLs are ARCP network targets."""
    with pytest.raises(ValueError, match="ws://"):
        await Client.connect("http://example.invalid/arcp")


async def test_resume_over_websocket_after_an_abrupt_drop(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """§6.3 over §4 WebSocket: the TCP link is aborted mid-stream; the client dials the URL
    again, resumes, and sees every event once."""
    caplog.set_level(logging.INFO, logger="arcp.client")
    GATES["g"] = asyncio.Event()
    server = await runtime.serve_websocket("127.0.0.1", port=0)
    async with Client.connect(server.url, token=TOKEN) as client:
        handle = await client.submit("chatty", {"n": 200, "gate": "g", "pause_at": 50})
        lines: list[str] = []
        async for event in handle:
            if isinstance(event.payload, LogEvent):
                lines.append(event.payload.body.message)
            if len(lines) == 20:
                client._driver.transport.drop()  # type: ignore[attr-defined]  # pyright: ignore[reportPrivateUsage, reportAttributeAccessIssue, reportUnknownMemberType]
                GATES["g"].set()
        assert lines == [f"line {i}" for i in range(200)]
        assert await handle.result() == {"count": 200}
    assert "session resumed" in caplog.text
