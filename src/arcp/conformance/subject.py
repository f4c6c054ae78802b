"""Our own client as a subject of the client conformance run (:mod:`arcp.conformance.client_check`).

Reads ``ARCP_URL``, ``ARCP_TOKEN``, ``ARCP_AGENT`` and ``ARCP_INPUT``, submits the job with
:class:`arcp.client.Client` (default options: resume, heartbeats, deadlines), and prints
``{"result": ...}`` or ``{"error": CODE}`` as its last line.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from arcp.client import Client
from arcp.errors import ARCPError

__all__ = ["main"]


async def _run() -> dict[str, Any]:
    env = os.environ
    async with Client.connect(env["ARCP_URL"], token=env["ARCP_TOKEN"]) as client:
        try:
            handle = await client.submit(env["ARCP_AGENT"], json.loads(env["ARCP_INPUT"]))
            return {"result": await handle.result()}
        except ARCPError as error:
            return {"error": error.code.value}


def main() -> None:
    """Run one scenario and print its outcome."""
    print(json.dumps(asyncio.run(_run())), flush=True)


if __name__ == "__main__":
    main()
