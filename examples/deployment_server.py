"""A production-style entry point for your own agents: configuration from the environment,
graceful shutdown on SIGTERM / SIGINT.

    ARCP_TOKENS="s3cret=alice,other=bob" python examples/deployment_server.py --forever

Without ``--forever`` it starts, answers one job from a client as a self-check, and stops.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

from arcp import Client, JobContext, Runtime


def tokens_from_env(*, required: bool) -> dict[str, str]:
    """ARCP_TOKENS="token=principal,...": never put tokens on a command line in production."""
    pairs = (item.partition("=") for item in os.environ.get("ARCP_TOKENS", "").split(","))
    tokens = {token: principal for token, _, principal in pairs if token and principal}
    if not tokens and required:
        raise SystemExit("ARCP_TOKENS is not set: refusing to serve without authentication")
    return tokens or {"self-check-token": "developer"}


def build_runtime(tokens: dict[str, str]) -> Runtime:
    runtime = Runtime(
        tokens=tokens,
        resume_window_sec=float(os.environ.get("ARCP_RESUME_WINDOW", "600")),
        heartbeat_interval_sec=float(os.environ.get("ARCP_HEARTBEAT", "30")),
    )

    @runtime.agent("echo")
    async def echo(input: Any, ctx: JobContext) -> Any:
        return input

    return runtime


async def main(forever: bool) -> None:
    tokens = tokens_from_env(required=forever)
    runtime = build_runtime(tokens)
    host = os.environ.get("ARCP_HOST", "127.0.0.1")  # bind locally; the proxy faces the world
    port = int(os.environ.get("ARCP_PORT", "0" if not forever else "7777"))
    server = await runtime.serve_websocket(host=host, port=port, path="/arcp")
    print("listening on", server.url if forever else "127.0.0.1", file=sys.stderr)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    if forever:
        await stop.wait()
    else:  # self-check
        token = next(iter(tokens))
        async with Client.connect(server.url, token=token) as client:
            print("self-check:", await (await client.submit("echo", "ok")).result())

    # Graceful stop: refuse new connections, end running jobs with CANCELLED, flush every
    # attached session, close. Nothing survives the process (see docs/deployment.md).
    await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main(forever="--forever" in sys.argv))
