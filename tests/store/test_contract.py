"""The store contract: what every :class:`~arcp.store.Store` must do, whatever holds the state.

Each test runs against every store kind through ``make_store`` (memory, SQLite, PostgreSQL).
A "restart" closes the store and opens a new store object over the same state, as a runtime
starting after a crash would (§6.3: a session stays resumable across it; §7: a job's record
and log survive it; §9.8.2: a pending revocation is retried after it).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcp.store import (
    Batch,
    MemoryStore,
    Snapshot,
    Store,
    StoredEvent,
    StoredJob,
    StoredJobEvent,
    StoredRevocation,
    StoredSession,
)
from tests.store.conftest import StoreFactory

Opener = Callable[[], Awaitable[Store]]


@pytest.fixture
async def open_store(make_store: StoreFactory) -> AsyncIterator[Opener]:
    """``await open_store()``: a new, opened store object over this test's state."""
    opened: list[Store] = []

    async def opener() -> Store:
        store = make_store()
        await store.open()
        opened.append(store)
        return store

    yield opener
    for store in reversed(opened):
        await store.close()


async def restart(store: Store, open_store: Opener) -> Store:
    """Close ``store`` and open the same state again, as a restarted runtime does."""
    await store.close()
    return await open_store()


def session(
    session_id: str = "sess_1", *, first_seq: int = 1, last_seq: int = 0, **changes: Any
) -> StoredSession:
    fields: dict[str, Any] = {
        "principal": "alice",
        "features": ["ack", "subscribe"],
        "token_digest": bytes(range(32)),
        "resume_window_sec": 600.0,
        "acked_seq": first_seq - 1,
        "detached_at": None,
        "subscriptions": [],
    }
    fields.update(changes)
    return StoredSession(session_id=session_id, first_seq=first_seq, last_seq=last_seq, **fields)


def event(seq: int, job_id: str = "job_1", *, payload: bytes | None = None) -> StoredEvent:
    return StoredEvent(
        seq=seq,
        job_id=job_id,
        origin_seq=seq,
        head=b'"type":"job.event","job_id":"' + job_id.encode() + b'"',
        payload=payload if payload is not None else b'{"n":%d}' % seq,
        gate=seq % 3,
    )


def job(job_id: str = "job_1", **changes: Any) -> StoredJob:
    fields: dict[str, Any] = {
        "principal": "alice",
        "agent": "echo@1",
        "lease": {"net.fetch": ["https://example.com/*"]},
        "lease_constraints": None,
        "trace_id": "0" * 32,
        "created_at": "2025-01-01T00:00:00Z",
        "input": {"text": "hi"},
        "max_runtime_sec": None,
        "origin_session_id": "sess_1",
        "accepted": {"job_id": job_id, "agent": "echo@1"},
        "fingerprint": b"\x00\xff" * 16,
        "idempotency_key": None,
        "status": "running",
        "finished_at": None,
        "parent_job_id": None,
        "children": [],
        "budget": None,
        "outcome": None,
        "first_origin_seq": 1,
        "last_origin_seq": 0,
    }
    fields.update(changes)
    return StoredJob(job_id=job_id, **fields)


def job_event(origin_seq: int, kind: int = 0) -> StoredJobEvent:
    return StoredJobEvent(
        origin_seq=origin_seq, kind=kind, payload=b'{"o":%d}' % origin_seq, gate=0
    )


def events_of(snapshot: Snapshot, session_id: str = "sess_1") -> list[int]:
    return [e.seq for e in snapshot.events.get(session_id, [])]


def canonical(snapshot: Snapshot) -> Snapshot:
    """``snapshot`` with sessions and revocations sorted: their order is not part of the contract."""
    return Snapshot(
        sessions=sorted(snapshot.sessions, key=lambda s: s.session_id),
        events=snapshot.events,
        jobs=snapshot.jobs,
        job_events=snapshot.job_events,
        revocations=sorted(snapshot.revocations, key=lambda r: r.credential_id),
    )


async def test_a_new_store_is_empty(open_store: Opener) -> None:
    store = await open_store()
    assert await store.load() == Snapshot()


