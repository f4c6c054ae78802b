"""Scripted scenarios driven by the official ARCP Python SDK client.

Runs inside ``.interop-venv`` (``import arcp`` is PyPI ``agentruntimecontrolprotocol``).

    python official_client.py --url ws://127.0.0.1:P/arcp --token T [--parallel] SCENARIO ...

Every scenario opens its own session(s), so one failing step cannot poison the next.
For each scenario one JSON object is printed on its own stdout line:
``{"step": name, "ok": bool, ...observations}``; ``ok`` is false when the step raised,
with ``error = {"type", "code", "message"}``. ``inbound`` lists the envelope types the
client received (in order), taken from the client's dispatch hook.

Scenarios: handshake, echo, chatty, progress, chunked, versioned, fail, unknown_agent, bad_token, list_jobs,
subscribe, cancel, resume, close, idle, idempotent, ack, list_pages, foreign_subscribe,
minimal_features, budget, subscribe_history, timeout.
``all`` runs every one of them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

# `arcp` here is the official SDK: this file runs in .interop-venv, never in our venv.
from arcp import ARCPError, ClientInfo, ListJobsFilter, SessionResume, WebSocketTransport, client

ARCPClient = client.ARCPClient

STEP_TIMEOUT = 15.0


class Probe:
    """An official client whose inbound envelope types are recorded."""

    def __init__(self, url: str, token: str, *, name: str = "interop-official") -> None:
        self.url = url
        self.client = ARCPClient(client=ClientInfo(name=name, version="1.0.0"), token=token)
        self.inbound: list[str] = []
        self.frames: list[dict[str, Any]] = []
        original = self.client._dispatch

        async def recording(env: Any) -> None:
            self.inbound.append(env.type)
            self.frames.append(env.to_wire())
            await original(env)

        self.client._dispatch = recording  # type: ignore[method-assign]

    async def connect(self) -> Any:
        self.transport = await WebSocketTransport.connect(self.url)
        return await self.client.connect(self.transport)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()


def describe_error(exc: BaseException) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)[:300]}
    if isinstance(exc, ARCPError):
        out["code"] = exc.code
        out["retryable"] = exc.retryable
    return out


async def drain(handle: Any) -> list[dict[str, Any]]:
    return [ev async for ev in handle.events()]


async def terminal(handle: Any, wait: float = 10.0) -> dict[str, Any]:
    """Await the handle's terminal and describe it; ``hung`` if it never resolves."""

    async def done() -> Any:
        return await handle.done

    try:
        res = await asyncio.wait_for(done(), wait)
    except TimeoutError:
        return {"outcome": "hung"}
    except Exception as exc:  # the official client rejects with ARCPError and others
        return {"outcome": "error", "error": describe_error(exc)}
    return {
        "outcome": "result",
        "final_status": res.final_status,
        "result": res.result,
        "has_completed_at": bool(res.completed_at),
    }


def terminal_frames(p: Probe, job_id: str) -> list[dict[str, Any]]:
    """The raw job.result / job.error payloads received for ``job_id``."""
    return [
        {"type": f["type"], **f.get("payload", {})}
        for f in p.frames
        if f.get("job_id") == job_id and f.get("type") in {"job.result", "job.error"}
    ]


def read_loop_alive(p: Probe) -> bool:
    task = p.client._read_task
    return task is not None and not task.done()


# --- scenarios --------------------------------------------------------------------------


