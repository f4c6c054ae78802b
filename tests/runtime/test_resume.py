"""Resume after a dropped transport, and heartbeat loss (§6.3, §6.4, §8.3)."""

from __future__ import annotations

from typing import Any

from arcp.runtime import Runtime
from tests.runtime.conftest import Gates, build_runtime
from tests.runtime.wire import ALL_FEATURES, Peer, connect


async def _resume(
    rt: Runtime, old: Peer, last_seq: int | None = None, *, legacy: bool = False
) -> tuple[Peer, dict[str, Any]]:
    peer = connect(rt)
    peer.last_seq = old.last_seq if last_seq is None else last_seq
    request = {
        "session_id": old.session_id,
        "resume_token": old.resume_token,
        "last_event_seq": peer.last_seq,
    }
    if legacy:
        await peer.send("session.hello", {"client": {"name": "x"}, "resume": request})
    else:
        await peer.send("session.resume", request)
    reply = await peer.recv()
    if reply["type"] == "session.welcome":
        peer.session_id = reply["session_id"]
        peer.resume_token = reply["payload"]["resume_token"]
    return peer, reply


async def test_drop_mid_stream_then_resume_loses_and_repeats_nothing(
    rt: Runtime, gates: Gates
) -> None:
    """§6.3, §8.3: events emitted while detached are buffered; resume replays exactly the
    events after last_event_seq, then goes live, with one gap-free seq space."""
    peer = connect(rt)
    await peer.hello()
    job_id = (await peer.submit("chatty", {"n": 40, "gate": "half"}))["job_id"]
    for _ in range(5):
        await peer.expect("job.event")
    await peer.drop()
    gates["half"].set()  # the job keeps running while the session is detached
    resumed, welcome = await _resume(rt, peer)
    assert welcome["type"] == "session.welcome"
    assert welcome["session_id"] == peer.session_id
    assert welcome["payload"]["resume_token"] != peer.resume_token
    frames = await resumed.until_terminal(job_id)  # the peer asserts seq 6, 7, ... with no gap
    messages = [f["payload"]["body"]["message"] for f in frames if f["type"] == "job.event"]
    assert messages == [f"event {i}" for i in range(5, 40)]
    assert frames[-1]["event_seq"] == 41


async def test_resume_can_ask_for_events_it_already_saw_again(rt: Runtime) -> None:
    """§6.3: the client names last_event_seq; anything after it that is buffered is replayed."""
    peer = connect(rt)
    await peer.hello()
    job_id = (await peer.submit("chatty", {"n": 3}))["job_id"]
    await peer.until_terminal(job_id)
    await peer.drop()
    resumed, _ = await _resume(rt, peer, last_seq=1)
    frames = [await resumed.recv() for _ in range(3)]
    assert [f["event_seq"] for f in frames] == [2, 3, 4]


async def test_resume_token_rotates_and_old_tokens_stop_working(rt: Runtime) -> None:
    """§6.3: every welcome rotates the token; the previous one no longer resumes."""
    peer = connect(rt)
    await peer.hello()
    await peer.drop()
    resumed, _ = await _resume(rt, peer)
    await resumed.send("session.ping", {"nonce": "n", "sent_at": "2026-01-01T00:00:00Z"})
    await resumed.recv()  # the client spoke after the welcome: it has the new token
    await resumed.drop()
    _, refused = await _resume(rt, peer)  # still presenting the first token
    assert refused["type"] == "session.error"
    assert refused["payload"]["code"] == "RESUME_WINDOW_EXPIRED"
    assert peer.resume_token is not None
    assert peer.resume_token not in str(refused)


async def test_legacy_hello_with_resume_is_accepted(rt: Runtime) -> None:
    """wire-decisions: session.hello carrying payload.resume resumes like session.resume."""
    peer = connect(rt)
    await peer.hello()
    job_id = (await peer.submit("echo", 7))["job_id"]
    await peer.drop()
    resumed, welcome = await _resume(rt, peer, last_seq=0, legacy=True)
    assert welcome["type"] == "session.welcome"
    result = (await resumed.until_terminal(job_id))[-1]
    assert result["payload"]["result"] == 7