async def test_a_session_and_its_events_come_back_byte_exact(open_store: Opener) -> None:
    """§6.3: after a restart a detached session resumes with exactly the frames it buffered."""
    store = await open_store()
    every_byte = bytes(range(256))
    held = session(first_seq=1, last_seq=3, detached_at=1_700_000_000.25, token_digest=every_byte)
    sent = [event(1), event(2, payload=every_byte), event(3, "job_2", payload=b"")]
    sent[0].head = b"\x00\x80\xfe"
    await store.commit(Batch(sessions={"sess_1": held}, events=[("sess_1", e) for e in sent]))
    for loaded in (await store.load(), await (await restart(store, open_store)).load()):
        assert loaded.sessions == [held]
        assert loaded.events == {"sess_1": sent}
        assert loaded.sessions[0].token_digest == every_byte


async def test_a_session_upsert_replaces_the_previous_record(open_store: Opener) -> None:
    """§6.3: detaching records when the resume window started; the latest record wins."""
    store = await open_store()
    await store.commit(Batch(sessions={"sess_1": session(last_seq=2)}))
    detached = session(last_seq=5, detached_at=42.5, subscriptions=["job_9"], features=[])
    await store.commit(Batch(sessions={"sess_1": detached}))
    store = await restart(store, open_store)
    assert (await store.load()).sessions == [detached]


async def test_an_ack_drops_only_the_older_events(open_store: Opener) -> None:
    """§6.5: ``session.ack`` frees events up to the acked seq; the rest stay, gap-free."""
    store = await open_store()
    await store.commit(
        Batch(
            sessions={"sess_1": session(last_seq=10)},
            events=[("sess_1", event(seq)) for seq in range(1, 11)],
        )
    )
    await store.commit(Batch(sessions={"sess_1": session(first_seq=7, last_seq=10)}))
    loaded = await (await restart(store, open_store)).load()
    assert events_of(loaded) == [7, 8, 9, 10]
    assert loaded.events["sess_1"] == [event(seq) for seq in range(7, 11)]


async def test_events_appended_and_trimmed_in_one_batch(open_store: Opener) -> None:
    """Appends come before trims: events below ``first_seq`` in the same batch are dropped."""
    store = await open_store()
    await store.commit(
        Batch(
            sessions={"sess_1": session(first_seq=4, last_seq=6)},
            events=[("sess_1", event(seq)) for seq in range(1, 7)],
        )
    )
    assert events_of(await store.load()) == [4, 5, 6]


async def test_an_event_with_a_known_seq_replaces_it(open_store: Opener) -> None:
    store = await open_store()
    await store.commit(
        Batch(sessions={"sess_1": session(last_seq=1)}, events=[("sess_1", event(1))])
    )
    again = event(1, payload=b'{"again":true}')
    await store.commit(Batch(events=[("sess_1", again)]))
    assert (await store.load()).events == {"sess_1": [again]}


async def test_events_of_an_unknown_session_are_not_loaded(open_store: Opener) -> None:
    store = await open_store()
    await store.commit(
        Batch(sessions={"sess_1": session()}, events=[("sess_1", event(1)), ("nobody", event(1))])
    )
    assert set((await store.load()).events) == {"sess_1"}


async def test_a_job_log_is_trimmed_below_first_origin_seq(open_store: Opener) -> None:
    """A job's own log (§7.6) keeps entries from ``first_origin_seq`` on."""
    store = await open_store()
    await store.commit(
        Batch(
            jobs={"job_1": job(last_origin_seq=5)},
            job_events=[("job_1", job_event(seq)) for seq in range(1, 6)],
        )
    )
    await store.commit(Batch(jobs={"job_1": job(first_origin_seq=4, last_origin_seq=5)}))
    loaded = await (await restart(store, open_store)).load()
    assert loaded.job_events == {"job_1": [job_event(4), job_event(5)]}


async def test_a_job_log_entry_with_a_known_origin_seq_is_ignored(open_store: Opener) -> None:
    """§7.6: an entry the submitting session could not see (a gated kind) shares the previous
    entry's origin seq; the entry held first stays, in one batch or across batches, so the
    event every session saw is never replaced (and a batch applied twice changes nothing)."""
    store = await open_store()
    gated = StoredJobEvent(2, 0, b'{"kind":"progress"}', 2)
    batch = Batch(
        jobs={"job_1": job(last_origin_seq=3)},
        job_events=[("job_1", job_event(1)), ("job_1", job_event(2)), ("job_1", gated)],
    )
    await store.commit(batch)
    again = [("job_1", gated), ("job_1", job_event(3))]
    await store.commit(Batch(jobs={"job_1": job(last_origin_seq=3)}, job_events=again))
    await store.commit(batch)
    loaded = await (await restart(store, open_store)).load()
    assert loaded.job_events == {"job_1": [job_event(1), job_event(2), job_event(3)]}


