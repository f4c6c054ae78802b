"""A transparent WebSocket relay that records every frame it forwards.

``python wire_tap.py --upstream ws://127.0.0.1:P/arcp --out frames.jsonl`` listens on
127.0.0.1 (``--port``, 0 = any free port), prints ``READY <port>``, and for each client
connection opens one upstream connection and relays text frames both ways. Each frame
is appended to ``--out`` as one JSON line ``{"conn": n, "dir": "c2s"|"s2c", "frame": "..."}``.

Runs with any Python that has ``websockets`` >= 14 (both venvs do).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
from typing import Any, TextIO

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def main(args: argparse.Namespace, out: TextIO) -> None:
    counter = itertools.count(1)

    def record(conn: int, direction: str, frame: Any) -> None:
        text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        out.write(json.dumps({"conn": conn, "dir": direction, "frame": text}) + "\n")
        out.flush()

    async def pump(src: Any, dst: Any, conn: int, direction: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in src:
                record(conn, direction, frame)
                await dst.send(frame)
        with contextlib.suppress(ConnectionClosed):
            await dst.close()

    async def handler(client: ServerConnection) -> None:
        conn = next(counter)
        async with connect(args.upstream, compression=None) as upstream:
            await asyncio.gather(
                pump(client, upstream, conn, "c2s"),
                pump(upstream, client, conn, "s2c"),
            )

    async with serve(handler, "127.0.0.1", args.port, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"READY {port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", required=True)
    cli_args = parser.parse_args()
    with open(cli_args.out, "a", encoding="utf-8") as sink:
        asyncio.run(main(cli_args, sink))
