"""Job checks: acceptance, idempotency, cancellation, versions, subscription (§7),
sequencing and streamed results (§8), budgets (§9.6)."""

from __future__ import annotations

import base64
import itertools
import time
from datetime import UTC, datetime, timedelta

from arcp.conformance.model import CheckSpec, Level
from arcp.conformance.probe import Probe, Skip, describe, scenario
from arcp.conformance.wire import Frame, Peer, arr, is_error, obj
from arcp_gen.errors import ErrorCode
from arcp_gen.metamodel import ERRORS

__all__ = [
    "ACCEPTED_BUDGET",
    "ACCEPTED_LEASE",
    "BUDGET_EXHAUSTED",
    "CANCEL",
    "CHUNK_ORDER",
    "CHUNK_RESULT_ID",
    "DUPLICATE_KEY",
    "IDEMPOTENT",
    "SEQ_INTERLEAVED",
    "VERSION_DEFAULT",
    "VERSION_MISSING",
    "VERSION_PINNED",
    "VERSION_UNKNOWN_AGENT",
    "cancel_job",
    "code_of",
    "payload_of",
]

M, S, W = Level.MUST, Level.SHOULD, Level.WIRE

ACCEPTED_LEASE = CheckSpec(
    "7.1-accepted-lease", "§7.1", M, "job.accepted echoes job_id, lease and lease_constraints"
)
ACCEPTED_BUDGET = CheckSpec(
    "7.1-accepted-budget", "§7.1", M, "job.accepted carries the initial budget counters"
)
IDEMPOTENT = CheckSpec(
    "7.2-idempotent", "§7.2", M, "same idempotency_key + parameters -> the same job.accepted"
)
DUPLICATE_KEY = CheckSpec(
    "7.2-duplicate-key", "§7.2", M, "same key, conflicting parameters -> DUPLICATE_KEY"
)
CANCEL = CheckSpec(
    "7.4-cancel", "§7.4", M, "cancel -> job.cancelled, then job.error CANCELLED / cancelled"
)
VERSION_DEFAULT = CheckSpec(
    "7.5-default-version", "§7.5", M, "a bare name runs the advertised default version"
)
VERSION_PINNED = CheckSpec(
    "7.5-pinned-version", "§7.5", M, "name@version runs exactly that version"
)
VERSION_MISSING = CheckSpec(
    "7.5-version-unavailable", "§7.5", M, "an unknown version gets AGENT_VERSION_NOT_AVAILABLE"
)
VERSION_UNKNOWN_AGENT = CheckSpec(
    "7.5-agent-unavailable", "§7.5", M, "an unknown agent gets AGENT_NOT_AVAILABLE"
)
SEQ_INTERLEAVED = CheckSpec(
    "8.3-seq-gap-free", "§8.3", M, "event_seq is strictly monotonic and gap-free across jobs"
)
CHUNK_ORDER = CheckSpec(
    "8.4-chunk-order", "§8.4", M, "result_chunk chunk_seq 0..n in order, last has more=false"
)
CHUNK_RESULT_ID = CheckSpec(
    "8.4-result-id", "§8.4", M, "streamed job.result carries result_id and no inline result"
)
BUDGET_EXHAUSTED = CheckSpec(
    "9.6-budget-exhausted",
    "§9.6",
    M,
    "overspending a budget gives BUDGET_EXHAUSTED, retryable false",
)

_keys = itertools.count()


def payload_of(frame: Frame | None) -> dict[str, object]:
    return obj(obj(frame).get("payload"))


@scenario(ACCEPTED_LEASE, ACCEPTED_BUDGET)
async def accepted(p: Probe) -> None:
    p.need_agent("echo")
    peer = await p.session()
    extra: dict[str, object] = {"lease_request": {"tool.call": ["conformance.*"]}}
    expires = None
    if "lease_expires_at" in peer.features:
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        extra["lease_constraints"] = {"expires_at": expires}
    acc = payload_of(await p.submit(peer, "echo", {"probe": "lease"}, **extra))
    lease = acc.get("lease")
    echoed = obj(acc.get("lease_constraints")).get("expires_at")
    problems = [
        *(["no job_id"] if not isinstance(acc.get("job_id"), str) else []),
        *(["lease is not an object"] if not isinstance(lease, dict) else []),
        *(
            [f"expires_at echoed as {echoed!r}, sent {expires!r}"]
            if expires and echoed != expires
            else []
        ),
    ]
    p.judge(
        ACCEPTED_LEASE, not problems, "; ".join(problems) or f"lease={lease} expires_at={echoed}"
    )
    if "cost.budget" not in peer.features:
        p.skip(ACCEPTED_BUDGET, "cost.budget not offered")
        return
    acc = payload_of(
        await p.submit(
            peer, "echo", {"probe": "budget"}, lease_request={"cost.budget": ["USD:5.00"]}
        )
    )
    budget = obj(acc.get("budget"))
    ok = budget.get("USD") in (5, 5.0, "5.00", "5.0", "5")
    p.judge(ACCEPTED_BUDGET, ok, f"cost.budget USD:5.00 -> budget={acc.get('budget')!r}")


