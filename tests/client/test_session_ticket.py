"""Continuing a session from another client (§6.3, §7.4, §7.7): ``Client.session_ticket``,
``Client.resume`` and ``cancel_on_exit``, against the real runtime over memory transports."""

from __future__ import annotations

import asyncio

import pytest

from arcp.client import Client, SessionTicket
from arcp_gen.errors import JobCancelledError, PermissionDeniedError, ResumeWindowExpiredError
from tests.client.conftest import GATES, TOKEN, Dialer


async def test_a_resumed_session_may_cancel_the_job_it_submitted(dialer: Dialer) -> None:
    """§7.4 keeps cancel with the submitting session; a resumed continuation is that session."""
    async with Client.connect(dialer, token=TOKEN) as first:
        job = await first.submit("slow")
        ticket = first.session_ticket()
    assert ticket.job_ids == (job.job_id,)
    async with Client.connect(dialer, token=TOKEN) as stranger:
        with pytest.raises(PermissionDeniedError):
            await stranger.cancel(job.job_id)
    async with Client.resume(dialer, ticket) as again:
        assert again.session_id == ticket.session_id
        handle = again.job(job.job_id)
        assert handle is not None
        await handle.cancel("from another process")
        with pytest.raises(JobCancelledError):
            await handle.result()


async def test_resume_replays_what_the_session_missed(dialer: Dialer) -> None:
    """§6.3: events emitted while no client was attached are replayed, then live ones follow,
    gap-free (§8.3), and the handle gets the result."""
    GATES["g"] = asyncio.Event()
    async with Client.connect(dialer, token=TOKEN) as first:
        job = await first.submit("chatty", {"n": 6, "gate": "g", "pause_at": 3})
        ticket = first.session_ticket()
    async with Client.resume(dialer, ticket) as again:
        handle = again.job(job.job_id)
        assert handle is not None
        seqs: list[int] = []
        async for event in handle:
            seqs.append(event.event_seq)
            if len(seqs) == 4:
                GATES["g"].set()
        assert await handle.result() == {"count": 6}
    assert seqs == list(range(ticket.last_event_seq + 1, ticket.last_event_seq + 1 + len(seqs)))
    assert len(seqs) >= 6


async def test_a_ticket_is_good_for_one_resume(dialer: Dialer) -> None:
    """The token rotates on every welcome (§6.3): an old ticket is refused."""
    async with Client.connect(dialer, token=TOKEN) as first:
        await first.submit("slow")
        ticket = first.session_ticket()
    async with Client.resume(dialer, ticket) as again:
        newer = again.session_ticket()
    assert newer.resume_token != ticket.resume_token
    with pytest.raises(ResumeWindowExpiredError):
        await Client.resume(dialer, ticket, reconnect=False)
    async with Client.resume(dialer, newer) as third:
        assert third.session_id == ticket.session_id


async def test_cancel_on_exit_cancels_running_jobs(dialer: Dialer) -> None:
    async with Client.connect(dialer, token=TOKEN, cancel_on_exit=True) as client:
        job = await client.submit("slow")
    assert job.done
    with pytest.raises(JobCancelledError):
        await job.result()


async def test_by_default_jobs_keep_running_after_exit(dialer: Dialer) -> None:
    """§6.7: closing the session does not affect its jobs."""
    async with Client.connect(dialer, token=TOKEN) as client:
        job = await client.submit("slow")
    async with Client.connect(dialer, token=TOKEN) as other:
        sub = await other.subscribe(job.job_id, history=False)
        assert sub.status in ("pending", "running")


def test_a_ticket_keeps_its_token_out_of_repr_and_round_trips() -> None:
    ticket = SessionTicket("sess_1", "rt-secret-value", 7)
    assert "rt-secret-value" not in repr(ticket)
    assert SessionTicket.from_json(ticket.to_json()) == ticket
    for bad in (
        {},
        {"session_id": "s", "resume_token": "t", "last_event_seq": "7"},
        {"session_id": "s", "resume_token": "t", "last_event_seq": 1, "jobs": [{"x": 1}]},
        {"session_id": "s", "resume_token": "", "last_event_seq": 1},
    ):
        with pytest.raises(ValueError):
            SessionTicket.from_json(bad)
