"""Job listing (§6.6) and subscription (§7.6, §7.7)."""

from __future__ import annotations

from typing import Any

from arcp.runtime import Runtime
from tests.runtime.conftest import Gates
from tests.runtime.wire import Peer, connect


async def _list(peer: Peer, **payload: Any) -> dict[str, Any]:
    reply = await peer.request("session.list_jobs", payload)
    assert reply["type"] == "session.jobs", reply
    return reply["payload"]


async def test_list_jobs_describes_the_principals_jobs(rt: Runtime, gates: Gates) -> None:
    """§6.6: entries carry id, agent@version, status, lease, parent, times, trace, last seq."""
    peer = connect(rt)
    await peer.hello()
    done = await peer.submit("chatty", {"n": 2}, lease_request={"net.fetch": ["https://x/**"]})
    await peer.until_terminal(done["job_id"])
    running = await peer.submit("waiter", "w")
    await peer.expect("job.event")
    page = await _list(peer)
    assert page["next_cursor"] is None
    first, second = page["jobs"]
    assert first == {
        "job_id": done["job_id"],
        "agent": "chatty@1.0.0",
        "status": "success",
        "lease": {"net.fetch": ["https://x/**"]},
        "parent_job_id": None,
        "created_at": done["payload"]["accepted_at"],
        "submitted_at": done["payload"]["accepted_at"],
        "trace_id": done["trace_id"],
        "last_event_seq": 3,
    }
    assert (second["job_id"], second["status"], second["last_event_seq"]) == (
        running["job_id"],
        "running",
        4,
    )
    assert [j["job_id"] for j in (await _list(peer, filter={"status": ["running"]}))["jobs"]] == [
        running["job_id"]
    ]
    by_agent = await _list(peer, filter={"agent": "chatty@1.0.0"})
    assert [j["job_id"] for j in by_agent["jobs"]] == [done["job_id"]]
    assert (await _list(peer, filter={"agent": "waiter"}))["jobs"][0]["job_id"] == running["job_id"]
    later = await _list(peer, filter={"created_after": "2999-01-01T00:00:00+00:00"})
    assert later["jobs"] == []
    gates["w"].set()