@scenario(IDEMPOTENT, DUPLICATE_KEY)
async def idempotency(p: Probe) -> None:
    p.need_agent("echo")
    peer = await p.session()
    key = f"conformance-{time.time_ns()}-{next(_keys)}"
    one = payload_of(await p.submit(peer, "echo", {"v": 1}, idempotency_key=key))
    two = payload_of(await p.submit(peer, "echo", {"v": 1}, idempotency_key=key))
    diff = sorted(k for k in set(one) | set(two) if k != "request_id" and one.get(k) != two.get(k))
    p.judge(
        IDEMPOTENT,
        not diff,
        f"same job_id {one.get('job_id')}" if not diff else f"payloads differ in {diff}",
    )
    answer = await p.request_error(
        peer, "job.submit", {"agent": "echo", "input": {"v": 2}, "idempotency_key": key}
    )
    p.judge(
        DUPLICATE_KEY,
        code_of(answer) == "DUPLICATE_KEY",
        f"conflicting reuse -> {describe(answer)}",
    )


def code_of(frame: Frame | None) -> object:
    return payload_of(frame).get("code") if frame is not None and is_error(frame) else None


async def cancel_job(p: Probe, peer: Peer, job: str) -> None:
    await peer.send("job.cancel", {"job_id": job, "reason": "conformance"}, job_id=job)


@scenario(CANCEL)
async def cancel(p: Probe) -> None:
    p.need_agent("slow")
    peer = await p.session()
    job = str((await p.submit(peer, "slow", {"sec": 30}))["job_id"])
    await cancel_job(p, peer, job)
    end = await p.terminal(peer, job)
    acked = any(f.get("type") == "job.cancelled" for f in peer.job_frames(job))
    pay = payload_of(end)
    ok = acked and end.get("type") == "job.error" and pay.get("code") == "CANCELLED"
    ok = ok and pay.get("final_status") == ERRORS[ErrorCode.CANCELLED].final_status
    p.judge(
        CANCEL,
        ok,
        f"job.cancelled {'seen' if acked else 'missing'}; then {describe(end)}"
        f" final_status={pay.get('final_status')!r}",
    )


@scenario(VERSION_DEFAULT, VERSION_PINNED, VERSION_MISSING, VERSION_UNKNOWN_AGENT)
async def versions(p: Probe) -> None:
    peer = await p.session()
    answer = await p.request_error(peer, "job.submit", {"agent": "no-such-agent-cf", "input": {}})
    p.judge(
        VERSION_UNKNOWN_AGENT,
        code_of(answer) == "AGENT_NOT_AVAILABLE",
        f"no-such-agent-cf -> {describe(answer)}",
    )
    entry = p.need_agent("versioned")
    if "agent_versions" not in peer.features:
        raise Skip("agent_versions not offered")
    versions = [str(v) for v in arr(entry.get("versions"))]
    default = entry.get("default")
    if default is None:
        p.skip(VERSION_DEFAULT, "no default version advertised for 'versioned'")
    else:
        acc = await p.submit(peer, "versioned", {})
        end = await p.terminal(peer, str(acc["job_id"]))
        ran = obj(payload_of(end).get("result")).get("version")
        agent = payload_of(acc).get("agent")
        p.judge(
            VERSION_DEFAULT,
            agent == f"versioned@{default}" and ran == default,
            f"default {default}: accepted as {agent!r}, ran {ran!r}",
        )
    pin = next((v for v in versions if v != default), versions[0] if versions else None)
    if pin is None:
        p.skip(VERSION_PINNED, "'versioned' lists no versions")
    else:
        acc = await p.submit(peer, f"versioned@{pin}", {})
        end = await p.terminal(peer, str(acc["job_id"]))
        ran = obj(payload_of(end).get("result")).get("version")
        agent = payload_of(acc).get("agent")
        p.judge(
            VERSION_PINNED,
            agent == f"versioned@{pin}" and ran == pin,
            f"pinned {pin}: accepted as {agent!r}, ran {ran!r}",
        )
    answer = await p.request_error(
        peer, "job.submit", {"agent": "versioned@99.99.99-cf", "input": {}}
    )
    p.judge(
        VERSION_MISSING,
        code_of(answer) == "AGENT_VERSION_NOT_AVAILABLE",
        f"versioned@99.99.99-cf -> {describe(answer)}",
    )