async def test_resume_beyond_the_buffer_is_window_expired(gates: Gates) -> None:
    """§6.3, §6.5: once the hard cap evicted events the client had, a resume needing them
    is refused."""
    rt = build_runtime(gates, buffer_limit=4)
    peer = connect(rt)
    await peer.hello(features=[f for f in ALL_FEATURES if f != "ack"])
    job_id = (await peer.submit("chatty", {"n": 10}))["job_id"]
    await peer.until_terminal(job_id)  # all sent: the cap may evict all but the newest 4
    await peer.drop()
    _, refused = await _resume(rt, peer, last_seq=0)
    assert refused["payload"]["code"] == "RESUME_WINDOW_EXPIRED"
    assert refused["payload"]["details"]["first_available_seq"] == 8
    await rt.aclose()


async def test_events_never_sent_are_kept_past_the_cap(gates: Gates) -> None:
    """§6.3, §13.2: events emitted while detached are never evicted, whatever the cap: a
    resume from 0 replays every one of them (the cap once evicted them, issue #13)."""
    rt = build_runtime(gates, buffer_limit=4)
    peer = connect(rt)
    await peer.hello()
    job_id = (await peer.submit("chatty", {"n": 10, "gate": "g"}))["job_id"]
    await peer.until(lambda f: f.get("event_seq") == 5)
    await peer.drop()
    gates["g"].set()
    watcher = connect(rt)
    await watcher.hello()
    await watcher.request("job.subscribe", {"job_id": job_id})
    await watcher.until_terminal(job_id)  # the job finished while the session was detached
    resumed, welcome = await _resume(rt, peer)
    assert welcome["type"] == "session.welcome"
    frames = await resumed.until_terminal(job_id)
    seqs = [f["event_seq"] for f in frames if "event_seq" in f]
    assert seqs == list(range(6, 12))  # 6 events never sent, past a cap of 4
    await rt.aclose()


async def test_unknown_session_cannot_be_resumed(rt: Runtime) -> None:
    """§6.3: a session the runtime does not hold is RESUME_WINDOW_EXPIRED."""
    peer = connect(rt)
    rid = await peer.send(
        "session.resume", {"session_id": "sess_gone", "resume_token": "rt_x", "last_event_seq": 0}
    )
    error = await peer.expect("session.error")
    assert (error["payload"]["code"], error["payload"]["request_id"]) == (
        "RESUME_WINDOW_EXPIRED",
        rid,
    )
    await peer.hello()  # the connection is still usable


async def test_resume_on_a_new_connection_supersedes_the_old_one(rt: Runtime) -> None:
    """§6.3: one session streams through one connection; the newest resume wins."""
    old = connect(rt)
    await old.hello()
    new, welcome = await _resume(rt, old)
    assert welcome["type"] == "session.welcome"
    await old.task  # the runtime closed the superseded connection
    accepted = await new.submit("echo", 1)
    assert (await new.until_terminal(accepted["job_id"]))[-1]["event_seq"] == 1


async def test_silent_client_is_pinged_then_heartbeat_lost(gates: Gates) -> None:
    """§6.4: an idle runtime pings; two silent intervals → HEARTBEAT_LOST and the transport
    closes, but the session and its jobs live on for resume."""
    rt = build_runtime(gates, heartbeat_interval_sec=0.05)
    peer = connect(rt)
    await peer.hello()
    job_id = (await peer.submit("waiter", "hb"))["job_id"]
    frames = await peer.until(lambda f: f["type"] == "session.error")
    assert "session.ping" in [f["type"] for f in frames]
    ping = next(f for f in frames if f["type"] == "session.ping")
    assert ping["payload"]["nonce"] and "event_seq" not in ping
    assert frames[-1]["payload"]["code"] == "HEARTBEAT_LOST"
    assert frames[-1]["payload"]["retryable"] is True
    await peer.task
    gates["hb"].set()
    resumed, welcome = await _resume(rt, peer)
    assert welcome["type"] == "session.welcome"
    result = (await resumed.until_terminal(job_id))[-1]
    assert result["payload"]["result"] == "done"
    await rt.aclose()


async def test_heartbeats_stay_off_unless_negotiated(gates: Gates) -> None:
    """§6.4: without the heartbeat feature the runtime never pings or drops for silence."""
    rt = build_runtime(gates, heartbeat_interval_sec=0.01)
    peer = connect(rt)
    await peer.hello(features=["ack"])
    assert rt.core.sessions[peer.session_id or ""].next_deadline() is None
    await rt.aclose()
