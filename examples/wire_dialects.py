"""Wire decisions: what this SDK sends, and the legacy dialects it accepts on receive.

Part 1 decodes legacy frames with ``arcp.codec``. Part 2 speaks raw frames to a runtime:
a malformed frame and an unknown type get ``session.error INVALID_REQUEST`` and the session
stays up; a ``session.hello`` with ``payload.resume`` resumes, and the legacy ``session.bye`` closes
the session like ``session.close``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from arcp import Runtime, codec
from arcp.transport import MemoryTransport, memory_pair

SID = "sess_01JRHD2GP0DPD7S11DMEWA4HDX"
JOB = "job_01JRHD2GP09G0FBPQ41NG4MSTT"
DONE = "2026-05-13T19:30:00.000Z"

LEGACY: dict[str, dict[str, Any]] = {
    "job.result with final_status cancelled": {
        "type": "job.result",
        "session_id": SID,
        "job_id": JOB,
        "event_seq": 9,
        "payload": {"final_status": "cancelled", "completed_at": DONE},
    },
    "session.error with a `detail` string": {
        "type": "session.error",
        "session_id": SID,
        "payload": {"code": "JOB_NOT_FOUND", "message": "No such job.", "detail": "job_x"},
    },
    "job.subscribed with `replayed` as a count": {
        "type": "job.subscribed",
        "session_id": SID,
        "job_id": JOB,
        "payload": {
            "job_id": JOB,
            "current_status": "running",
            "agent": "chatty@1.0.0",
            "lease": {},
            "subscribed_from": 3,
            "replayed": 3,
        },
    },
    "session.jobs with minimal entries, no next_cursor": {
        "type": "session.jobs",
        "session_id": SID,
        "payload": {"jobs": [{"job_id": JOB, "agent": "echo", "status": "success"}]},
    },
    "welcome: session_id in payload only, plain-name agents, no heartbeat interval": {
        "type": "session.welcome",
        "payload": {
            "runtime": {"name": "other", "version": "1.1.3"},
            "session_id": SID,
            "resume_token": "rt_1",
            "resume_window_sec": 600,
            "capabilities": {"encodings": ["json"], "features": ["ack"], "agents": ["echo"]},
        },
    },
}


def decode_legacy() -> None:
    for label, frame in LEGACY.items():
        message = codec.decode(codec.encode({"arcp": "1.1", "id": "01J", **frame}))
        print(f"accepted: {label} -> {type(message).__name__}")


async def roundtrip(end: MemoryTransport, frame: bytes) -> dict[str, Any]:
    await end.send(frame)
    reply: dict[str, Any] = codec.loads(await end.recv())
    return reply


async def raw_session() -> None:
    runtime = Runtime()
    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))
    hello = {
        "arcp": "1.1",
        "id": "01JHELLO",
        "type": "session.hello",
        "payload": {
            "client": {"name": "raw", "version": "0"},
            "auth": {"scheme": "bearer", "token": "t"},
            "capabilities": {"encodings": ["json"], "features": []},
        },
    }
    welcome = await roundtrip(ours, codec.encode(hello))
    sid = welcome["session_id"]
    print(
        "welcome:",
        welcome["type"],
        "session_id in payload too:",
        "session_id" in welcome["payload"],
    )

    bad = await roundtrip(ours, b"{not json")
    print("malformed ->", bad["type"], bad["payload"]["code"])
    unknown = {
        "arcp": "1.1",
        "id": "01JX",
        "type": "session.dance",
        "session_id": sid,
        "payload": {},
    }
    reply = await roundtrip(ours, codec.encode(unknown))
    print("unknown type ->", reply["payload"]["code"], reply["payload"].get("details"))

    # Legacy resume: a session.hello carrying payload.resume, on a new connection.
    ours.drop()
    await serving
    again, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))
    resume = welcome["payload"]["resume_token"]
    hello["payload"]["resume"] = {"session_id": sid, "resume_token": resume, "last_event_seq": 0}
    resumed = await roundtrip(again, codec.encode(hello))
    print("legacy hello+resume ->", resumed["type"], "same session:", resumed["session_id"] == sid)

    bye = {"arcp": "1.1", "id": "01JB", "type": "session.bye", "session_id": sid, "payload": {}}
    print("legacy bye ->", (await roundtrip(again, codec.encode(bye)))["type"])
    await serving
    await runtime.aclose()


if __name__ == "__main__":
    decode_legacy()
    asyncio.run(raw_session())
