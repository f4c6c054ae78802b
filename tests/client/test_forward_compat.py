"""A 1.1 client against a later-minor runtime (wire-decisions: Forward compatibility).

A scripted runtime speaking "1.2" sends an event kind and an error code this build does not
know. The client delivers the event typed (``UnknownEvent``, kind and body as received,
``event_seq`` counted) and ends the job with a generic typed error (``UnknownCodeError``,
code, message and ``retryable`` as sent): never INVALID_REQUEST, never a resume.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest

from arcp.client import Client
from arcp.ids import new_ulid
from arcp_gen.errors import ARCPError, UnknownCodeError
from arcp_gen.messages import UnknownEvent
from arcp_gen.models import LogBody
from tests.client.test_client_scripted import TS, Peer, connected, shut


async def _send_v12(peer: Peer, type_: str, payload: dict[str, object], seq: int) -> None:
    frame = {
        "arcp": "1.2",
        "id": new_ulid(),
        "type": type_,
        "session_id": "sess_S",
        "job_id": "job_a",
        "event_seq": seq,
        "payload": payload,
    }
    await peer.end.send(orjson.dumps(frame))


async def _submitted(client: Client, peer: Peer) -> object:
    task = asyncio.create_task(client.submit("a"))
    request = await peer.expect("job.submit")
    await peer.accept(request, "job_a", correlate=True)
    return await task


async def _still_open(client: Client, peer: Peer) -> None:
    """The same session goes on: the next frame the peer gets is a new submit (``expect``
    fails on anything but acks and pings, e.g. a ``session.resume``)."""
    task = asyncio.create_task(client.submit("b"))
    request = await peer.expect("job.submit")
    assert request["session_id"] == "sess_S"
    await peer.accept(request, "job_b", correlate=True)
    await task
    await shut(client, peer)


async def test_unknown_kind_and_code_from_a_newer_minor_arrive_typed() -> None:
    """wire-decisions (Forward compatibility), §8.2, §12: a 1.2 kind and a 1.2 code."""
    client, peer = await connected()
    handle = await _submitted(client, peer)
    await _send_v12(
        peer,
        "job.event",
        {"kind": "checkpoint", "ts": TS, "body": {"checkpoint_id": "ck_1", "bytes": 2048}},
        1,
    )
    await _send_v12(
        peer,
        "job.event",
        {"kind": "log", "ts": TS, "body": {"level": "info", "message": "after"}},
        2,
    )
    await _send_v12(
        peer,
        "job.error",
        {
            "code": "QUOTA_EXCEEDED",
            "message": "the tenant's quota is used up",
            "retryable": True,
            "final_status": "error",
        },
        3,
    )
    events = [e async for e in handle]  # type: ignore[attr-defined]
    assert [e.event_seq for e in events] == [1, 2]
    unknown = events[0].payload
    assert type(unknown) is UnknownEvent
    assert unknown.kind == "checkpoint"
    assert unknown.body == {"checkpoint_id": "ck_1", "bytes": 2048}
    assert type(events[1].payload.body) is LogBody
    with pytest.raises(ARCPError) as info:
        await handle.result()  # type: ignore[attr-defined]
    err = info.value
    assert type(err) is UnknownCodeError
    assert (err.wire_code, err.message, err.retryable) == (
        "QUOTA_EXCEEDED",
        "the tenant's quota is used up",
        True,
    )
    await _still_open(client, peer)


async def test_unknown_code_in_a_session_error_fails_the_request_typed() -> None:
    """wire-decisions (Forward compatibility): a `session.error` with a later code fails the
    request it answers with that code, not with INVALID_REQUEST."""
    client, peer = await connected()
    task = asyncio.create_task(client.submit("a"))
    request = await peer.expect("job.submit")
    await peer.send(
        "session.error",
        {
            "code": "RATE_LIMITED",
            "message": "slow down",
            "retryable": True,
            "request_id": request["id"],
        },
        session_id="sess_S",
    )
    with pytest.raises(UnknownCodeError) as info:
        await task
    assert info.value.wire_code == "RATE_LIMITED"
    assert info.value.retryable is True
    await _still_open(client, peer)
