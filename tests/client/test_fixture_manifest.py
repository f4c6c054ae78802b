"""The fixtures manifest replayed against a live client (§5, §8.3, §12): a scripted runtime
feeds every runtime-to-client fixture of the job-scoped and response types to the real
``Client`` and checks what the client makes of it.

- ``job.event`` / ``job.result`` / ``job.error`` arrive for a job the client submitted.
  Accepted: the event reaches the job's stream as its kind / the job ends with it. Rejected:
  the frame never reaches the application, and a following valid terminal still ends the
  job (the session stays open; a dropped event keeps its ``event_seq``, §8.3).
- Accept-forward (a later minor's event kind or error code, wire-decisions: Forward
  compatibility): the event reaches the stream typed (``UnknownEvent``, or a ``tool_result``
  whose error keeps its code), the job or the submit fails with an ``UnknownCodeError``
  carrying the code as sent; no resume follows and the session stays open.
- ``job.accepted`` / ``session.error`` answer a submit (their ``request_id`` set to it).
  Accepted: the submit returns the handle / raises the error's code. Rejected: the submit
  fails with ``INVALID_REQUEST``, and a second submit still works.

Not replayed here, but by the decoder replay in ``tests/spec``: ``session.welcome`` (a client
that cannot read the welcome has no session to keep), and the replies to list, subscribe,
cancel and close, heartbeats, and ``HEARTBEAT_LOST`` (a session fault that ends the
connection, covered by the client's heartbeat tests). The frames the client sends are checked against the
schema root on the way.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from arcp.client import Client
from arcp.transport import memory_pair
from arcp_gen.errors import ARCPError, UnknownCodeError
from arcp_gen.messages import UnknownEvent
from arcp_gen.models import ToolResultEvent
from tests.client.test_client_scripted import Peer, connected, shut
from tests.spec._fixtures import manifest_entries
from tests.spec.test_fixture_manifest import wire_frame

_STREAM = ("job.event", "job.result", "job.error")
_RESPONSES = ("job.accepted", "session.error")


def _replayed(entry: dict[str, Any]) -> bool:
    frame = wire_frame(entry)[1]
    if entry["direction"] != "runtime-to-client" or not isinstance(frame, dict):
        return False
    payload = frame.get("payload")
    code = payload.get("code") if isinstance(payload, dict) else None
    return frame.get("type") in _STREAM + _RESPONSES and code != "HEARTBEAT_LOST"


ENTRIES = {fid: e for fid, e in manifest_entries().items() if _replayed(e)}


async def _submitted(peer: Peer, client: Client) -> tuple[asyncio.Task[Any], dict[str, Any]]:
    task = asyncio.create_task(client.submit("echo", {"x": 1}))
    return task, await peer.expect("job.submit")  # schema-checked by the peer


def _positive_seq(frame: dict[str, Any]) -> bool:
    seq = frame.get("event_seq")
    return isinstance(seq, int) and not isinstance(seq, bool) and seq > 0


async def _replay_stream(
    client: Client, peer: Peer, entry: dict[str, Any], frame: dict[str, Any]
) -> None:
    task, request = await _submitted(peer, client)
    job_id = frame["job_id"] if isinstance(frame.get("job_id"), str) else "job_X"
    await peer.accept(request, job_id, correlate=True)
    handle = await task
    sent = dict(frame)
    if "session_id" in sent:
        sent["session_id"] = "sess_S"
    if _positive_seq(sent):
        sent["event_seq"] = 1
    await peer.end.send(orjson.dumps(sent))
    outcome = entry["outcome"]
    accepted = outcome["verdict"] != "reject"
    if accepted and frame["type"] == "job.event":
        async with asyncio.timeout(5):
            first = await anext(aiter(handle))
        assert first.payload.kind == outcome["kind"]
        if outcome["verdict"] == "accept-forward":
            _assert_forward_event(first.payload, outcome["unknown"], frame)
        await peer.result(job_id, 2, "done")
    elif accepted:
        async with asyncio.timeout(5):
            await handle.wait()
        if frame["type"] == "job.error":
            with pytest.raises(ARCPError) as info:
                await handle.result()
            assert info.value.wire_code == frame["payload"]["code"]
            if outcome["verdict"] == "accept-forward":
                assert isinstance(info.value, UnknownCodeError)
                assert info.value.retryable is frame["payload"]["retryable"]
        return
    else:
        counted = frame["type"] == "job.event" and _positive_seq(sent)
        await peer.result(job_id, 2 if counted else 1, "done")
        events = []
        async with asyncio.timeout(5):
            events = [e async for e in handle]
        assert [e.id for e in events if e.id == frame.get("id")] == []
    async with asyncio.timeout(5):
        assert await handle.result() == "done"


async def _replay_response(
    client: Client, peer: Peer, entry: dict[str, Any], frame: dict[str, Any]
) -> None:
    task, request = await _submitted(peer, client)
    sent = dict(frame)
    if isinstance(sent.get("payload"), dict):
        sent["payload"] = {**sent["payload"], "request_id": request["id"]}
    if "session_id" in sent:
        sent["session_id"] = "sess_S"
    await peer.end.send(orjson.dumps(sent))
    outcome = entry["outcome"]
    async with asyncio.timeout(5):
        if outcome["verdict"] == "reject":
            with pytest.raises(ARCPError) as info:
                await task
            assert info.value.code == outcome["code"]
        elif frame["type"] == "session.error":
            with pytest.raises(ARCPError) as info:
                await task
            assert info.value.wire_code == frame["payload"]["code"]
            if outcome["verdict"] != "accept-forward":
                return
            assert isinstance(info.value, UnknownCodeError)
        else:
            handle = await task
            assert handle.job_id == frame["payload"]["job_id"]
            return
    # The session stays open: the next submit is answered normally.
    again, request = await _submitted(peer, client)
    await peer.accept(request, "job_again", correlate=True)
    async with asyncio.timeout(5):
        assert (await again).job_id == "job_again"


def _assert_forward_event(payload: Any, unknown: str, frame: dict[str, Any]) -> None:
    """wire-decisions (Forward compatibility): an unknown kind arrives as ``UnknownEvent``
    with its body as received; a known kind keeps an unknown error code as sent."""
    if unknown == "event-kind":
        assert isinstance(payload, UnknownEvent)
        assert payload.body == frame["payload"]["body"]
    else:
        assert isinstance(payload, ToolResultEvent) and payload.body.error is not None
        assert payload.body.error.code == frame["payload"]["body"]["error"]["code"]


async def _still_open(client: Client, peer: Peer) -> None:
    """The same session goes on: the peer's next frame is a new submit (``expect`` fails on
    anything else but acks and pings, so a ``session.resume`` would fail it)."""
    again, request = await _submitted(peer, client)
    assert request["session_id"] == "sess_S"
    await peer.accept(request, "job_next", correlate=True)
    async with asyncio.timeout(5):
        assert (await again).job_id == "job_next"


@pytest.mark.parametrize("fid", sorted(ENTRIES))
async def test_client_reads_as_the_manifest_says(fid: str) -> None:
    """§5, §8.3, §12, wire-decisions: the live client's verdict on a runtime-to-client fixture."""
    entry = ENTRIES[fid]
    _, frame = wire_frame(entry)
    client, peer = await connected()
    if frame["type"] in _STREAM:
        await _replay_stream(client, peer, entry, frame)
    else:
        await _replay_response(client, peer, entry, frame)
    if entry["outcome"]["verdict"] == "accept-forward":
        await _still_open(client, peer)
    await shut(client, peer)


WELCOME_REJECTS = sorted(
    fid
    for fid, e in manifest_entries().items()
    if e["receiver"] == "client"
    and e["outcome"]["verdict"] == "reject"
    and isinstance(wire_frame(e)[1], dict)
    and wire_frame(e)[1].get("type") == "session.welcome"
)


@pytest.mark.xfail(
    strict=True,
    reason="the client drops an undecodable welcome and waits for another (reported)",
)
@pytest.mark.parametrize("fid", WELCOME_REJECTS)
async def test_client_fails_the_handshake_on_an_undecodable_welcome(fid: str) -> None:
    """§6.2, manifest: a welcome the client cannot read ends the handshake with the error,
    promptly (`session_stays_open: false`), instead of leaving `connect` waiting."""
    _, frame = wire_frame(manifest_entries()[fid])
    mine, theirs = memory_pair()

    async def script() -> None:
        await theirs.recv()
        await theirs.send(orjson.dumps(frame))

    task = asyncio.create_task(script())
    with pytest.raises(ARCPError):
        async with asyncio.timeout(2):
            await Client.connect(mine, token="t")
    await task
