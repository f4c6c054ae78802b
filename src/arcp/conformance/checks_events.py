"""Event-body, trace and lease-constraint checks: progress bodies (§8.2.1), trace_id
propagation (§11), ``expires_at`` validation (§9.5), cancel of an unknown job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arcp.conformance.checks_jobs import code_of, payload_of
from arcp.conformance.model import CheckSpec, Level
from arcp.conformance.probe import Probe, Skip, describe, scenario
from arcp.conformance.wire import is_error, obj

__all__ = [
    "CANCEL_UNKNOWN",
    "EXPIRES_NOT_Z",
    "EXPIRES_PAST",
    "PROGRESS_BODY",
    "PROGRESS_TOTAL",
    "TRACE_ID",
]

M, S, W = Level.MUST, Level.SHOULD, Level.WIRE

PROGRESS_BODY = CheckSpec(
    "8.2-progress-current", "§8.2", M, "progress current is a non-negative number"
)
PROGRESS_TOTAL = CheckSpec("8.2-progress-total", "§8.2", S, "progress current <= total")
TRACE_ID = CheckSpec(
    "11-trace-id", "§11", W, "job.submit's trace_id is carried by job.accepted and every event"
)
EXPIRES_PAST = CheckSpec(
    "9.5-expires-past", "§9.5", M, "a past lease expires_at is rejected with INVALID_REQUEST"
)
EXPIRES_NOT_Z = CheckSpec(
    "9.5-expires-utc-z", "§9.5", M, "an expires_at without the Z suffix gets INVALID_REQUEST"
)
CANCEL_UNKNOWN = CheckSpec(
    "wd-cancel-unknown", "wire", W, "job.cancel of an unknown job gets JOB_NOT_FOUND"
)

_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@scenario(PROGRESS_BODY, PROGRESS_TOTAL)
async def progress(p: Probe) -> None:
    p.need_agent("progress")
    peer = await p.session()
    if "progress" not in peer.features:
        raise Skip("progress not offered")
    job = str((await p.submit(peer, "progress", {"n": 4}))["job_id"])
    await p.terminal(peer, job)
    bodies = [
        obj(payload_of(f).get("body"))
        for f in peer.job_frames(job)
        if payload_of(f).get("kind") == "progress"
    ]
    if not bodies:
        raise Skip("the progress agent emitted no progress events")
    current = [b.get("current") for b in bodies]
    ok = all(isinstance(c, int | float) and not isinstance(c, bool) and c >= 0 for c in current)
    p.judge(PROGRESS_BODY, ok, f"current {current}")
    over = [b for b in bodies if _number(b.get("total")) and _gt(b.get("current"), b.get("total"))]
    p.judge(PROGRESS_TOTAL, not over, f"{len(over)} of {len(bodies)} events exceed total")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _gt(a: object, b: object) -> bool:
    return isinstance(a, int | float) and isinstance(b, int | float) and a > b


@scenario(TRACE_ID)
async def trace(p: Probe) -> None:
    p.need_agent("chatty")
    peer = await p.session()
    rid = await peer.send("job.submit", {"agent": "chatty", "input": {"n": 2}}, trace_id=_TRACE)
    acc = await peer.answer(rid, "job.accepted")
    if obj(acc).get("type") != "job.accepted":
        raise Skip(f"submit with a trace_id -> {describe(acc)}")
    job = str(obj(acc).get("job_id") or payload_of(acc).get("job_id"))
    await p.terminal(peer, job)
    frames = [f for f in peer.job_frames(job) if f.get("type") != "session.error"]
    wrong = sorted({str(f.get("type")) for f in frames if f.get("trace_id") != _TRACE})
    p.judge(
        TRACE_ID,
        not wrong,
        f"missing or different trace_id on {wrong}" if wrong else f"{len(frames)} frames",
    )


def _stamp(delta: timedelta, suffix: str = "Z") -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S") + suffix


@scenario(EXPIRES_PAST, EXPIRES_NOT_Z)
async def expires(p: Probe) -> None:
    p.need_agent("echo")
    peer = await p.session()
    if "lease_expires_at" not in peer.features:
        raise Skip("lease_expires_at not offered")
    for spec, stamp in (
        (EXPIRES_PAST, _stamp(timedelta(hours=-1))),
        (EXPIRES_NOT_Z, _stamp(timedelta(hours=1), "+00:00")),
    ):
        answer = await p.request_error(
            peer,
            "job.submit",
            {"agent": "echo", "input": {}, "lease_constraints": {"expires_at": stamp}},
        )
        p.judge(spec, code_of(answer) == "INVALID_REQUEST", f"{stamp} -> {describe(answer)}")


@scenario(CANCEL_UNKNOWN)
async def cancel_unknown(p: Probe) -> None:
    peer = await p.session()
    job = "job_conformance_does_not_exist"
    await peer.send("job.cancel", {"job_id": job, "reason": "conformance"}, job_id=job)
    answer = await peer.until(lambda f: is_error(f) or f.get("type") == "job.cancelled")
    p.judge(CANCEL_UNKNOWN, code_of(answer) == "JOB_NOT_FOUND", f"-> {describe(answer)}")