async def test_forgetting_a_session_removes_it_and_its_events(open_store: Opener) -> None:
    """A session whose resume window expired (§6.3) is gone with its buffer."""
    store = await open_store()
    await store.commit(
        Batch(
            sessions={"sess_1": session(last_seq=2), "sess_2": session("sess_2", last_seq=1)},
            events=[("sess_1", event(1)), ("sess_1", event(2)), ("sess_2", event(1))],
        )
    )
    await store.commit(Batch(forget_sessions={"sess_1", "never_seen"}))
    loaded = await (await restart(store, open_store)).load()
    assert [s.session_id for s in loaded.sessions] == ["sess_2"]
    assert loaded.events == {"sess_2": [event(1)]}


async def test_deletions_come_after_upserts_in_one_batch(open_store: Opener) -> None:
    store = await open_store()
    await store.commit(
        Batch(
            sessions={"sess_1": session()},
            events=[("sess_1", event(1))],
            jobs={"job_1": job()},
            job_events=[("job_1", job_event(1))],
            forget_sessions={"sess_1"},
            forget_jobs={"job_1"},
        )
    )
    assert await store.load() == Snapshot()


async def test_a_forgotten_session_id_starts_afresh(open_store: Opener) -> None:
    store = await open_store()
    await store.commit(Batch(sessions={"sess_1": session()}, events=[("sess_1", event(1))]))
    await store.commit(Batch(forget_sessions={"sess_1"}))
    await store.commit(Batch(sessions={"sess_1": session(first_seq=5, last_seq=4)}))
    loaded = await store.load()
    assert loaded.sessions == [session(first_seq=5, last_seq=4)]
    assert loaded.events == {}


async def test_forgetting_a_job_removes_it_and_its_log(open_store: Opener) -> None:
    store = await open_store()
    await store.commit(
        Batch(
            jobs={"job_1": job(), "job_2": job("job_2")},
            job_events=[("job_1", job_event(1)), ("job_2", job_event(1, kind=1))],
        )
    )
    await store.commit(Batch(forget_jobs={"job_2", "never_seen"}))
    loaded = await (await restart(store, open_store)).load()
    assert [j.job_id for j in loaded.jobs] == ["job_1"]
    assert loaded.job_events == {"job_1": [job_event(1)]}


async def test_a_finished_job_comes_back_whole(open_store: Opener) -> None:
    """§7: status, outcome, budget and lineage of a job survive a restart as committed."""
    store = await open_store()
    done = job(
        status="error",
        finished_at=1_700_000_123.5,
        outcome=(True, {"code": "BUDGET_EXHAUSTED", "message": "spent €5", "details": {"n": [1]}}),
        budget={"usd": 4.75, "tokens": 1000.0},
        lease_constraints={"expires_at": "2025-01-02T00:00:00Z"},
        max_runtime_sec=30.0,
        parent_job_id="job_0",
        children=["job_2", "job_3"],
        idempotency_key="key-1",
        input={"prompt": "héllo 世界 🎉", "nested": {"list": [1, 2.5, None, True, {"k": []}]}},
    )
    await store.commit(Batch(jobs={"job_1": done}))
    loaded = await (await restart(store, open_store)).load()
    assert loaded.jobs == [done]
    assert isinstance(loaded.jobs[0].outcome, tuple)


@pytest.mark.parametrize("value", [None, 0, "plain", [1, "two", None], {"a\u0000b": "c\u0000d"}])
async def test_any_json_input_is_kept(open_store: Opener, value: Any) -> None:
    """A job's input is whatever JSON the client sent, NUL characters included."""
    store = await open_store()
    await store.commit(Batch(jobs={"job_1": job(input=value)}))
    assert (await (await restart(store, open_store)).load()).jobs[0].input == value


async def test_a_job_upsert_replaces_the_previous_record(open_store: Opener) -> None:
    store = await open_store()
    await store.commit(Batch(jobs={"job_1": job()}))
    finished = job(status="success", finished_at=9.0, outcome=(False, {"result": "ok"}))
    await store.commit(Batch(jobs={"job_1": finished}))
    assert (await store.load()).jobs == [finished]


async def test_jobs_come_back_ordered_by_id(open_store: Opener) -> None:
    store = await open_store()
    await store.commit(Batch(jobs={jid: job(jid) for jid in ["job_b", "job_c", "job_a"]}))
    assert [j.job_id for j in (await store.load()).jobs] == ["job_a", "job_b", "job_c"]