@scenario(SEQ_INTERLEAVED)
async def interleaved(p: Probe) -> None:
    p.need_agent("chatty")
    peer = await p.session()
    jobs = [str((await p.submit(peer, "chatty", {"n": 15}))["job_id"]) for _ in range(3)]
    for job in jobs:
        await p.terminal(peer, job)
    seqs = [int(f["event_seq"]) for f in peer.frames if isinstance(f.get("event_seq"), int)]
    start = seqs[0] if seqs else 1
    ok = seqs == list(range(start, start + len(seqs))) and len(seqs) >= 48
    owners = len({f.get("job_id") for f in peer.frames if isinstance(f.get("event_seq"), int)})
    p.judge(
        SEQ_INTERLEAVED,
        ok,
        f"{len(seqs)} sequenced frames over {owners} jobs, seq {start}..{seqs[-1] if seqs else '-'}",
    )


@scenario(CHUNK_ORDER, CHUNK_RESULT_ID)
async def chunks(p: Probe) -> None:
    p.need_agent("chunked")
    peer = await p.session()
    if "result_chunk" not in peer.features:
        raise Skip("result_chunk not offered")
    size = 5000
    job = str((await p.submit(peer, "chunked", {"bytes": size, "chunk_size": 1000}))["job_id"])
    end = await p.terminal(peer, job)
    bodies = [
        obj(payload_of(f).get("body"))
        for f in peer.job_frames(job)
        if f.get("type") == "job.event" and payload_of(f).get("kind") == "result_chunk"
    ]
    if not bodies:
        raise Skip("the runtime returned the result inline (streaming is optional)")
    order = [b.get("chunk_seq") for b in bodies]
    more = [b.get("more") for b in bodies]
    rids = {str(b.get("result_id")) for b in bodies}
    data = b"".join(_decode(b) for b in bodies)
    ok = order == list(range(len(bodies))) and more == [True] * (len(bodies) - 1) + [False]
    # The demo contract counts characters; a byte count is accepted too.
    length = size if len(data) == size else len(data.decode(errors="replace"))
    ok = ok and len(rids) == 1 and length == size
    p.judge(
        CHUNK_ORDER,
        ok,
        f"chunk_seq {order}, more {more}, {len(rids)} result_id(s), assembled {length} of {size}",
    )
    pay = payload_of(end)
    ok = end.get("type") == "job.result" and pay.get("result_id") in rids and "result" not in pay
    p.judge(
        CHUNK_RESULT_ID,
        ok,
        f"{describe(end)} result_id={pay.get('result_id')!r} inline={'result' in pay}",
    )


def _decode(body: dict[str, object]) -> bytes:
    data = str(body.get("data", ""))
    if body.get("encoding") == "base64":
        return base64.b64decode(data)
    return data.encode()


@scenario(BUDGET_EXHAUSTED)
async def budget(p: Probe) -> None:
    p.need_agent("costly")
    peer = await p.session()
    if "cost.budget" not in peer.features:
        raise Skip("cost.budget not offered")
    acc = await p.submit(
        peer,
        "costly",
        {"steps": 5, "usd": 0.5},
        lease_request={"cost.budget": ["USD:1.00"], "tool.call": ["search.web"]},
    )
    job = str(acc["job_id"])
    await p.terminal(peer, job)
    found = [(f, e) for f in peer.job_frames(job) if (e := _budget_error(f)) is not None]
    if not found:
        p.judge(
            BUDGET_EXHAUSTED,
            False,
            "5 steps at USD 0.50 on a USD 1.00 budget: no BUDGET_EXHAUSTED seen",
        )
        return
    where = [
        f"{payload_of(f).get('kind') or f.get('type')} retryable={e.get('retryable')}"
        for f, e in found
    ]
    ok = all(e.get("retryable") is False for _, e in found)
    p.judge(BUDGET_EXHAUSTED, ok, f"BUDGET_EXHAUSTED in {', '.join(where)}")


def _budget_error(frame: Frame) -> dict[str, object] | None:
    pay = payload_of(frame)
    if frame.get("type") == "job.error" and pay.get("code") == "BUDGET_EXHAUSTED":
        return pay
    err = obj(obj(pay.get("body")).get("error"))
    if pay.get("kind") == "tool_result" and err.get("code") == "BUDGET_EXHAUSTED":
        return err
    return None
