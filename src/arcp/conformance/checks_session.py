"""Session checks: envelope tolerance (§5), auth, welcome, resume, heartbeats, ack, listing,
close (§6)."""

from __future__ import annotations

from datetime import datetime, timedelta

from arcp.conformance.model import CheckSpec, Level
from arcp.conformance.probe import Probe, Skip, Unanswered, codes, describe, scenario
from arcp.conformance.wire import Frame, Peer, arr, is_error, now_iso, obj

__all__ = [
    "ACK",
    "BAD_TOKEN",
    "BAD_TOKEN_CLOSES",
    "INTERSECTION",
    "LIST_ISOLATION",
    "LIST_NEXT_CURSOR",
    "LIST_PAGINATION",
    "LIST_SHAPE",
    "PING_PONG",
    "UNKNOWN_FIELDS",
    "WELCOME_AGENTS",
    "WELCOME_FIELDS",
]

M, S, W = Level.MUST, Level.SHOULD, Level.WIRE

UNKNOWN_FIELDS = CheckSpec("5-unknown-fields", "§5", M, "unknown top-level fields are ignored")
BAD_TOKEN = CheckSpec("6.1-bad-token", "§6.1", M, "an invalid bearer token gets UNAUTHENTICATED")
BAD_TOKEN_CLOSES = CheckSpec(
    "6.1-bad-token-closes", "§6.1", W, "the transport closes after UNAUTHENTICATED"
)
WELCOME_FIELDS = CheckSpec(
    "6.2-welcome-fields",
    "§6.2",
    M,
    "welcome has session_id, resume_token, heartbeat_interval_sec, capabilities",
)
WELCOME_AGENTS = CheckSpec(
    "6.2-agent-inventory", "§6.2", M, "welcome lists agents with versions and default"
)
INTERSECTION = CheckSpec(
    "6.2-feature-intersection",
    "§6.2",
    M,
    "no progress / result_chunk events when the client did not ask for them",
)
PING_PONG = CheckSpec(
    "6.4-ping-pong", "§6.4", M, "session.ping is answered by a pong echoing the nonce"
)
ACK = CheckSpec("6.5-ack", "§6.5", M, "session.ack is accepted; the session continues")
LIST_SHAPE = CheckSpec("6.6-list-shape", "§6.6", M, "session.jobs lists the session's jobs")
LIST_NEXT_CURSOR = CheckSpec(
    "6.6-next-cursor", "§6.6", W, "session.jobs always carries next_cursor"
)
LIST_PAGINATION = CheckSpec(
    "6.6-pagination", "§6.6", S, "limit + cursor pages through every job exactly once"
)
LIST_ISOLATION = CheckSpec(
    "6.6-principal-isolation", "§6.6", M, "another principal's jobs are never listed"
)

_AGENT_FIELDS = ("name", "versions")


@scenario(UNKNOWN_FIELDS)
async def unknown_fields(p: Probe) -> None:
    """Send a submit carrying an unknown envelope field; it must be served normally."""
    p.need_agent("echo")
    peer = await p.session()
    rid = await peer.send(
        "job.submit",
        {"agent": "echo", "input": {"probe": "unknown-fields"}},
        x_conformance_probe={"future": ["field"]},
    )
    answer = await peer.answer(rid, "job.accepted")
    ok = answer is not None and answer.get("type") == "job.accepted"
    p.judge(UNKNOWN_FIELDS, ok, f"job.submit with an extra top-level field -> {describe(answer)}")


@scenario(BAD_TOKEN, BAD_TOKEN_CLOSES)
async def bad_token(p: Probe) -> None:
    peer = await p.connect("bad-token")
    answer = await peer.hello("arcp-conformance-not-a-valid-token")
    code = obj(obj(answer).get("payload")).get("code")
    p.judge(BAD_TOKEN, code == "UNAUTHENTICATED", f"hello with a bogus token -> {describe(answer)}")
    closed = await peer.closes()
    p.judge(BAD_TOKEN_CLOSES, closed, "connection closed" if closed else "connection left open")


