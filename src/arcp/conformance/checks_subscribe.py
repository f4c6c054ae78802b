"""Subscription checks (§7.6): ordering, history replay, the subscriber's own sequence,
refusal across principals, and no cancel authority for subscribers (§7.4, §14)."""

from __future__ import annotations

from arcp.conformance.checks_jobs import cancel_job, code_of, payload_of
from arcp.conformance.model import CheckSpec, Level
from arcp.conformance.probe import Probe, Skip, Unanswered, describe, is_terminal, scenario
from arcp.conformance.wire import is_error, obj

__all__ = [
    "SUBSCRIBED_FIRST",
    "SUBSCRIBER_NO_CANCEL",
    "SUBSCRIBE_FOREIGN",
    "SUBSCRIBE_HISTORY",
    "SUBSCRIBE_SEQ",
]

M, W = Level.MUST, Level.WIRE

SUBSCRIBER_NO_CANCEL = CheckSpec(
    "7.4-subscriber-cannot-cancel", "§7.4", M, "a subscriber's job.cancel is refused"
)
SUBSCRIBED_FIRST = CheckSpec(
    "7.6-subscribed-first", "§7.6", W, "job.subscribed precedes every replayed event"
)
SUBSCRIBE_HISTORY = CheckSpec(
    "7.6-history", "§7.6", M, "history:true replays the job's buffered events"
)
SUBSCRIBE_SEQ = CheckSpec(
    "7.6-subscriber-seq", "§7.6", M, "subscribed events use the subscriber's own gap-free seq"
)
SUBSCRIBE_FOREIGN = CheckSpec(
    "7.6-other-principal", "§7.6", M, "another principal's subscribe is refused"
)


@scenario(SUBSCRIBER_NO_CANCEL)
async def subscriber_cancel(p: Probe) -> None:
    p.need_agent("slow")
    owner = await p.session("owner")
    if "subscribe" not in owner.features:
        raise Skip("subscribe not offered")
    job = str((await p.submit(owner, "slow", {"sec": 30}))["job_id"])
    watcher = await p.session("watcher")
    rid = await watcher.send("job.subscribe", {"job_id": job}, job_id=job)
    sub = await watcher.answer(rid, "job.subscribed")
    if obj(sub).get("type") != "job.subscribed":
        raise Unanswered(f"same-principal subscribe -> {describe(sub)}")
    await cancel_job(p, watcher, job)
    refusal = await watcher.until(
        lambda f: is_error(f) or f.get("type") == "job.cancelled" or is_terminal(f)
    )
    refused = refusal is not None and refusal.get("type") == "session.error"
    await cancel_job(p, owner, job)
    end = await p.terminal(owner, job)
    p.judge(
        SUBSCRIBER_NO_CANCEL,
        refused and payload_of(end).get("final_status") == "cancelled",
        f"subscriber cancel -> {describe(refusal)}; owner's cancel later -> {describe(end)}",
    )


@scenario(SUBSCRIBED_FIRST, SUBSCRIBE_HISTORY, SUBSCRIBE_SEQ, SUBSCRIBE_FOREIGN)
async def subscribe(p: Probe) -> None:
    p.need_agent("chatty")
    owner = await p.session("owner")
    if "subscribe" not in owner.features:
        raise Skip("subscribe not offered")
    job = str((await p.submit(owner, "chatty", {"n": 4}))["job_id"])
    await p.terminal(owner, job)
    original = [f for f in owner.job_frames(job) if isinstance(f.get("event_seq"), int)]
    watcher = await p.session("watcher")
    rid = await watcher.send(
        "job.subscribe", {"job_id": job, "from_event_seq": 0, "history": True}, job_id=job
    )
    sub = await watcher.answer(rid, "job.subscribed")
    if obj(sub).get("type") != "job.subscribed":
        raise Unanswered(f"same-principal subscribe -> {describe(sub)}")
    await watcher.until(lambda f: is_terminal(f) and f.get("job_id") == job)
    about = watcher.job_frames(job)
    first = next((f for f in about if f.get("type") != "session.error"), None)
    p.judge(
        SUBSCRIBED_FIRST,
        obj(first).get("type") == "job.subscribed",
        f"first frame about the job: {describe(first)}",
    )
    replay = [f for f in about if isinstance(f.get("event_seq"), int)]
    want = [
        (f.get("type"), payload_of(f).get("kind"), obj(payload_of(f).get("body"))) for f in original
    ]
    got = [
        (f.get("type"), payload_of(f).get("kind"), obj(payload_of(f).get("body"))) for f in replay
    ]
    p.judge(
        SUBSCRIBE_HISTORY,
        got == want,
        f"replayed {len(got)} of {len(want)} events" + ("" if got == want else " (differ)"),
    )
    seqs = [int(f["event_seq"]) for f in watcher.frames if isinstance(f.get("event_seq"), int)]
    p.judge(
        SUBSCRIBE_SEQ,
        bool(seqs) and seqs == list(range(1, len(seqs) + 1)),
        f"subscriber seqs {seqs}",
    )
    try:
        other = await p.other_session()
    except Skip as exc:
        p.skip(SUBSCRIBE_FOREIGN, str(exc))
        return
    rid = await other.send("job.subscribe", {"job_id": job, "history": True}, job_id=job)
    answer = await other.until(lambda f: is_error(f) or f.get("type") == "job.subscribed")
    leaked = [f for f in other.frames if f.get("type") in ("job.event", "job.result")]
    code = code_of(answer)
    p.judge(
        SUBSCRIBE_FOREIGN,
        code in ("PERMISSION_DENIED", "JOB_NOT_FOUND") and not leaked,
        f"other principal -> {describe(answer)}; {len(leaked)} events leaked",
    )
