"""Listing and subscribing (§6.6, §7.6): a second session of the same principal finds a job,
replays its history and follows it live; it may observe, not cancel."""

from __future__ import annotations

import asyncio

from arcp import Client, Runtime
from arcp.demo import register_demo_agents
from arcp_gen.errors import JobNotFoundError, PermissionDeniedError
from arcp_gen.models import ProgressEvent


async def main() -> None:
    runtime = Runtime(tokens={"tok-a1": "alice", "tok-a2": "alice", "tok-b": "bob"})
    register_demo_agents(runtime)
    server = await runtime.serve_websocket(port=0)

    async with (
        Client.connect(server.url, token="tok-a1") as submitter,
        Client.connect(server.url, token="tok-a2") as observer,
        Client.connect(server.url, token="tok-b") as stranger,
    ):
        for i in range(3):
            await (await submitter.submit("echo", i)).result()
        job = await submitter.submit("progress", {"n": 10, "delay_ms": 20})
        await asyncio.sleep(0.05)  # let it make some progress first

        # list_jobs pages through with an opaque cursor; filters narrow the listing.
        every = [entry async for entry in observer.list_jobs(page_size=2)]
        running = [e.job_id async for e in observer.list_jobs(status="running")]
        echoes = [e.job_id async for e in observer.list_jobs(agent="echo", status="success")]
        print("listed:", len(every), "running:", running == [job.job_id], "echo:", len(echoes))

        # subscribe replays buffered history, then continues live.
        sub = await observer.subscribe(job.job_id, history=True)
        info = sub.subscribed  # the authority descriptor, sent before any replay
        lease = info.lease.model_dump(exclude_none=True)
        print("descriptor:", info.agent, info.current_status, lease, info.replayed)
        try:  # only the submitting session may cancel (§7.4)
            await observer.cancel(job.job_id)
        except PermissionDeniedError as err:
            print("observer cancel ->", err.code)
        steps = [e.payload.body.current async for e in sub if isinstance(e.payload, ProgressEvent)]
        print("observed steps:", steps[0], "..", steps[-1], "result:", await sub.result())
        print("can cancel:", hasattr(sub, "cancel"))  # subscriptions carry no cancel authority

        # Another principal cannot tell the job exists.
        try:
            await stranger.subscribe(job.job_id)
        except JobNotFoundError as err:
            print("bob ->", err.code)
        print("bob lists:", [e async for e in stranger.list_jobs()])

    await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main())
