"""The client over a real WebSocket connection to the runtime (§4)."""

from __future__ import annotations

import pytest

from arcp.client import Client
from arcp.runtime import Runtime
from arcp_gen.models import LogEvent

from .conftest import TOKEN


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