@scenario(WELCOME_FIELDS, WELCOME_AGENTS)
async def welcome(p: Probe) -> None:
    peer = await p.session()
    w = obj(peer.welcome)
    payload = obj(w.get("payload"))
    missing = [
        name
        for name, present in (
            ("session_id", bool(peer.session_id)),
            ("resume_token", isinstance(payload.get("resume_token"), str)),
            ("heartbeat_interval_sec", _number(payload.get("heartbeat_interval_sec"))),
            (
                "capabilities.features",
                isinstance(obj(payload.get("capabilities")).get("features"), list),
            ),
        )
        if not present
    ]
    p.judge(
        WELCOME_FIELDS, not missing, f"missing: {', '.join(missing)}" if missing else "all present"
    )
    agents = arr(obj(payload.get("capabilities")).get("agents"))
    bad = [
        str(a)
        for a in agents
        if not all(k in obj(a) for k in _AGENT_FIELDS)
        or not arr(obj(a).get("versions"))
        or ("default" in obj(a) and obj(a)["default"] not in arr(obj(a).get("versions")))
    ]
    if not agents:
        p.judge(WELCOME_AGENTS, False, "capabilities.agents is missing or empty")
    else:
        p.judge(
            WELCOME_AGENTS,
            not bad,
            f"malformed entries: {bad[:2]}" if bad else f"{len(agents)} agents",
        )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@scenario(INTERSECTION)
async def intersection(p: Probe) -> None:
    """A client without progress / result_chunk must never see those kinds."""
    have = [a for a in ("progress", "chunked") if a in p.inventory]
    if not have:
        raise Skip("neither 'progress' nor 'chunked' is offered")
    peer = await p.session("plain", features=["heartbeat"])
    jobs: list[str] = []
    if "progress" in have:
        jobs.append(str((await p.submit(peer, "progress", {"n": 3}))["job_id"]))
    if "chunked" in have:
        jobs.append(
            str((await p.submit(peer, "chunked", {"bytes": 300, "chunk_size": 100}))["job_id"])
        )
    for job in jobs:
        await p.terminal(peer, job)
    kinds = sorted(
        {
            str(obj(f.get("payload")).get("kind"))
            for f in peer.frames
            if f.get("type") == "job.event"
            and obj(f.get("payload")).get("kind") in ("progress", "result_chunk")
        }
    )
    p.judge(
        INTERSECTION,
        not kinds,
        f"received {kinds} without asking" if kinds else f"ran {', '.join(have)}: none seen",
    )


@scenario(PING_PONG)
async def ping_pong(p: Probe) -> None:
    peer = await p.session()
    if "heartbeat" not in peer.features:
        raise Skip("heartbeat not offered")
    interval = obj(obj(peer.welcome).get("payload")).get("heartbeat_interval_sec")
    wait = min(p.timeout, float(interval)) if isinstance(interval, int | float) else p.timeout
    await peer.send("session.ping", {"nonce": "cf-nonce-42", "sent_at": now_iso()})
    pong = await peer.until(lambda f: f.get("type") == "session.pong" or is_error(f), wait)
    nonce = obj(obj(pong).get("payload")).get("ping_nonce")
    p.judge(
        PING_PONG,
        nonce == "cf-nonce-42",
        f"ping nonce cf-nonce-42 -> {describe(pong)} ping_nonce={nonce!r}",
    )


@scenario(ACK)
async def ack(p: Probe) -> None:
    p.need_agent("chatty")
    peer = await p.session()
    if "ack" not in peer.features:
        raise Skip("ack not offered")
    job = str((await p.submit(peer, "chatty", {"n": 3}))["job_id"])
    await p.terminal(peer, job)
    await peer.send("session.ack", {"last_processed_seq": peer.last_seq()})
    err = await p.alive(peer)
    errors = codes(peer.frames)
    ok = err is None and not errors
    p.judge(
        ACK,
        ok,
        f"ack {peer.last_seq()} -> "
        + (err or (f"errors {errors}" if errors else "session continues")),
    )


async def _list(p: Probe, peer: Peer, payload: dict[str, object]) -> Frame:
    rid = await peer.send("session.list_jobs", payload)
    answer = await peer.answer(rid, "session.jobs")
    if answer is None or answer.get("type") != "session.jobs":
        raise Unanswered(f"session.list_jobs -> {describe(answer)}")
    return answer


