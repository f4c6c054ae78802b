"""Run *our* runtime on 127.0.0.1 with the demo agents, for the official client to talk to.

Runs in the project venv (``uv run`` / the pytest interpreter), never in ``.interop-venv``.

    python our_runtime.py --port 0 --token TOKEN=PRINCIPAL [--token ...] [--heartbeat SEC]

Registers the demo agents (``arcp.demo``) plus ``fail``, which always raises, mirroring
``official_runtime.py``; prints ``READY <port>`` once listening and serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any
from urllib.parse import urlsplit

from arcp.demo import register_demo_agents
from arcp.runtime import Runtime


async def fail(input_value: Any, ctx: Any) -> Any:
    raise RuntimeError("the fail agent always fails")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path", default="/arcp")
    parser.add_argument("--token", action="append", default=[], help="TOKEN=PRINCIPAL")
    parser.add_argument("--heartbeat", type=float, default=30)
    args = parser.parse_args()

    tokens = dict(t.split("=", 1) for t in (args.token or ["interop-token=alice"]))
    runtime = Runtime(
        "arcp-python", "interop", tokens=tokens, heartbeat_interval_sec=args.heartbeat
    )
    register_demo_agents(runtime)
    runtime.register("fail", fail, version="1.0.0", default=True)

    server = await runtime.serve_websocket(host=args.host, port=args.port, path=args.path)
    port = urlsplit(server.url).port
    print(f"READY {port}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main())
