"""The sans-IO runtime core with a fake clock: seq stamping, replay, resume, heartbeat,
ack and back-pressure (§6.3-§6.5, §8.3), plus a property test over whole interleavings."""

from __future__ import annotations

import time
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from arcp.codec import decode, encode
from arcp.ids import new_ulid
from arcp.protocol.agent_catalog import AgentCatalog
from arcp.protocol.event_frames import JobEventLog, event_gate
from arcp.protocol.limits import Limits
from arcp.protocol.replay_buffer import EventItem, ReplayBuffer
from arcp.protocol.runtime_actions import Authenticate, StartJob
from arcp.protocol.runtime_connection import RuntimeConnection
from arcp.protocol.runtime_core import RuntimeConfig, RuntimeCore
from arcp.protocol.runtime_session import RuntimeSession
from arcp_gen.features import Feature
from tests.protocol.stamps import stamps, wall_ms

ALL = frozenset(Feature)


def make_session(now: float = 0.0, **options: Any) -> RuntimeSession:
    options.setdefault("features", ALL)
    session = RuntimeSession(
        session_id="sess_1",
        principal="alice",
        welcome_base={"runtime": {"name": "t"}},
        now=now,
        stamps=stamps(),
        **options,
    )
    session.welcome()
    return session


def frames(session: RuntimeSession, now: float = 0.0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for data in session.drain(now):
        decode(data)  # every frame we build is valid under the schema
        out.append(orjson.loads(data))
    return out


def event(log: JobEventLog, session: RuntimeSession, n: int, gate: int = 0) -> int:
    payload = orjson.dumps(
        {
            "kind": "log",
            "ts": "2026-01-01T00:00:00.000Z",
            "body": {"level": "info", "message": str(n)},
        }
    )
    item = log.event_item(session.next_seq, payload, gate)
    return session.push_event(item, log)


def test_seq_starts_at_one_and_control_frames_carry_none() -> None:
    """§8.3, §6.4: events are numbered 1, 2, ...; welcome/pong/errors never get a seq."""
    session = make_session()
    log = JobEventLog("job_1", "a" * 32, 100)
    event(log, session, 0)
    session.ping("n1")
    event(log, session, 1)
    out = frames(session)
    assert [f["type"] for f in out] == ["session.welcome", "job.event", "session.pong", "job.event"]
    assert [f.get("event_seq") for f in out] == [None, 1, None, 2]
    assert out[1]["job_id"] == "job_1" and out[1]["session_id"] == "sess_1"


def test_replay_buffer_frees_on_ack_and_evicts_only_at_the_cap() -> None:
    """§6.5: acked entries are freed; the hard cap evicts the oldest when forced."""
    buffer = ReplayBuffer(limit=3)
    buffer.floor = 10  # the client has had every entry: eviction allowed
    item = (0, b"", b"{}", 0)
    assert [buffer.append(item) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert (buffer.first_seq, buffer.last_seq) == (3, 5)
    assert not buffer.covers(1) and buffer.covers(2) and buffer.covers(5) and not buffer.covers(6)
    assert buffer.free_through(3) == 1
    assert list(buffer.after(0)) == [4, 5]
    assert buffer.get(3) is None and buffer.get(4) is item


def test_replay_buffer_never_evicts_what_the_client_has_not_had() -> None:
    """§6.5, §13.2: the cap evicts only entries at or below the floor; past it, it grows."""
    buffer = ReplayBuffer(limit=3)
    item = (0, b"", b"{}", 0)
    for _ in range(5):
        buffer.append(item)
    assert (buffer.first_seq, buffer.last_seq, len(buffer)) == (1, 5, 5)
    buffer.floor = 4
    buffer.append(item)
    assert (buffer.first_seq, len(buffer)) == (2, 5)


def test_resume_rotates_the_token_and_replays_after_last_seq() -> None:
    """§6.3: a good token and covered seq → fresh welcome + replay; the token is stored hashed."""
    session = make_session()
    token = frames(session)[0]["payload"]["resume_token"]
    stored = {name: getattr(session, name) for name in RuntimeSession.__slots__}
    assert token.encode() not in repr(stored).encode()
    log = JobEventLog("job_1", "a" * 32, 100)
    for n in range(4):
        event(log, session, n)
    frames(session)
    session.detach(now=1.0)
    event(log, session, 4)  # buffered while detached
    assert not session.outbox
    assert session.resume("rt_wrong", 2, now=2.0) is not None
    assert session.resume(token, 2, now=2.0) is None
    out = frames(session)
    assert out[0]["type"] == "session.welcome"
    assert out[0]["payload"]["resume_token"] != token
    assert [f["event_seq"] for f in out[1:]] == [3, 4, 5]
    session.received(now=2.5)  # the client speaks: it has the new token
    assert session.resume(token, 0, now=3.0) is not None  # the old token no longer works


def test_resume_after_the_window_is_refused() -> None:
    """§6.3: a session detached longer than the resume window cannot be resumed."""
    session = make_session(resume_window_sec=10)
    token = frames(session)[0]["payload"]["resume_token"]
    session.detach(now=0.0)
    err = session.resume(token, 0, now=11.0)
    assert err is not None and err.code == "RESUME_WINDOW_EXPIRED"


def test_heartbeat_pings_when_idle_and_gives_up_after_two_silent_intervals() -> None:
    """§6.4: nothing sent for one interval → ping; nothing received for two → HEARTBEAT_LOST."""
    session = make_session(heartbeat_interval_sec=10)
    frames(session, now=0.0)
    assert session.next_deadline() == 10.0
    session.on_deadline(9.9)
    assert frames(session, now=9.9) == []
    session.received(5.0)
    session.on_deadline(10.0)
    (ping,) = frames(session, now=10.0)
    assert ping["type"] == "session.ping" and ping["payload"]["nonce"]
    assert session.next_deadline() == 20.0
    session.on_deadline(20.0)
    assert [f["type"] for f in frames(session, now=20.0)] == ["session.ping"]
    session.on_deadline(25.0)
    (lost,) = frames(session, now=25.0)
    assert lost["payload"]["code"] == "HEARTBEAT_LOST"
    assert session.closing and session.next_deadline() is None


def test_heartbeat_disabled_without_the_feature() -> None:
    """§6.4: heartbeats only run when negotiated."""
    session = make_session(features=frozenset({Feature.ACK}))
    assert session.next_deadline() is None


def test_back_pressure_fires_once_per_crossing_and_rearms_on_ack() -> None:
    """§6.5: crossing the lag threshold adds one back_pressure status on that job."""
    session = make_session(back_pressure_threshold=3)
    log = JobEventLog("job_1", "a" * 32, 100)
    for n in range(6):
        event(log, session, n)
    out = [f for f in frames(session) if f["type"] == "job.event"]
    phases = [f["payload"]["body"].get("phase") for f in out]
    assert phases.count("back_pressure") == 1
    assert phases.index("back_pressure") == 3  # right after seq 3 crossed the threshold
    session.ack(session.buffer.last_seq)
    assert len(session.buffer) == 0
    for n in range(3):
        event(log, session, n)
    assert any(f["payload"]["body"].get("phase") == "back_pressure" for f in frames(session)[1:])


def test_gated_events_are_skipped_where_not_negotiated() -> None:
    """§8.2.1: a session without `progress` accepts no progress-gated events."""
    session = make_session(features=frozenset())
    assert not session.accepts(event_gate("progress"))
    assert session.accepts(0)


def test_close_acknowledges_and_requests_transport_close() -> None:
    """§6.7: session.close → session.closed, then the connection closes."""
    session = make_session()
    frames(session)
    session.close()
    assert [f["type"] for f in frames(session)] == ["session.closed"]
    assert session.closing


# -- the whole core, driven by frames, with a property over interleavings ---------------------


class Client:
    """A fake client: a connection into the core plus everything it received."""

    def __init__(self, core: RuntimeCore[str], now: float) -> None:
        self.core = core
        self.conn = RuntimeConnection(stamps=self.core.stamps)
        self.seqs: list[int] = []
        # per job, one list per stream: a subscription that replays history starts a new one
        self.streams: dict[str, list[list[int]]] = {}
        self.session_id = ""
        self.token = ""
        self.send(
            "session.hello",
            {"client": {"name": "c"}, "capabilities": {"features": [f.value for f in ALL]}},
            now,
        )

    def send(self, type_: str, payload: dict[str, Any], now: float) -> list[Any]:
        frame = encode({"arcp": "1.1", "id": new_ulid(), "type": type_, "payload": payload})
        actions = self.core.on_frame(self.conn, frame, now, time.time())
        for action in actions:
            if isinstance(action, Authenticate):
                self.core.on_authenticated(action.connection, action.hello, "alice", now)
        self.pump(now)
        return actions

    def pump(self, now: float) -> None:
        for data in self.conn.take(now):
            frame = orjson.loads(data)
            if frame["type"] == "session.welcome":
                self.session_id = frame["session_id"]
                self.token = frame["payload"]["resume_token"]
            if frame["type"] == "job.subscribed" and frame["payload"]["replayed"]:
                self.streams.setdefault(frame["payload"]["job_id"], []).append([])
            seq = frame.get("event_seq")
            if seq is not None:
                self.seqs.append(seq)
                payload = frame["payload"]
                if frame["type"] == "job.event" and payload["kind"] == "log":
                    streams = self.streams.setdefault(frame["job_id"], [[]])
                    streams[-1].append(int(payload["body"]["message"]))

    def drop(self, now: float) -> None:
        self.core.on_disconnect(self.conn, now)
        self.conn = RuntimeConnection(stamps=self.core.stamps)

    def resume(self, now: float) -> None:
        last = self.seqs[-1] if self.seqs else 0
        self.send(
            "session.resume",
            {"session_id": self.session_id, "resume_token": self.token, "last_event_seq": last},
            now,
        )


operations = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.integers(0, 2)),
        st.tuples(st.just("emit"), st.integers(0, 20)),
        st.tuples(st.just("subscribe"), st.integers(0, 2), st.integers(0, 20), st.booleans()),
        st.tuples(st.just("ack"), st.integers(0, 2)),
        st.tuples(st.just("pump"), st.integers(0, 2)),
        st.tuples(st.just("drop"), st.integers(0, 2)),
        st.tuples(st.just("finish"), st.integers(0, 20)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_any_interleaving_keeps_every_session_gap_free_and_jobs_in_order(
    ops: list[tuple[Any, ...]],
) -> None:
    """§8.3, §6.3, §7.6: whatever mix of jobs, subscriptions, acks, drops and resumes, each
    session sees event_seq 1, 2, 3, ... with no gap or repeat, and each job's events arrive
    in the order the job emitted them."""
    catalog: AgentCatalog[str] = AgentCatalog()
    catalog.add("work", "1.0.0", "handler")
    core: RuntimeCore[str] = RuntimeCore(
        RuntimeConfig(back_pressure_threshold=7), catalog, clock=wall_ms
    )
    now = 0.0
    clients = [Client(core, now) for _ in range(3)]
    online = [True, True, True]
    jobs: list[Any] = []
    owner: dict[str, int] = {}
    counters: dict[str, int] = {}
    for op in ops:
        now += 1.0
        kind = op[0]
        if kind == "submit":
            c = op[1]
            if online[c]:
                for action in clients[c].send("job.submit", {"agent": "work"}, now):
                    if isinstance(action, StartJob):
                        jobs.append(action.job)
                        owner[action.job.job_id] = c
                        core.mark_running(action.job)
        elif kind in ("emit", "finish") and jobs:
            job = jobs[op[1] % len(jobs)]
            if kind == "emit":
                n = counters.get(job.job_id, 0)
                if core.event(job, "log", {"level": "info", "message": str(n)}):
                    counters[job.job_id] = n + 1
            else:
                core.succeed(job, {"result": None}, now, time.time())
        elif kind == "subscribe" and jobs:
            c = op[1]
            if online[c]:
                job = jobs[op[2] % len(jobs)]
                clients[c].send(
                    "job.subscribe",
                    {"job_id": job.job_id, "history": op[3], "from_event_seq": 0},
                    now,
                )
        elif kind == "ack":
            c = op[1]
            if online[c] and clients[c].seqs:
                clients[c].send("session.ack", {"last_processed_seq": clients[c].seqs[-1]}, now)
        elif kind == "pump":
            if online[op[1]]:
                clients[op[1]].pump(now)
        elif kind == "drop":
            c = op[1]
            if online[c]:
                clients[c].drop(now)
            else:
                clients[c].resume(now)
            online[c] = not online[c]
    for c, client in enumerate(clients):
        if not online[c]:
            client.resume(now)
        client.pump(now)
        assert client.seqs == list(range(1, len(client.seqs) + 1))
        for streams in client.streams.values():
            for values in streams:
                assert values == sorted(set(values))
    for job_id, count in counters.items():  # the submitting session lost nothing
        assert clients[owner[job_id]].streams.get(job_id, [[]])[0] == list(range(count))


def test_sweep_forgets_expired_sessions_and_old_finished_jobs() -> None:
    """§6.3, §6.6: a detached session lives for the resume window, finished jobs stay listed
    for it too; after that both are forgotten while a running job keeps going."""
    catalog: AgentCatalog[str] = AgentCatalog()
    catalog.add("work", "1.0.0", "handler")
    core: RuntimeCore[str] = RuntimeCore(
        RuntimeConfig(resume_window_sec=100), catalog, clock=wall_ms
    )
    client = Client(core, 0.0)
    (start_a,) = client.send("job.submit", {"agent": "work"}, 0.0)
    (start_b,) = client.send("job.submit", {"agent": "work"}, 0.0)
    core.succeed(start_a.job, {"result": 1}, 10.0, time.time())
    client.drop(20.0)
    core.sweep(100.0)
    assert client.session_id in core.sessions and len(core.jobs) == 2
    core.sweep(121.0)
    assert client.session_id not in core.sessions
    assert list(core.jobs.jobs) == [start_b.job.job_id]
    assert start_b.job.origin is None
    assert core.event(start_b.job, "log", {"level": "info", "message": "still running"})
    assert start_b.job.log.last_origin_seq == 1  # the job counts on by itself


def test_attached_sessions_per_principal_follow_detach_and_resume() -> None:
    """§14 cap on attached sessions: the per-principal count (read by every hello instead of
    scanning every session) follows hello, drop, resume, a superseding resume and expiry;
    the cap refuses a third session and a drop frees a place, which a resume takes back."""
    catalog: AgentCatalog[str] = AgentCatalog()
    config = RuntimeConfig(resume_window_sec=100, limits=Limits(max_sessions_per_principal=2))
    core: RuntimeCore[str] = RuntimeCore(config, catalog, clock=wall_ms)
    count = core.attached_by_principal
    first, second = Client(core, 0.0), Client(core, 0.0)
    assert count["alice"] == 2
    refused = Client(core, 0.0)
    assert refused.session_id == "" and refused.conn.closing and count["alice"] == 2
    first.drop(1.0)
    assert count["alice"] == 1
    first.resume(2.0)
    assert core.sessions[first.session_id].attached and count["alice"] == 2
    superseded = first.conn
    first.conn = RuntimeConnection(stamps=core.stamps)
    first.resume(3.0)  # a second connection takes the session over: still one attached
    core.on_disconnect(superseded, 3.0)
    assert count["alice"] == 2
    second.drop(4.0)
    third = Client(core, 5.0)
    assert third.session_id and count["alice"] == 2
    assert Client(core, 5.0).session_id == ""
    first.drop(6.0)
    third.drop(6.0)
    core.sweep(200.0)  # every detached session expires: nothing is counted twice
    assert count["alice"] == 0 and not core.sessions
    assert Client(core, 201.0).session_id and count["alice"] == 1


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 50),
    st.lists(st.one_of(st.just(-1), st.just(-2), st.integers(0, 10_000)), max_size=300),
)
def test_replay_buffer_matches_a_plain_model(limit: int, ops: list[int]) -> None:
    """§6.5, §8.3, §13.2: appends get consecutive seqs; acks free a prefix; the cap keeps the
    newest `limit` entries, evicting only entries at or below the floor (sent, -2);
    lookups agree with a dictionary model at every step."""
    buffer = ReplayBuffer(limit)
    model: dict[int, EventItem] = {}
    last = 0
    for op in ops:
        if op == -2:
            buffer.floor = last
        elif op == -1:
            seq = max(last - 3, 0)
            buffer.free_through(seq)
            model = {k: v for k, v in model.items() if k > seq}
        else:
            item: EventItem = (op, b"", b"{}", 0)
            last += 1
            assert buffer.append(item) == last
            model[last] = item
            if len(model) > limit and min(model) <= buffer.floor:
                del model[min(model)]
        assert buffer.last_seq == last
        assert len(buffer) == len(model)
        assert list(buffer.after(0)) == sorted(model)
        for seq in range(max(0, min(model, default=last) - 2), last + 2):
            assert buffer.get(seq) == model.get(seq)


