"""``--agents MODULE:ATTR`` loading (what `arcp serve --agents` uses)."""

from __future__ import annotations

import click
import pytest

from arcp.cli.plugins import load_agents
from arcp.client import Client
from arcp.runtime import Runtime


@pytest.mark.parametrize("spec", ["arcp.demo:register_demo_agents", "arcp.demo.agents:DEMO_AGENTS"])
async def test_agents_load_from_a_function_or_a_table(spec: str) -> None:
    runtime = Runtime(tokens={"t": "p"})
    load_agents(runtime, [spec])
    server = await runtime.serve_websocket(port=0)
    try:
        async with await Client.connect(server.url, token="t") as client:
            assert "chatty" in {a.name for a in client.agents}
            assert await (await client.submit("chatty", {"n": 1})).result() == {"count": 1}
    finally:
        await runtime.aclose()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("arcp.demo", "expected MODULE:ATTR"),
        ("arcp.nowhere:agents", "cannot load"),
        ("arcp.demo:nothing", "cannot load"),
        ("arcp:__version__", "not a register(runtime) function"),
    ],
)
def test_bad_specs_are_usage_errors(spec: str, message: str) -> None:
    with pytest.raises(click.BadParameter, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_agents(Runtime(), [spec])
