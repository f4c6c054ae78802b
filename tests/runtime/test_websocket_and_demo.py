"""The runtime over a real WebSocket (§4), hosting the demo agents."""

from __future__ import annotations

import asyncio

import orjson

from arcp.codec import decode, encode
from arcp.demo import register_demo_agents
from arcp.ids import new_ulid
from arcp.runtime import Runtime
from arcp.transport.websocket import connect_websocket


async def test_demo_agents_over_websocket_then_graceful_shutdown() -> None:
    """§4, §7: hello, submit and a streamed result over ws://; aclose flushes and closes."""
    rt = Runtime(tokens={"secret": "alice"})
    register_demo_agents(rt)
    server = await rt.serve_websocket(port=0)
    ws = await connect_websocket(server.url)

    async def send(type_: str, payload: dict[str, object]) -> str:
        rid = new_ulid()
        await ws.send(encode({"arcp": "1.1", "id": rid, "type": type_, "payload": payload}))
        return rid

    async def recv() -> dict[str, object]:
        async with asyncio.timeout(10):
            data = await ws.recv()
        decode(data)
        return orjson.loads(data)

    await send(
        "session.hello",
        {
            "client": {"name": "ws-test"},
            "auth": {"scheme": "bearer", "token": "secret"},
            "capabilities": {"features": ["result_chunk", "progress"]},
        },
    )
    welcome = await recv()
    assert welcome["type"] == "session.welcome"
    await send("job.submit", {"agent": "chatty", "input": {"n": 3}})
    types = [(await recv())["type"] for _ in range(5)]
    assert types == ["job.accepted", "job.event", "job.event", "job.event", "job.result"]
    await send("job.submit", {"agent": "slow", "input": {"sec": 30}})
    assert (await recv())["type"] == "job.accepted"
    await rt.aclose()
    frames = []
    while True:
        frame = await recv()
        frames.append(frame)
        if frame["type"] == "job.error":
            break
    assert frames[-1]["payload"]["code"] == "CANCELLED"  # type: ignore[index]
    assert (await asyncio.wait_for(ws.wait_closed(), 10)) is None