def test_replay_buffer_stays_consistent_across_compactions() -> None:
    """§6.5: long-running sessions evict and compact many times without losing order."""
    buffer = ReplayBuffer(limit=10)
    buffer.floor = 1 << 40
    for n in range(1, 20_001):
        assert buffer.append((n, b"", b"{}", 0)) == n
        if n % 7 == 0:
            buffer.free_through(n - 2)
    assert (buffer.first_seq, buffer.last_seq) == (
        19_998,
        20_000,
    )  # the last ack (at 19 999) freed through 19 997
    assert [buffer.get(s) for s in buffer.after(0)] == [
        (s, b"", b"{}", 0) for s in range(19_998, 20_001)
    ]


def test_a_lost_welcome_leaves_the_presented_token_valid_until_the_client_speaks() -> None:
    """§6.3: the token rotates on every welcome, but a drop right after a resume loses the
    welcome that carries the new one; the token the client still holds must resume again
    (found by the fault-injection suite). Once a frame arrives on the new connection the
    client has the new token and the old one is refused."""
    session = make_session()
    first = frames(session)[0]["payload"]["resume_token"]
    session.detach(now=1.0)
    assert session.resume(first, 0, now=2.0) is None
    second = frames(session)[0]["payload"]["resume_token"]
    session.detach(now=3.0)  # the welcome with `second` never reached the client
    assert session.resume(first, 0, now=4.0) is None
    third = frames(session)[0]["payload"]["resume_token"]
    session.received(now=5.0)  # the client spoke on the new connection: it has `third`
    session.detach(now=6.0)
    assert session.resume(first, 0, now=7.0) is not None
    assert session.resume(second, 0, now=7.0) is not None
    assert session.resume(third, 0, now=7.0) is None
