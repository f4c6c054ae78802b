"""stdio (§4): the parent spawns a child runtime and speaks NDJSON over its stdin/stdout.

Run without arguments for the parent; the parent starts this same file with ``child``.
The child could equally be ``arcp serve --stdio --demo``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from arcp import Client, JobContext, Runtime
from arcp.transport import spawn_stdio, stdio_transport


async def child() -> None:
    runtime = Runtime()

    @runtime.agent("upper")
    async def upper(input: Any, ctx: JobContext) -> Any:
        print("stray print: goes to stderr, not into the protocol stream")
        await ctx.log("uppercasing")
        return str(input).upper()

    transport = await stdio_transport()  # takes over fds 0 and 1
    await runtime.serve(transport)  # one session, until the parent closes stdin
    await runtime.aclose()


async def parent() -> None:
    transport = await spawn_stdio([sys.executable, __file__, "child"])
    # A child process is one session; it cannot be dialled again, so no reconnect.
    async with Client.connect(transport, reconnect=False) as client:
        job = await client.submit("upper", "over a pipe")
        print([event.payload.kind async for event in job], await job.result())
    await transport.close()  # waits for the child to exit (terminates it after a grace)
    print("child exit status:", transport.returncode)


if __name__ == "__main__":
    asyncio.run(child() if sys.argv[1:] == ["child"] else parent())
