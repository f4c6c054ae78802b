"""A real uvicorn server on 127.0.0.1 (port 0) running in the test's event loop."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


@asynccontextmanager
async def uvicorn_server(app: Any, ws: str = "auto") -> AsyncIterator[int]:
    """Serve ``app`` with uvicorn (WebSocket protocol ``ws``) on an ephemeral port; yield
    the bound port."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws=ws)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # re-raise why it could not start
            raise RuntimeError("uvicorn exited before starting")
        await asyncio.sleep(0.01)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.should_exit = True
        await task


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


async def http_get(url: str) -> tuple[int, bytes]:
    """``GET url`` with the standard library, off the event loop: (status, body)."""
    return await asyncio.to_thread(_get, url)
