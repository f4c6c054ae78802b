"""Jobs (§7): submit, agent versions, idempotency, cancel, timeouts."""

from __future__ import annotations

import asyncio

from arcp import Client, Runtime
from arcp.demo import register_demo_agents
from arcp_gen.errors import (
    AgentNotAvailableError,
    AgentVersionNotAvailableError,
    DuplicateKeyError,
    JobCancelledError,
    JobTimeoutError,
)


async def main() -> None:
    runtime = Runtime(tokens={"tok": "alice"})
    register_demo_agents(runtime)  # echo, slow, versioned 1.0.0 / 2.0.0, ...
    server = await runtime.serve_websocket(port=0)

    async with Client.connect(server.url, token="tok") as client:
        # Submit: the handle exists once job.accepted arrived (§7.1).
        job = await client.submit("echo", {"hello": "world"})
        print(job.job_id.startswith("job_"), job.agent, await job.result())

        # Versions (§7.5): a bare name runs the default; name@version pins one.
        print((await (await client.submit("versioned")).result())["version"])
        print((await (await client.submit("versioned@1.0.0")).result())["version"])
        for missing in ("nosuch", "versioned@9.9.9"):
            try:
                await client.submit(missing)
            except (AgentNotAvailableError, AgentVersionNotAvailableError) as err:
                print(missing, "->", err.code)

        # Idempotency (§7.2): same key and same parameters -> the same job.
        first = await client.submit("echo", {"n": 1}, idempotency_key="order-42")
        again = await client.submit("echo", {"n": 1}, idempotency_key="order-42")
        print("same job:", first.job_id == again.job_id)
        try:  # same key, different parameters
            await client.submit("echo", {"n": 2}, idempotency_key="order-42")
        except DuplicateKeyError as err:
            print("conflict ->", err.code)

        # Cancel (§7.4): only the submitting session may; the job ends with CANCELLED.
        slow = await client.submit("slow", {"sec": 30})
        await slow.cancel("changed my mind")
        try:
            await slow.result()
        except JobCancelledError as err:
            print("cancelled ->", err.code, slow.status)

        # Timeout (§7.3): max_runtime_sec bounds the run; the job ends with TIMEOUT.
        late = await client.submit("slow", {"sec": 30}, max_runtime_sec=0.2)
        try:
            await late.result()
        except JobTimeoutError as err:
            print("timed out ->", err.code, late.status, "retryable:", err.retryable)

    await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main())
