"""The change journal and the rebuild from a snapshot, sans-IO (§6.3, §7.3, §9.8.2, §14)."""

from __future__ import annotations

from collections.abc import Iterator

from arcp.protocol.event_frames import JobEventLog
from arcp.protocol.journal import Journal, NoJournal, job_id_of_head
from arcp.protocol.recovery import restore_sessions
from arcp.protocol.runtime_session import RuntimeSession, hash_resume_token
from arcp.store import MemoryStore, Snapshot, StoredEvent, StoredSession
from arcp_gen.features import Feature
from tests.protocol.stamps import stamps


def _session(journal: Journal | None = None) -> RuntimeSession:
    session = RuntimeSession(
        session_id="sess_1",
        principal="alice",
        features=[Feature.ACK],
        welcome_base={},
        now=0.0,
        stamps=stamps(),
    )
    session.journal = journal if journal is not None else NoJournal()
    return session


HEAD = b',"type":"job.event","trace_id":"t","job_id":"job_7","event_seq":'


def test_the_job_id_is_read_from_a_head() -> None:
    assert job_id_of_head(HEAD) == "job_7"


def test_a_batch_holds_each_event_once_with_the_session_state_at_take_time() -> None:
    """§6.5: the session record carries the buffer bounds as they are when the batch is
    taken, so events acknowledged in between are trimmed by the same commit."""
    journal = Journal()
    session = _session(journal)
    assert not journal.due
    session.welcome()
    assert journal.due  # the first change makes a commit due (a flag the adapter pulls)
    journal.due = False
    for n in range(5):
        session.push_event((n + 1, HEAD, b'{"n":%d}' % n, 0))
    session.drain(0.0)
    session.ack(3)
    batch = journal.take(0.0, 0.0)
    assert not journal.due  # once, for the first change
    assert [e.seq for _, e in batch.events] == [1, 2, 3, 4, 5]
    assert {e.job_id for _, e in batch.events} == {"job_7"}
    stored = batch.sessions["sess_1"]
    assert (stored.first_seq, stored.last_seq, stored.acked_seq) == (4, 5, 3)
    assert stored.token_digest == session.token_digest and len(stored.token_digest) == 32
    assert not journal and not journal.take(0.0, 0.0)


def test_a_secret_bearing_event_is_journaled_in_its_redacted_form() -> None:
    """§9.8.2, §14: the submitter receives the credential value; the store never does."""
    journal = Journal()
    session = _session(journal)
    full = (1, HEAD, b'{"credential_value":"sk-secret"}', 0)
    redacted = (1, HEAD, b'{"credential_id":"cred_1"}', 0)
    session.push_event(full, stored=redacted)
    (_, event), *_ = journal.take(0.0, 0.0).events
    assert event.payload == redacted[2]
    assert session.buffer.get(1) == full


async def test_sessions_come_back_detached_with_their_gap_free_tail() -> None:
    """§6.3: a session is rebuilt from its newest gap-free run of events; one past its
    resume window is not rebuilt at all."""
    token_digest = hash_resume_token("rt_x")
    kept = StoredSession("sess_1", "alice", ["ack", "unknown"], token_digest, 60, 1, 6, 0, 100.0)
    stale = StoredSession("sess_2", "alice", [], token_digest, 60, 1, 0, 0, 10.0)
    events = [StoredEvent(seq, "job_7", seq, HEAD, b"{}", 0) for seq in (1, 2, 4, 5, 6)]
    snapshot = Snapshot(sessions=[kept, stale], events={"sess_1": events})

    def make(
        session_id: str, principal: str, features: list[Feature], now: float
    ) -> RuntimeSession:
        return RuntimeSession(
            session_id=session_id,
            principal=principal,
            features=features,
            welcome_base={},
            now=now,
            stamps=stamps(),
            resume_window_sec=60,
        )

    (session,) = restore_sessions(snapshot, make, now=500.0, wall_now=130.0)
    assert session.session_id == "sess_1" and not session.attached
    assert session.features == frozenset({Feature.ACK})
    assert (session.buffer.first_seq, session.buffer.last_seq) == (4, 6)
    assert session.detached_since == 470.0  # detached 30 s before the restart
    assert session.token_matches("rt_x") and not session.token_matches("rt_y")
    assert session.resume("rt_x", 3, 500.0) is None
    assert session.resume("rt_x", 1, 500.0) is not None  # 2..3 are gone (§6.3)


async def test_a_memory_store_round_trips_a_journal_batch() -> None:
    journal = Journal()
    session = _session(journal)
    session.welcome()
    session.push_event((1, HEAD, b"{}", 0))
    store = MemoryStore()
    await store.commit(journal.take(0.0, 0.0))
    snapshot = await store.load()
    assert [s.session_id for s in snapshot.sessions] == ["sess_1"]
    assert [e.payload for e in snapshot.events["sess_1"]] == [b"{}"]


def test_a_restored_job_log_is_read_only_when_first_used() -> None:
    """§7.6: a restart restores every job's log, but only reads one when a subscriber asks
    for its history (or the job logs again); restored entries stay older than new ones."""
    read: list[int] = []

    def stored() -> Iterator[tuple[int, int, bytes, int]]:
        for seq in (1, 2):
            read.append(seq)
            yield seq, 0, b'{"n":%d}' % seq, 0

    log = JobEventLog("job_7", "t", 100)
    log.restore(stored())
    log.last_origin_seq = 2
    assert read == []
    log.terminal_item(3, b'{"ok":true}', error=False)
    assert read == [1, 2]
    assert [(seq, head == log.heads[0]) for seq, head, _, _ in log.items] == [
        (1, True),
        (2, True),
        (3, False),
    ]
    assert log.first_origin_seq == 1
