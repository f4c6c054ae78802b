"""What a subscription replays (§7.6): one rule, used for local jobs and by cluster nodes
for jobs read from the shared database; and a runtime without a store records nothing."""

from __future__ import annotations

from arcp.protocol.event_frames import JobEventLog, event_gate, gate_mask
from arcp.protocol.job_lifecycle import JobLifecycle
from arcp.protocol.job_table import JobRecord, JobTable
from arcp.protocol.journal import NoJournal
from arcp.protocol.replay_buffer import EventItem
from arcp.protocol.runtime_session import RuntimeSession
from arcp.protocol.subscriptions import subscription_replay
from arcp_gen.features import Feature
from arcp_gen.models import JobSubscribePayload
from tests.protocol.stamps import stamps

STAMPS = stamps()


def _session(session_id: str, features: frozenset[Feature] = frozenset(Feature)) -> RuntimeSession:
    return RuntimeSession(
        session_id=session_id,
        principal="alice",
        features=features,
        welcome_base={},
        now=0.0,
        stamps=STAMPS,
    )


def _job(origin: RuntimeSession | None) -> tuple[JobRecord, list[EventItem]]:
    log = JobEventLog("job_1", "a" * 32, 100)
    job = JobRecord(
        job_id="job_1",
        principal="alice",
        agent="a@1",
        lease={},
        lease_constraints=None,
        trace_id="a" * 32,
        created_at="2026-01-01T00:00:00.000Z",
        input=None,
        max_runtime_sec=None,
        origin=origin,
        origin_session_id=origin.session_id if origin is not None else "sess_gone",
        log=log,
        accepted={},
        status="running",
    )
    items = [
        log.event_item(1, STAMPS.event_payload("log", {"level": "info", "message": "1"})),
        log.event_item(2, STAMPS.event_payload("progress", {"current": 1}), event_gate("progress")),
        log.event_item(3, STAMPS.event_payload("log", {"level": "info", "message": "3"})),
    ]
    return job, items


def _ask(history: bool, from_seq: int | None = None) -> JobSubscribePayload:
    return JobSubscribePayload(job_id="job_1", history=history, from_event_seq=from_seq)


def test_history_after_from_event_seq_filtered_by_the_subscriber_s_features() -> None:
    """§7.6: history replays the entries after ``from_event_seq``; a gated kind reaches
    only a session that negotiated its feature (§6.2)."""
    job, items = _job(None)
    plain = _session("sess_2", frozenset({Feature.SUBSCRIBE}))
    assert gate_mask(plain.features) == 0
    assert subscription_replay(plain, job, _ask(True), items, items[-1]) == [items[0], items[2]]
    everything = _session("sess_3")
    assert subscription_replay(everything, job, _ask(True, 1), items, items[-1]) == items[1:]
    assert subscription_replay(everything, job, _ask(False), items, items[-1]) == []


def test_a_live_job_already_streamed_gets_no_second_stream() -> None:
    origin = _session("sess_1")
    job, items = _job(origin)
    assert subscription_replay(origin, job, _ask(True), items, items[-1]) is None
    other = _session("sess_2")
    other.subscriptions.add("job_1")
    assert subscription_replay(other, job, _ask(True), items, items[-1]) is None


def test_an_ended_job_replays_at_least_its_terminal_message() -> None:
    """§7.6: a late subscriber to a finished job still learns how it ended."""
    origin = _session("sess_1")
    job, items = _job(origin)
    lifecycle = JobLifecycle(JobTable(), STAMPS, 100)
    lifecycle.jobs.add(job)
    assert lifecycle.succeed(job, {"result": 7}, 10.0, 1_700_000_000.0)
    terminal = job.log.items[-1]
    assert subscription_replay(origin, job, _ask(False), items, terminal) == [terminal]
    late = _session("sess_2")
    logged = list(job.log.items)
    assert subscription_replay(late, job, _ask(True, 3), logged, terminal) == [terminal]


def test_a_runtime_without_a_store_records_into_a_journal_that_keeps_nothing() -> None:
    """Durability is always present: without a store the journal is a no-op, not None."""
    session = _session("sess_1")
    assert isinstance(session.journal, NoJournal)
    session.welcome()
    session.push_event((1, b',"type":"job.event","job_id":"j","event_seq":', b"{}", 0))
    journal = session.journal
    assert not journal and not journal.take(0.0, 0.0)
