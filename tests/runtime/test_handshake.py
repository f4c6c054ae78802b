"""Handshake, authentication and feature negotiation (§6.1, §6.2)."""

from __future__ import annotations

import pytest

from arcp.runtime import Runtime
from arcp_gen.features import Feature
from tests.runtime.conftest import Gates, build_runtime
from tests.runtime.wire import connect


async def test_welcome_carries_session_identity_and_capabilities(rt: Runtime) -> None:
    """§6.2: the welcome names the session (envelope and payload), rotates a resume token,
    and lists encodings, the negotiated features and every agent with versions/default."""
    peer = connect(rt)
    welcome = await peer.hello(features=["heartbeat", "list_jobs", "lease_expires_at", "bogus"])
    payload = welcome["payload"]
    assert welcome["session_id"] == payload["session_id"]
    assert payload["runtime"] == {"name": "arcp-test", "version": "9.9.9"}
    assert payload["accepted_at"].endswith("Z")
    assert payload["resume_token"]
    assert payload["resume_window_sec"] == 600
    assert payload["heartbeat_interval_sec"] == 30
    caps = payload["capabilities"]
    assert caps["encodings"] == ["json"]
    assert caps["features"] == ["heartbeat", "lease_expires_at", "list_jobs"]
    assert {
        "name": "versioned",
        "versions": ["1.0.0", "2.0.0", "3.0.0-beta"],
        "default": "2.0.0",
    } in caps["agents"]
    assert "event_seq" not in welcome


async def test_runtime_never_advertises_unsupported_features(gates: Gates) -> None:
    """§6.2: only features that work end to end are offered, whatever the host asks for:
    model.use and provisioned_credentials need a model policy and a provisioner (§9.7, §9.8)."""
    wanted = [Feature.ACK, Feature.COST_BUDGET, Feature.MODEL_USE, Feature.PROVISIONED_CREDENTIALS]
    runtime = build_runtime(gates, features=wanted)
    peer = connect(runtime)
    welcome = await peer.hello(features=[f.value for f in Feature])
    assert welcome["payload"]["capabilities"]["features"] == ["ack", "cost.budget"]
    await runtime.aclose()


@pytest.mark.parametrize("token", ["wrong", None])
async def test_bad_or_missing_token_is_unauthenticated_then_closed(
    rt: Runtime, token: str | None
) -> None:
    """§6.1: a bad or missing bearer token gets UNAUTHENTICATED and the transport closes."""
    peer = connect(rt)
    payload: dict[str, object] = {"client": {"name": "x"}}
    if token is not None:
        payload["auth"] = {"scheme": "bearer", "token": token}
    rid = await peer.send("session.hello", payload)
    error = await peer.expect("session.error")
    assert error["payload"]["code"] == "UNAUTHENTICATED"
    assert error["payload"]["request_id"] == rid
    assert "wrong" not in str(error)
    await peer.task
    assert peer.transport.closed


async def test_async_token_verifier_maps_tokens_to_principals() -> None:
    """§6.1: a callable verifier (sync or async) decides the principal."""

    async def verify(token: str) -> str | None:
        return "carol" if token == "ok" else None

    runtime = Runtime(tokens=verify)
    ok = connect(runtime)
    await ok.hello(token="ok")
    bad = connect(runtime)
    await bad.send(
        "session.hello", {"client": {"name": "x"}, "auth": {"scheme": "bearer", "token": "no"}}
    )
    assert (await bad.expect("session.error"))["payload"]["code"] == "UNAUTHENTICATED"
    await runtime.aclose()


async def test_no_token_table_accepts_anyone_as_anonymous() -> None:
    """§6.1: a runtime without a token table lets every client in."""
    runtime = Runtime()
    peer = connect(runtime)
    await peer.hello(token=None)
    await runtime.aclose()


async def test_request_before_hello_is_invalid_and_the_connection_survives(rt: Runtime) -> None:
    """§6.2: nothing but hello/resume is accepted before the session opens."""
    peer = connect(rt)
    rid = await peer.send("job.submit", {"agent": "echo", "input": 1})
    error = await peer.expect("session.error")
    assert error["payload"]["code"] == "INVALID_REQUEST"
    assert error["payload"]["request_id"] == rid
    await peer.hello()


async def test_second_hello_on_an_open_session_is_invalid(rt: Runtime) -> None:
    """§6.2: a session is opened once per connection."""
    peer = connect(rt)
    await peer.hello()
    rid = await peer.send("session.hello", {"client": {"name": "x"}})
    error = await peer.expect("session.error")
    assert (error["payload"]["code"], error["payload"]["request_id"]) == ("INVALID_REQUEST", rid)


@pytest.mark.parametrize(
    ("type_", "payload", "feature"),
    [
        ("session.list_jobs", {}, "list_jobs"),
        ("job.subscribe", {"job_id": "job_x"}, "subscribe"),
        ("job.unsubscribe", {"job_id": "job_x"}, "subscribe"),
        ("session.ack", {"last_processed_seq": 0}, "ack"),
    ],
)
async def test_features_outside_the_intersection_are_refused(
    rt: Runtime, type_: str, payload: dict[str, object], feature: str
) -> None:
    """§6.2: neither peer may use a feature the other did not list."""
    peer = connect(rt)
    await peer.hello(features=[])
    error = await peer.request(type_, payload)
    assert error["type"] == "session.error"
    assert error["payload"]["code"] == "INVALID_REQUEST"
    assert error["payload"]["details"] == {"feature": feature}


async def test_ping_is_answered_with_pong(rt: Runtime) -> None:
    """§6.4: a ping gets a pong naming its nonce; neither carries event_seq."""
    peer = connect(rt)
    await peer.hello()
    await peer.send("session.ping", {"nonce": "p_1", "sent_at": "2026-01-01T00:00:00.000Z"})
    pong = await peer.expect("session.pong")
    assert pong["payload"]["ping_nonce"] == "p_1"
    assert "event_seq" not in pong


async def test_close_is_acknowledged_then_the_transport_closes(rt: Runtime) -> None:
    """§6.7: session.close (and legacy session.bye) → session.closed, then close."""
    for type_ in ("session.close", "session.bye"):
        peer = connect(rt)
        await peer.hello()
        await peer.send(type_, {"reason": "done"})
        closed = await peer.expect("session.closed")
        assert closed["payload"] == {}
        await peer.task