async def test_the_store_does_not_judge_idempotency_keys(open_store: Opener) -> None:
    """§7.2: the runtime decides what a repeated key means; the store keeps every job."""
    store = await open_store()
    await store.commit(
        Batch(
            jobs={
                "job_1": job("job_1", idempotency_key="same"),
                "job_2": job("job_2", idempotency_key="same"),
            }
        )
    )
    assert [j.job_id for j in (await store.load()).jobs] == ["job_1", "job_2"]


async def test_a_key_passes_to_a_new_job_in_the_batch_forgetting_the_old(
    open_store: Opener,
) -> None:
    """§7.2: once an expired job is forgotten, its key may name a new job, in the same batch.

    Upserts apply before deletions, so for a moment both jobs hold the key.
    """
    store = await open_store()
    await store.commit(Batch(jobs={"job_1": job("job_1", idempotency_key="same")}))
    await store.commit(
        Batch(jobs={"job_2": job("job_2", idempotency_key="same")}, forget_jobs={"job_1"})
    )
    assert [j.job_id for j in (await store.load()).jobs] == ["job_2"]


async def test_revocations_stay_until_done(open_store: Opener) -> None:
    """§9.8.2: a credential to revoke is kept (once) until the revocation succeeded."""
    store = await open_store()
    first = StoredRevocation("cred_1", "job_1")
    await store.commit(
        Batch(
            revocations_added=[first, StoredRevocation("cred_2", "job_2")],
            revocations_done=["cred_unknown"],
        )
    )
    await store.commit(Batch(revocations_added=[StoredRevocation("cred_1", "job_other")]))
    store = await restart(store, open_store)
    loaded = await store.load()
    assert sorted(loaded.revocations, key=lambda r: r.credential_id) == [
        first,
        StoredRevocation("cred_2", "job_2"),
    ]
    await store.commit(Batch(revocations_done=["cred_1", "cred_2"]))
    assert (await store.load()).revocations == []


async def test_a_revocation_added_and_done_in_one_batch_is_gone(open_store: Opener) -> None:
    store = await open_store()
    await store.commit(
        Batch(revocations_added=[StoredRevocation("cred_1", "job_1")], revocations_done=["cred_1"])
    )
    assert (await store.load()).revocations == []


async def test_many_batches_accumulate(open_store: Opener) -> None:
    """The runtime commits once per batch of frames; the batches add up."""
    store = await open_store()
    for n in range(1, 21):
        await store.commit(
            Batch(
                sessions={"sess_1": session(last_seq=n * 5)},
                events=[("sess_1", event(seq)) for seq in range(n * 5 - 4, n * 5 + 1)],
                jobs={f"job_{n:02}": job(f"job_{n:02}")},
                job_events=[(f"job_{n:02}", job_event(1))],
            )
        )
    loaded = await (await restart(store, open_store)).load()
    assert events_of(loaded) == list(range(1, 101))
    assert [j.job_id for j in loaded.jobs] == [f"job_{n:02}" for n in range(1, 21)]
    assert len(loaded.job_events) == 20


async def test_a_committed_batch_does_not_share_the_callers_objects(open_store: Opener) -> None:
    """The runtime reuses its objects after a commit; later changes must not leak in."""
    store = await open_store()
    held = session(subscriptions=["job_1"])
    await store.commit(Batch(sessions={"sess_1": held}))
    held.subscriptions.append("job_2")
    held.first_seq = 99
    assert (await store.load()).sessions == [session(subscriptions=["job_1"])]


async def test_a_job_s_input_and_submit_fields_are_written_once(open_store: Opener) -> None:
    """Later records of a held job update its state only (Batch, JOB_STATE_FIELDS): the
    input, lease and the rest fixed at submit stay as first written, also after a restart."""
    store = await open_store()
    first = job(input={"big": "a" * 1000}, lease={"x": ["1"]})
    await store.commit(Batch(jobs={"job_1": first}))
    later = job(
        input={"big": "b"},
        lease={"x": ["2"]},
        status="success",
        outcome=(False, {"final_status": "success"}),
        finished_at=5.0,
        last_origin_seq=3,
    )
    await store.commit(Batch(jobs={"job_1": later}))
    expected = dataclasses.replace(later, input=first.input, lease=first.lease)
    assert (await store.load()).jobs == [expected]
    store = await restart(store, open_store)
    await store.commit(Batch(jobs={"job_1": dataclasses.replace(later, input={"c": 1})}))
    assert (await store.load()).jobs == [expected]
    await store.commit(Batch(forget_jobs={"job_1"}))
    await store.commit(Batch(jobs={"job_1": later}))  # a forgotten job is a new one
    assert (await store.load()).jobs == [later]