async def _pages(
    p: Probe, peer: Peer, payload: dict[str, object], max_pages: int = 200
) -> tuple[list[list[dict[str, object]]], dict[str, object], bool]:
    """Follow ``next_cursor`` from the first page: (pages, first payload, reached the end)."""
    pages: list[list[dict[str, object]]] = []
    first: dict[str, object] = {}
    cursor: object = None
    for _ in range(max_pages):
        page = obj((await _list(p, peer, {**payload, "cursor": cursor}))["payload"])
        first = first or page
        pages.append([obj(e) for e in arr(page.get("jobs"))])
        cursor = page.get("next_cursor")
        if cursor is None:
            return pages, first, True
    return pages, first, False


def _since(accepted: Frame) -> dict[str, object]:
    """A ``created_after`` filter one second before the runtime accepted ``accepted``."""
    stamp = obj(accepted.get("payload")).get("accepted_at")
    try:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) - timedelta(seconds=1)
    except ValueError:
        return {}
    return {"filter": {"created_after": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}}


_STATUSES = ("pending", "running", "success", "error", "cancelled", "timed_out")


def _entry_problems(entry: dict[str, object]) -> list[str]:
    problems: list[str] = []
    if "@" not in str(entry.get("agent")):
        problems.append(f"agent {entry.get('agent')!r} is not name@version")
    if entry.get("status") not in _STATUSES:
        problems.append(f"status {entry.get('status')!r}")
    if not isinstance(entry.get("lease"), dict):
        problems.append("no lease")
    return problems


@scenario(LIST_SHAPE, LIST_NEXT_CURSOR, LIST_PAGINATION)
async def list_jobs(p: Probe) -> None:
    p.need_agent("echo")
    peer = await p.session("lister")
    if "list_jobs" not in peer.features:
        raise Skip("list_jobs not offered")
    accepted = [await p.submit(peer, "echo", {"i": i}) for i in range(3)]
    mine = [str(a["job_id"]) for a in accepted]
    since = _since(accepted[0])
    pages, first, _ = await _pages(p, peer, {"limit": 100, **since})
    by_id = {str(e.get("job_id")): e for page in pages for e in page}
    missing = [j for j in mine if j not in by_id]
    bad = sorted({problem for j in mine if j in by_id for problem in _entry_problems(by_id[j])})
    p.judge(
        LIST_SHAPE,
        isinstance(first.get("jobs"), list) and not missing and not bad,
        f"{len(by_id)} entries; missing {missing}; problems: {', '.join(bad) or 'none'}"
        if missing or bad
        else f"{len(by_id)} entries with job_id, agent@version, status, lease",
    )
    p.judge(
        LIST_NEXT_CURSOR,
        "next_cursor" in first,
        f"next_cursor={first.get('next_cursor', '<absent>')!r}",
    )
    pages, _, complete = await _pages(p, peer, {"limit": 1, **since})
    flat = [str(e.get("job_id")) for page in pages for e in page]
    ok = complete and all(len(pg) <= 1 for pg in pages) and len(flat) == len(set(flat))
    p.judge(
        LIST_PAGINATION,
        ok and all(j in flat for j in mine),
        f"{len(pages)} pages of limit 1 -> {len(flat)} jobs, {len(set(flat))} distinct"
        + ("" if complete else ", next_cursor never became null"),
    )


@scenario(LIST_ISOLATION)
async def list_isolation(p: Probe) -> None:
    p.need_agent("echo")
    peer = await p.session("owner")
    if "list_jobs" not in peer.features:
        raise Skip("list_jobs not offered")
    other = await p.other_session()
    accepted = await p.submit(peer, "echo", {"secret": True})
    job = str(accepted["job_id"])
    pages, _, _ = await _pages(p, other, {"limit": 100, **_since(accepted)})
    ids = [str(e.get("job_id")) for page in pages for e in page]
    p.judge(
        LIST_ISOLATION,
        job not in ids,
        f"other principal lists {len(ids)} jobs; ours {'is' if job in ids else 'is not'} among them",
    )