async def s_handshake(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    try:
        welcome = await p.connect()
        return {
            "session_id": welcome.session_id,
            "runtime": welcome.runtime.model_dump(),
            "negotiated": list(p.client.negotiated_features),
            "agents": [
                a if isinstance(a, str) else a.model_dump() for a in welcome.capabilities.agents
            ],
            "has_resume_token": bool(welcome.resume_token),
            "heartbeat_interval_sec": welcome.heartbeat_interval_sec,
        }
    finally:
        await p.close()


async def s_echo(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        payload = {"text": "hello", "n": [1, 2.5, None, True], "nested": {"k": "v"}}
        handle = await p.client.submit(agent="echo", input=payload)
        events = await drain(handle)
        return {
            "job_id": handle.job_id,
            "agent": handle.agent_ref,
            "sent": payload,
            "events": [e["kind"] for e in events],
            **await terminal(handle),
            "inbound": p.inbound,
        }
    finally:
        await p.close()


async def s_chatty(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        handle = await p.client.submit(agent="chatty", input={"n": 5})
        events = await drain(handle)
        seqs = [f.get("event_seq") for f in p.frames if f.get("type", "").startswith("job.")]
        return {
            "job_id": handle.job_id,
            "events": [{"kind": e["kind"], "body": e["body"]} for e in events],
            "event_seqs": [s for s in seqs if s is not None],
            **await terminal(handle),
            "inbound": p.inbound,
        }
    finally:
        await p.close()


async def s_progress(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        handle = await p.client.submit(agent="progress", input={"n": 3})
        events = await drain(handle)
        return {
            "job_id": handle.job_id,
            "events": [{"kind": e["kind"], "body": e["body"]} for e in events],
            **await terminal(handle),
            "inbound": p.inbound,
        }
    finally:
        await p.close()


async def s_chunked(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        handle = await p.client.submit(agent="chunked", input={"bytes": 3000, "chunk_size": 1024})
        data = await handle.collect_chunks()
        events = await drain(handle)
        res = await terminal(handle)
        result_frames = [f for f in p.frames if f.get("type") == "job.result"]
        payload = result_frames[0]["payload"] if result_frames else {}
        return {
            "job_id": handle.job_id,
            "bytes": len(data),
            "chunks": sum(
                1 for f in p.frames if f.get("payload", {}).get("kind") == "result_chunk"
            ),
            "other_events": [e["kind"] for e in events],
            "result_id": payload.get("result_id"),
            "result_size": payload.get("result_size"),
            **res,
        }
    finally:
        await p.close()


async def s_versioned(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        out: dict[str, Any] = {}
        for ref in ("versioned", "versioned@1.0.0", "versioned@9.9.9"):
            try:
                handle = await p.client.submit(agent=ref, input={"ref": ref})
            except Exception as exc:
                out[ref] = {"rejected": describe_error(exc)}
                continue
            out[ref] = {"agent": handle.agent_ref, **await terminal(handle)}
        return out
    finally:
        await p.close()


async def s_fail(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        handle = await p.client.submit(agent="fail", input={})
        await drain(handle)
        return {"job_id": handle.job_id, **await terminal(handle), "inbound": p.inbound}
    finally:
        await p.close()


async def s_unknown_agent(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        try:
            handle = await p.client.submit(agent="no-such-agent", input={})
        except Exception as exc:
            rejected = describe_error(exc)
        else:
            rejected = {"type": "accepted", "job_id": handle.job_id}
        # The session must stay usable after a failed request.
        after: dict[str, Any]
        try:
            handle = await p.client.submit(agent="echo", input={"after": True})
            after = await terminal(handle)
        except Exception as exc:
            after = {"outcome": "error", "error": describe_error(exc)}
        return {"rejected": rejected, "after": after, "inbound": p.inbound}
    finally:
        await p.close()


async def s_bad_token(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, "definitely-not-a-valid-token")
    try:
        await p.connect()
    except Exception as exc:
        return {"rejected": describe_error(exc)}
    finally:
        await p.close()
    return {"rejected": None}


async def s_list_jobs(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        handle = await p.client.submit(agent="echo", input={"list": 1})
        done = await terminal(handle)
        listing = await p.client.list_jobs()
        jobs = [j.model_dump(mode="json") for j in listing.jobs]
        mine = [j for j in jobs if j["job_id"] == handle.job_id]
        return {
            "job_id": handle.job_id,
            "terminal": done,
            "count": len(jobs),
            "entry": mine[0] if mine else None,
            "next_cursor": listing.next_cursor,
            "inbound": p.inbound,
        }
    finally:
        await p.close()


async def s_subscribe(args: argparse.Namespace) -> dict[str, Any]:
    owner = Probe(args.url, args.token, name="interop-owner")
    watcher = Probe(args.url, args.token, name="interop-watcher")
    try:
        await owner.connect()
        handle = await owner.client.submit(agent="slow", input={"sec": 1.0})
        await asyncio.sleep(0.2)
        await watcher.connect()
        sub = await watcher.client.subscribe(handle.job_id, history=True)
        events = await drain(sub.handle)
        return {
            "job_id": handle.job_id,
            "subscribed_job_id": sub.job_id,
            "subscribed_from": sub.subscribed_from,
            "replayed": sub.replayed,
            "events": [e["kind"] for e in events],
            "watcher": await terminal(sub.handle),
            "owner": await terminal(handle),
            "inbound": watcher.inbound,
        }
    finally:
        await watcher.close()
        await owner.close()


async def s_cancel(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        handle = await p.client.submit(agent="slow", input={"sec": 30})
        await asyncio.sleep(0.2)
        await p.client.cancel_job(handle.job_id, reason="interop test")
        out = await terminal(handle, wait=3)
        return {
            "job_id": handle.job_id,
            **out,
            "inbound": p.inbound,
            "terminal_frames": terminal_frames(p, handle.job_id),
            "read_loop_alive": read_loop_alive(p),
        }
    finally:
        await p.close()


async def s_resume(args: argparse.Namespace) -> dict[str, Any]:
    first = Probe(args.url, args.token, name="interop-resume-1")
    welcome = await first.connect()
    handle = await first.client.submit(agent="slow", input={"sec": 0.5})
    last_seq = first.client.latest_event_seq
    # Drop the transport without a goodbye; the job keeps running server-side.
    await first.transport.close()
    await asyncio.sleep(1.0)
    second = Probe(args.url, args.token, name="interop-resume-2")
    try:
        second.transport = await WebSocketTransport.connect(args.url)
        again = await second.client.resume(
            second.transport,
            resume=SessionResume(
                session_id=welcome.session_id,
                resume_token=welcome.resume_token,
                last_event_seq=last_seq,
            ),
        )
        await asyncio.sleep(0.5)
        return {
            "job_id": handle.job_id,
            "same_session": again.session_id == welcome.session_id,
            "token_rotated": again.resume_token != welcome.resume_token,
            "last_event_seq": last_seq,
            "replayed": [
                {"type": f["type"], "event_seq": f.get("event_seq")}
                for f in second.frames
                if f.get("job_id") == handle.job_id
            ],
            "inbound": second.inbound,
        }
    finally:
        await second.close()
        await first.close()


async def s_minimal_features(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    p.client = ARCPClient(
        client=ClientInfo(name="interop-minimal", version="1.0.0"),
        token=args.token,
        features=("list_jobs",),
    )
    try:
        welcome = await p.connect()
        return {
            "negotiated": list(p.client.negotiated_features),
            "heartbeat_interval_sec": welcome.heartbeat_interval_sec,
            "agents": [
                a if isinstance(a, str) else a.model_dump() for a in welcome.capabilities.agents
            ],
        }
    finally:
        await p.close()


async def s_budget(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        handle = await p.client.submit(
            agent="echo", input={"budget": True}, lease_request={"cost.budget": ["USD:5.00"]}
        )
        return {"job_id": handle.job_id, "budget": handle.budget, **await terminal(handle)}
    finally:
        await p.close()


async def s_subscribe_history(args: argparse.Namespace) -> dict[str, Any]:
    owner = Probe(args.url, args.token, name="interop-owner")
    watcher = Probe(args.url, args.token, name="interop-watcher")
    try:
        await owner.connect()
        handle = await owner.client.submit(agent="chatty", input={"n": 3})
        owner_result = await terminal(handle)
        await watcher.connect()
        sub = await watcher.client.subscribe(handle.job_id, history=True)
        await asyncio.sleep(0.3)
        return {
            "job_id": handle.job_id,
            "owner": owner_result,
            "subscribed_from": sub.subscribed_from,
            "replayed": sub.replayed,
            "inbound": watcher.inbound,
        }
    finally:
        await watcher.close()
        await owner.close()


async def s_timeout(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        handle = await p.client.submit(agent="slow", input={"sec": 4}, max_runtime_sec=1)
        out = await terminal(handle, wait=3)
        return {
            "job_id": handle.job_id,
            **out,
            "inbound": p.inbound,
            "terminal_frames": terminal_frames(p, handle.job_id),
            "read_loop_alive": read_loop_alive(p),
        }
    finally:
        await p.close()


async def s_idle(args: argparse.Namespace) -> dict[str, Any]:
    """Stay idle for three seconds (several heartbeat intervals), then use the session."""
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        await asyncio.sleep(3.0)
        handle = await p.client.submit(agent="echo", input={"idle": True})
        return {
            "pings": p.inbound.count("session.ping"),
            **await terminal(handle),
            "inbound": p.inbound,
        }
    finally:
        await p.close()


async def s_idempotent(args: argparse.Namespace) -> dict[str, Any]:
    """§7.2: the same idempotency key and parameters give the same job."""
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        key = f"interop-{id(p)}"
        first = await p.client.submit(agent="echo", input={"k": 1}, idempotency_key=key)
        first_result = await terminal(first)
        again = await p.client.submit(agent="echo", input={"k": 1}, idempotency_key=key)
        try:
            await p.client.submit(agent="echo", input={"k": 2}, idempotency_key=key)
        except Exception as exc:
            conflict: dict[str, Any] | None = describe_error(exc)
        else:
            conflict = None
        return {
            "first": first.job_id,
            "again": again.job_id,
            "first_result": first_result,
            "conflict": conflict,
        }
    finally:
        await p.close()


async def s_ack(args: argparse.Namespace) -> dict[str, Any]:
    """§6.5: frequent session.ack from the official client."""
    p = Probe(args.url, args.token)
    p.client.auto_ack = client.AutoAckOptions(every_n=1, interval_sec=0.05)
    try:
        await p.connect()
        handle = await p.client.submit(agent="chatty", input={"n": 20})
        events = await drain(handle)
        out = await terminal(handle)
        await asyncio.sleep(0.3)  # let acks flow
        return {
            "events": len(events),
            **out,
            "acked_through": p.client.latest_event_seq,
            "errors": p.inbound.count("session.error"),
        }
    finally:
        await p.close()


async def s_list_pages(args: argparse.Namespace) -> dict[str, Any]:
    """§6.6: filters and cursor paging."""
    p = Probe(args.url, args.token)
    try:
        await p.connect()
        mine = []
        for i in range(3):
            handle = await p.client.submit(agent="echo", input={"page": i})
            await terminal(handle)
            mine.append(handle.job_id)
        pages: list[list[str]] = []
        cursor = None
        filt = ListJobsFilter(status=("success",), agent="echo@1.0.0")
        for _ in range(100):
            page = await p.client.list_jobs(filter=filt, limit=2, cursor=cursor)
            pages.append([j.job_id for j in page.jobs])
            cursor = page.next_cursor
            if not cursor:
                break
        listed = [j for page in pages for j in page]
        running = await p.client.list_jobs(filter=ListJobsFilter(status=("running",)))
        return {
            "mine_listed": all(j in listed for j in mine),
            "page_sizes": [len(page) for page in pages],
            "unique": len(listed) == len(set(listed)),
            "running_for_finished": [j.job_id for j in running.jobs if j.job_id in mine],
        }
    finally:
        await p.close()


async def s_foreign_subscribe(args: argparse.Namespace) -> dict[str, Any]:
    """§7.6: another principal may not subscribe to (or learn of) the job."""
    owner = Probe(args.url, args.token, name="interop-owner")
    other = Probe(args.url, args.other_token, name="interop-other")
    try:
        await owner.connect()
        handle = await owner.client.submit(agent="slow", input={"sec": 0.5})
        await other.connect()
        try:
            await other.client.subscribe(handle.job_id, history=True)
        except Exception as exc:
            refused: dict[str, Any] | None = describe_error(exc)
        else:
            refused = None
        listing = await other.client.list_jobs()
        return {
            "refused": refused,
            "listed_to_other": any(j.job_id == handle.job_id for j in listing.jobs),
            "owner": await terminal(handle),
        }
    finally:
        await other.close()
        await owner.close()


async def s_close(args: argparse.Namespace) -> dict[str, Any]:
    p = Probe(args.url, args.token)
    await p.connect()
    await p.client.close()
    return {"closed": True}


SCENARIOS: dict[str, Callable[[argparse.Namespace], Awaitable[dict[str, Any]]]] = {
    "handshake": s_handshake,
    "echo": s_echo,
    "chatty": s_chatty,
    "progress": s_progress,
    "chunked": s_chunked,
    "versioned": s_versioned,
    "fail": s_fail,
    "unknown_agent": s_unknown_agent,
    "bad_token": s_bad_token,
    "list_jobs": s_list_jobs,
    "subscribe": s_subscribe,
    "cancel": s_cancel,
    "resume": s_resume,
    "close": s_close,
    "idempotent": s_idempotent,
    "ack": s_ack,
    "list_pages": s_list_pages,
    "foreign_subscribe": s_foreign_subscribe,
    "idle": s_idle,
    "minimal_features": s_minimal_features,
    "budget": s_budget,
    "subscribe_history": s_subscribe_history,
    "timeout": s_timeout,
}


async def run_step(name: str, args: argparse.Namespace) -> dict[str, Any]:
    try:
        obs = await asyncio.wait_for(SCENARIOS[name](args), STEP_TIMEOUT)
    except Exception as exc:
        return {
            "step": name,
            "ok": False,
            "error": describe_error(exc),
            "trace": traceback.format_exc()[-800:],
        }
    return {"step": name, "ok": True, **obs}


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--other-token", default="", help="a second principal's token")
    parser.add_argument(
        "--parallel", action="store_true", help="run the scenarios concurrently (own sessions)"
    )
    parser.add_argument("scenarios", nargs="+")
    args = parser.parse_args()
    names = list(SCENARIOS) if args.scenarios == ["all"] else args.scenarios
    unknown = [n for n in names if n not in SCENARIOS]
    for name in unknown:
        print(json.dumps({"step": name, "ok": False, "error": {"type": "UnknownScenario"}}))
    names = [n for n in names if n in SCENARIOS]
    if args.parallel:
        results = await asyncio.gather(*(run_step(name, args) for name in names))
        for obs in results:
            print(json.dumps(obs, default=str), flush=True)
    else:
        for name in names:
            print(json.dumps(await run_step(name, args), default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