async def test_close_twice_is_harmless(make_store: StoreFactory) -> None:
    store = make_store()
    await store.open()
    await store.close()
    await store.close()


@pytest.mark.parametrize(
    "poison",
    [
        pytest.param(Batch(jobs={"job_bad": job("job_bad", input=object())}), id="input"),
        pytest.param(Batch(events=[("sess_1", event(2**70))]), id="seq"),
    ],
)
async def test_a_failing_batch_changes_nothing(open_store: Opener, poison: Batch) -> None:
    """A commit is all or nothing: if it raises, the state is exactly as before the call."""
    store = await open_store()
    await store.commit(
        Batch(
            sessions={"sess_1": session(last_seq=1)},
            events=[("sess_1", event(1))],
            revocations_added=[StoredRevocation("cred_1", "job_1")],
        )
    )
    before = await store.load()
    bad = copy.copy(poison)
    bad.sessions = {"sess_1": session(first_seq=2, last_seq=3, detached_at=1.0)}
    bad.events = [("sess_1", event(3)), *poison.events]
    bad.jobs = {"job_ok": job("job_ok"), **poison.jobs}
    bad.forget_sessions = {"sess_1"}
    bad.revocations_done = ["cred_1"]
    try:
        await store.commit(bad)
    except Exception:
        assert await store.load() == before
        assert await (await restart(store, open_store)).load() == before


# --- every sequence of batches ends where the reference store ends ---------------------------

_SESSION_IDS = st.sampled_from(["sess_1", "sess_2", "sess_3"])
_JOB_IDS = st.sampled_from(["job_1", "job_2", "job_3"])
_SEQS = st.integers(min_value=0, max_value=12)
_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6)
_FLOATS = st.floats(min_value=0, max_value=2e9, allow_nan=False)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_OBJECTS = st.dictionaries(_TEXT, _JSON, max_size=3)


@st.composite
def _sessions(draw: st.DrawFn) -> StoredSession:
    first_seq = draw(_SEQS)
    return StoredSession(
        session_id=draw(_SESSION_IDS),
        principal=draw(_TEXT),
        features=draw(st.lists(_TEXT, max_size=3)),
        token_digest=draw(st.binary(max_size=32)),
        resume_window_sec=draw(_FLOATS),
        first_seq=first_seq,
        last_seq=first_seq + draw(st.integers(-1, 5)),
        acked_seq=first_seq - 1,
        detached_at=draw(st.none() | _FLOATS),
        subscriptions=draw(st.lists(_JOB_IDS, max_size=2)),
    )


@st.composite
def _jobs(draw: st.DrawFn) -> StoredJob:
    first_origin_seq = draw(_SEQS)
    return StoredJob(
        job_id=draw(_JOB_IDS),
        principal=draw(_TEXT),
        agent=draw(_TEXT),
        lease=draw(_OBJECTS),
        lease_constraints=draw(st.none() | _OBJECTS),
        trace_id=draw(_TEXT),
        created_at=draw(_TEXT),
        input=draw(_JSON),
        max_runtime_sec=draw(st.none() | _FLOATS),
        origin_session_id=draw(_SESSION_IDS),
        accepted=draw(_OBJECTS),
        fingerprint=draw(st.binary(max_size=32)),
        idempotency_key=draw(st.none() | _TEXT),
        status=draw(st.sampled_from(["pending", "running", "success", "error", "cancelled"])),
        finished_at=draw(st.none() | _FLOATS),
        parent_job_id=draw(st.none() | _JOB_IDS),
        children=draw(st.lists(_JOB_IDS, max_size=2)),
        budget=draw(st.none() | st.dictionaries(_TEXT, _FLOATS, max_size=2)),
        outcome=draw(st.none() | st.tuples(st.booleans(), _OBJECTS)),
        first_origin_seq=first_origin_seq,
        last_origin_seq=first_origin_seq + draw(st.integers(-1, 5)),
    )