async def test_list_jobs_pages_with_an_opaque_cursor(rt: Runtime) -> None:
    """§6.6: limit bounds a page; next_cursor continues after it and is null at the end."""
    peer = connect(rt)
    await peer.hello()
    ids = [(await peer.submit("echo", i))["job_id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await _list(peer, limit=2, cursor=cursor)
        seen += [j["job_id"] for j in page["jobs"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert pages == 3


async def test_list_jobs_never_shows_another_principals_jobs(rt: Runtime) -> None:
    """§6.6: listing must not leak job existence across principals."""
    alice, bob = connect(rt), connect(rt)
    await alice.hello(token="t")
    await bob.hello(token="tb")
    await alice.submit("echo", 1)
    assert (await _list(bob))["jobs"] == []
    other_alice = connect(rt)
    await other_alice.hello(token="t2")
    assert len((await _list(other_alice))["jobs"]) == 1


async def test_subscribe_with_history_replays_then_streams_live(rt: Runtime, gates: Gates) -> None:
    """§7.6, §13.3: job.subscribed comes first (subscribed_from = the job's origin seq where
    live delivery starts); history after from_event_seq is replayed, re-stamped into the
    subscriber's own seq space, then live events, then the terminal message."""
    owner, watcher = connect(rt), connect(rt)
    await owner.hello(token="t")
    await watcher.hello(token="t2")
    await watcher.submit("echo", "warm-up")  # the watcher's seq space is already in use
    await watcher.expect("job.result")
    job_id = (await owner.submit("chatty", {"n": 6, "gate": "go"}))["job_id"]
    origin = [await owner.expect("job.event") for _ in range(3)]
    assert [f["event_seq"] for f in origin] == [1, 2, 3]
    subscribed = await watcher.request(
        "job.subscribe", {"job_id": job_id, "from_event_seq": 1, "history": True}
    )
    p = subscribed["payload"]
    assert subscribed["type"] == "job.subscribed"
    assert (p["job_id"], p["current_status"], p["agent"]) == (job_id, "running", "chatty@1.0.0")
    assert (p["subscribed_from"], p["replayed"], p["parent_job_id"]) == (3, True, None)
    assert p["trace_id"] == subscribed["trace_id"] == origin[0]["trace_id"]
    gates["go"].set()
    frames = await watcher.until_terminal(job_id)
    assert [f["event_seq"] for f in frames] == list(range(2, 2 + 6))
    bodies = [f["payload"]["body"]["message"] for f in frames[:-1]]
    assert bodies == [f"event {i}" for i in range(1, 6)]
    assert frames[-1]["payload"]["result"] == {"count": 6}
    owner_frames = await owner.until_terminal(job_id)
    assert owner_frames[-1]["event_seq"] == 7


async def test_subscribe_without_history_sees_only_live_events(rt: Runtime, gates: Gates) -> None:
    """§7.6: history defaults to false; subscribed_from is the job's latest origin seq."""
    owner, watcher = connect(rt), connect(rt)
    await owner.hello()
    await watcher.hello()
    job_id = (await owner.submit("waiter", "w"))["job_id"]
    await owner.expect("job.event")
    subscribed = await watcher.request("job.subscribe", {"job_id": job_id})
    assert (subscribed["payload"]["subscribed_from"], subscribed["payload"]["replayed"]) == (
        1,
        False,
    )
    gates["w"].set()
    frames = await watcher.until_terminal(job_id)
    assert [f["payload"].get("body", {}).get("message") for f in frames] == ["released", None]
    assert [f["event_seq"] for f in frames] == [1, 2]


async def test_subscribing_to_a_finished_job_delivers_its_end(rt: Runtime) -> None:
    """§7.6: a finished job replays its history (when asked) and its terminal message."""
    owner, watcher = connect(rt), connect(rt)
    await owner.hello()
    await watcher.hello()
    job_id = (await owner.submit("chatty", {"n": 2}))["job_id"]
    await owner.until_terminal(job_id)
    subscribed = await watcher.request("job.subscribe", {"job_id": job_id, "history": True})
    assert subscribed["payload"]["current_status"] == "success"
    frames = await watcher.until_terminal(job_id)
    assert [f["type"] for f in frames] == ["job.event", "job.event", "job.result"]
    quiet = connect(rt)
    await quiet.hello()
    await quiet.request("job.subscribe", {"job_id": job_id})
    assert [f["type"] for f in await quiet.until_terminal(job_id)] == ["job.result"]


async def test_other_principals_cannot_subscribe_or_learn_the_job_exists(rt: Runtime) -> None:
    """§7.6, §14: another principal gets JOB_NOT_FOUND, the same as for a missing job."""
    alice, bob = connect(rt), connect(rt)
    await alice.hello(token="t")
    await bob.hello(token="tb")
    job_id = (await alice.submit("forever"))["job_id"]
    refused = await bob.request("job.subscribe", {"job_id": job_id, "history": True})
    missing = await bob.request("job.subscribe", {"job_id": "job_missing"})
    assert refused["payload"]["code"] == missing["payload"]["code"] == "JOB_NOT_FOUND"
    assert refused["payload"]["message"] == missing["payload"]["message"]


async def test_subscribers_cannot_cancel(rt: Runtime) -> None:
    """§7.6, §7.7: subscription carries no cancel authority."""
    owner, watcher = connect(rt), connect(rt)
    await owner.hello()
    await watcher.hello()
    job_id = (await owner.submit("forever"))["job_id"]
    await watcher.request("job.subscribe", {"job_id": job_id})
    denied = await watcher.request("job.cancel", {"job_id": job_id})
    assert denied["payload"]["code"] == "PERMISSION_DENIED"


async def test_unsubscribe_stops_delivery(rt: Runtime, gates: Gates) -> None:
    """§7.6: after job.unsubscribe no more events of that job reach the session."""
    owner, watcher = connect(rt), connect(rt)
    await owner.hello()
    await watcher.hello()
    job_id = (await owner.submit("waiter", "w"))["job_id"]
    await watcher.request("job.subscribe", {"job_id": job_id})
    await watcher.send("job.unsubscribe", {"job_id": job_id}, job_id=job_id)
    gates["w"].set()
    await owner.until_terminal(job_id)
    # The next thing the watcher sees is the pong, not the job's events.
    await watcher.send("session.ping", {"nonce": "after"})
    assert (await watcher.recv())["type"] == "session.pong"
    again = await watcher.request("job.unsubscribe", {"job_id": job_id})
    assert again["payload"]["code"] == "JOB_NOT_FOUND"


async def test_subscriber_resume_replays_subscribed_events(rt: Runtime, gates: Gates) -> None:
    """§7.6, §6.3: events delivered through a subscription are part of the subscriber's
    session stream, so they survive a drop and come back on resume."""
    owner, watcher = connect(rt), connect(rt)
    await owner.hello()
    await watcher.hello()
    job_id = (await owner.submit("waiter", "w"))["job_id"]
    await watcher.request("job.subscribe", {"job_id": job_id})
    await watcher.drop()
    gates["w"].set()
    await owner.until_terminal(job_id)
    resumed = connect(rt)
    await resumed.send(
        "session.resume",
        {
            "session_id": watcher.session_id,
            "resume_token": watcher.resume_token,
            "last_event_seq": 0,
        },
    )
    await resumed.expect("session.welcome")
    frames = await resumed.until_terminal(job_id)
    assert [f["event_seq"] for f in frames] == [1, 2]
