"""Resume and close checks: replay after a dropped connection, token rotation, refusals
(§6.3), and jobs surviving a graceful close (§6.7)."""

from __future__ import annotations

from arcp.conformance.model import CheckSpec, Level
from arcp.conformance.probe import Probe, Unanswered, describe, scenario
from arcp.conformance.wire import Frame, Peer, is_error, obj

__all__ = [
    "CLOSE",
    "CLOSE_JOBS_CONTINUE",
    "RESUME_BAD_SEQ",
    "RESUME_BAD_TOKEN",
    "RESUME_LIVE",
    "RESUME_REPLAY",
    "RESUME_ROTATES",
]

M, W = Level.MUST, Level.WIRE

RESUME_REPLAY = CheckSpec(
    "6.3-resume-replay", "§6.3", M, "resume replays exactly the events after last_event_seq"
)
RESUME_LIVE = CheckSpec(
    "6.3-resume-detached", "§6.3", M, "events emitted while detached are replayed, gap-free"
)
RESUME_ROTATES = CheckSpec(
    "6.3-token-rotates", "§6.3", M, "the resume token rotates on every welcome"
)
RESUME_BAD_TOKEN = CheckSpec(
    "6.3-bogus-token", "§6.3", W, "resume with a bogus token gets RESUME_WINDOW_EXPIRED"
)
RESUME_BAD_SEQ = CheckSpec(
    "6.3-uncovered-seq",
    "§6.3",
    W,
    "resume from a seq the buffer does not cover gets RESUME_WINDOW_EXPIRED",
)
CLOSE = CheckSpec("6.7-close", "§6.7", M, "session.close is acknowledged with session.closed")
CLOSE_JOBS_CONTINUE = CheckSpec(
    "6.7-jobs-survive-close", "§6.7", M, "in-flight jobs continue and stay resumable after close"
)


async def _resumed(
    p: Probe, session_id: str, token: str, last: int, label: str
) -> tuple[Peer, Frame | None]:
    peer = await p.connect(label)
    await peer.send(
        "session.resume",
        {"session_id": session_id, "resume_token": token, "last_event_seq": last},
    )
    answer = await peer.until(lambda f: f.get("type") == "session.welcome" or is_error(f))
    if answer is not None and answer.get("type") == "session.welcome":
        peer.adopt(answer)
    return peer, answer


@scenario(RESUME_REPLAY, RESUME_ROTATES, RESUME_BAD_TOKEN, RESUME_BAD_SEQ)
async def resume_replay(p: Probe) -> None:
    p.need_agent("chatty")
    peer = await p.session("before-drop")
    job = str((await p.submit(peer, "chatty", {"n": 5}))["job_id"])
    await p.terminal(peer, job)
    seen = {int(f["event_seq"]): f for f in peer.frames if isinstance(f.get("event_seq"), int)}
    top = max(seen, default=0)
    if top < 3:
        raise Unanswered(f"expected at least 3 sequenced frames from chatty n=5, got {top}")
    sid, token = str(peer.session_id), str(peer.resume_token)
    peer.drop()
    last = top - 3
    again, answer = await _resumed(p, sid, token, last, "resumed")
    if answer is None or answer.get("type") != "session.welcome":
        raise Unanswered(f"session.resume -> {describe(answer)}")
    new_token = again.resume_token
    p.judge(
        RESUME_ROTATES,
        bool(new_token) and new_token != token,
        "new resume_token differs" if new_token != token else "same resume_token as before",
    )
    await again.until(lambda f: f.get("event_seq") == top)
    err = await p.alive(again)
    replayed = [int(f["event_seq"]) for f in again.frames if isinstance(f.get("event_seq"), int)]
    want = list(range(last + 1, top + 1))
    same = all(
        obj(f.get("payload")) == obj(seen[int(f["event_seq"])].get("payload"))
        for f in again.frames
        if isinstance(f.get("event_seq"), int) and int(f["event_seq"]) in seen
    )
    p.judge(
        RESUME_REPLAY,
        replayed == want and same and err is None,
        f"last_event_seq={last}: replayed {replayed}, expected {want}"
        + ("" if same else "; payloads differ from the originals")
        + ("" if err is None else f"; afterwards {err}"),
    )
    again.drop()
    _, answer = await _resumed(p, sid, "rt_conformance_bogus", top, "bogus-token")
    code = obj(obj(answer).get("payload")).get("code")
    p.judge(RESUME_BAD_TOKEN, code == "RESUME_WINDOW_EXPIRED", f"bogus token -> {describe(answer)}")
    latest = again.resume_token or token
    _, answer = await _resumed(p, sid, latest, top + 1000, "bogus-seq")
    code = obj(obj(answer).get("payload")).get("code")
    p.judge(
        RESUME_BAD_SEQ,
        code == "RESUME_WINDOW_EXPIRED",
        f"last_event_seq={top + 1000} (latest is {top}) -> {describe(answer)}",
    )


@scenario(RESUME_LIVE)
async def resume_detached(p: Probe) -> None:
    """Drop right after acceptance; resume; every progress step arrives once, gap-free."""
    agent, n = ("progress", 5) if "progress" in p.inventory else ("chatty", 5)
    p.need_agent(agent)
    peer = await p.session("detach")
    inp = {"n": n, "delay_ms": 30} if agent == "progress" else {"n": n}
    job = str((await p.submit(peer, agent, inp))["job_id"])
    last = peer.last_seq()
    sid, token = str(peer.session_id), str(peer.resume_token)
    peer.drop()
    again, answer = await _resumed(p, sid, token, last, "reattached")
    if answer is None or answer.get("type") != "session.welcome":
        raise Unanswered(f"session.resume -> {describe(answer)}")
    await p.terminal(again, job)
    seqs = [int(f["event_seq"]) for f in again.frames if isinstance(f.get("event_seq"), int)]
    kind = "progress" if agent == "progress" else "log"
    events = [f for f in again.job_frames(job) if obj(f.get("payload")).get("kind") == kind]
    gap_free = seqs == list(range(last + 1, last + 1 + len(seqs)))
    p.judge(
        RESUME_LIVE,
        gap_free and len(events) == n,
        f"after last_event_seq={last}: seqs {seqs}, {len(events)} of {n} {kind} events",
    )


@scenario(CLOSE, CLOSE_JOBS_CONTINUE)
async def close(p: Probe) -> None:
    peer = await p.session("closer")
    job: str | None = None
    if "progress" in p.inventory:
        job = str((await p.submit(peer, "progress", {"n": 3, "delay_ms": 30}))["job_id"])
    sid, token = str(peer.session_id), str(peer.resume_token)
    await peer.send("session.close", {"reason": "conformance"})
    closed = await peer.until(lambda f: f.get("type") == "session.closed" or is_error(f))
    p.judge(
        CLOSE, obj(closed).get("type") == "session.closed", f"session.close -> {describe(closed)}"
    )
    if job is None:
        p.skip(CLOSE_JOBS_CONTINUE, "agent 'progress' not in the welcome inventory")
        return
    again, answer = await _resumed(p, sid, token, peer.last_seq(), "after-close")
    if answer is None or answer.get("type") != "session.welcome":
        p.judge(CLOSE_JOBS_CONTINUE, False, f"resume after close -> {describe(answer)}")
        return
    end = await again.until(
        lambda f: f.get("type") in ("job.result", "job.error") and f.get("job_id") == job
    )
    status = obj(obj(end).get("payload")).get("final_status")
    p.judge(
        CLOSE_JOBS_CONTINUE,
        status == "success",
        f"resumed after close; job ended {describe(end)} final_status={status!r}",
    )