_EVENTS = st.builds(
    StoredEvent,
    seq=_SEQS,
    job_id=_JOB_IDS,
    origin_seq=_SEQS,
    head=st.binary(max_size=8),
    payload=st.binary(max_size=8),
    gate=st.integers(0, 2),
)
_JOB_EVENTS = st.builds(
    StoredJobEvent,
    origin_seq=_SEQS,
    kind=st.integers(0, 2),
    payload=st.binary(max_size=8),
    gate=st.integers(0, 2),
)
_CREDENTIALS = st.sampled_from(["cred_1", "cred_2", "cred_3"])
_BATCHES = st.builds(
    Batch,
    sessions=st.lists(_sessions(), max_size=2).map(lambda ss: {s.session_id: s for s in ss}),
    events=st.lists(st.tuples(_SESSION_IDS, _EVENTS), max_size=6),
    jobs=st.lists(_jobs(), max_size=2).map(lambda js: {j.job_id: j for j in js}),
    job_events=st.lists(st.tuples(_JOB_IDS, _JOB_EVENTS), max_size=4),
    forget_sessions=st.sets(_SESSION_IDS, max_size=1),
    forget_jobs=st.sets(_JOB_IDS, max_size=1),
    revocations_added=st.lists(st.builds(StoredRevocation, _CREDENTIALS, _JOB_IDS), max_size=2),
    revocations_done=st.lists(_CREDENTIALS, max_size=1),
).map(
    # As the runtime does: a batch's events are of sessions the same batch writes, and its
    # log entries of jobs it writes.
    lambda b: dataclasses.replace(
        b,
        events=[e for e in b.events if e[0] in b.sessions],
        job_events=[e for e in b.job_events if e[0] in b.jobs],
    )
)


def test_any_sequence_of_batches_loads_like_the_reference(make_store: StoreFactory) -> None:
    """Whatever the batches, the store under test reads back what :class:`MemoryStore` does.

    The state carries over from one example to the next on both sides, so every example
    also starts from an arbitrary earlier state, and each ends with a restart.
    """
    reference = MemoryStore()

    async def run(batches: list[Batch]) -> None:
        store = make_store()
        await store.open()
        try:
            for batch in batches:
                await reference.commit(batch)
                await store.commit(batch)
            expected = canonical(await reference.load())
            assert canonical(await store.load()) == expected
        finally:
            await store.close()
        again = make_store()
        await again.open()
        try:
            assert canonical(await again.load()) == expected
        finally:
            await again.close()

    @settings(max_examples=30, deadline=None)
    @given(st.lists(_BATCHES, max_size=6))
    def check(batches: list[Batch]) -> None:
        asyncio.run(run(batches))

    check()


async def test_a_journal_batch_loads_like_the_same_records(open_store: Opener) -> None:
    """A batch from the journal holds its events as flat lists (``EventColumns``,
    ``JobEventColumns``): every store reads back the records the pairs stand for."""
    from arcp.store import EventColumns, JobEventColumns

    events = [event(seq, job_id) for seq in (1, 2, 3) for job_id in ("job_1", "job_2")]
    for n, e in enumerate(events, start=1):
        e.seq = n
    flat: list[Any] = []
    for e in events:
        flat.extend(("sess_1", e.seq, (e.origin_seq, e.head, e.payload, e.gate)))
    heads = {e.head: 0 for e in events} | {b'"type":"job.result","job_id":"job_1"': 1}
    log: list[Any] = []
    for o in (1, 2):
        log.extend(("job_1", (o, events[0].head, b'{"o":%d}' % o, 0)))
    log.extend(("job_1", (3, b'"type":"job.result","job_id":"job_1"', b"{}", 1)))
    batch = Batch(
        sessions={"sess_1": session(last_seq=6)},
        events=EventColumns(flat),
        jobs={"job_1": job(last_origin_seq=3)},
        job_events=JobEventColumns(log, heads),
    )
    assert list(batch.events) == [("sess_1", e) for e in events]
    store = await open_store()
    await store.commit(batch)
    loaded = await (await restart(store, open_store)).load()
    assert loaded.events == {"sess_1": events}
    assert list(loaded.job_events["job_1"]) == [
        StoredJobEvent(1, 0, b'{"o":1}', 0),
        StoredJobEvent(2, 0, b'{"o":2}', 0),
        StoredJobEvent(3, 1, b"{}", 1),
    ]


async def test_a_journal_batch_without_events_commits(open_store: Opener) -> None:
    """A batch from the journal whose flat lists are empty (state changes only)."""
    from arcp.store import EventColumns, JobEventColumns

    store = await open_store()
    batch = Batch(
        sessions={"sess_1": session()},
        events=EventColumns([]),
        jobs={"job_1": job()},
        job_events=JobEventColumns([], {}),
    )
    await store.commit(batch)
    loaded = await store.load()
    assert (loaded.events, [j.job_id for j in loaded.jobs]) == ({}, ["job_1"])
