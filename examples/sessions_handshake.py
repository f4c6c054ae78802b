"""Sessions (§6.1, §6.2, §6.4, §6.7): authentication, feature negotiation, heartbeats, close."""

from __future__ import annotations

import asyncio
from typing import Any

from arcp import Client, Feature, JobContext, Runtime
from arcp.transport import Transport, memory_pair
from arcp_gen.errors import UnauthenticatedError

USERS = {"tok-alice": "alice", "tok-bob": "bob"}


async def verify(token: str) -> str | None:
    """A token verifier: return the principal, or None to refuse the session (§6.1)."""
    await asyncio.sleep(0)  # e.g. ask an identity provider
    return USERS.get(token)


async def main() -> None:
    runtime = Runtime(
        tokens=verify,  # or a plain mapping {"token": "principal"}
        heartbeat_interval_sec=0.2,  # short, so this demo sees a few pings
        # Offer a subset of what the runtime supports; here everything but progress.
        features=[
            Feature.HEARTBEAT,
            Feature.ACK,
            Feature.LIST_JOBS,
            Feature.SUBSCRIBE,
            Feature.RESULT_CHUNK,
            Feature.AGENT_VERSIONS,
        ],
    )

    @runtime.agent("echo")
    async def echo(input: Any, ctx: JobContext) -> Any:
        return input

    sessions: list[asyncio.Task[None]] = []  # one serve() task per connection

    async def dial() -> Transport:
        ours, theirs = memory_pair()
        sessions.append(asyncio.ensure_future(runtime.serve(theirs)))
        return ours

    # 1. A refused token fails the handshake with the typed error.
    try:
        await Client.connect(dial, token="wrong")
    except UnauthenticatedError as err:
        print("refused:", err.code, err.message)

    # 2. The effective features are what both sides offered (hello ∩ welcome).
    wanted = [Feature.HEARTBEAT, Feature.PROGRESS, Feature.LIST_JOBS, Feature.RESULT_CHUNK]
    client = await Client.connect(dial, token="tok-alice", features=wanted)
    print("session:", client.session_id is not None)
    print("runtime:", client.runtime_info)
    print("features:", sorted(f.value for f in client.features))
    print("agents:", [(a.name, a.versions) for a in client.agents])

    # 3. Heartbeats: an idle session stays up; both sides ping when quiet.
    await asyncio.sleep(0.7)
    print("still answering after idling:", await (await client.submit("echo", 1)).result())

    # 4. Close: session.close -> session.closed; the client is done.
    await client.close()
    print("closed:", client.closed)
    await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main())
