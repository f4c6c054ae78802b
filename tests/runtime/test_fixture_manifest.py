"""The fixtures manifest replayed against a live runtime (§5, §12): every client-to-runtime
fixture is sent in a real session over the memory transport and the runtime's answer is
checked against the manifest's outcome for the runtime.

Accept and receive-only (and accept-forward, though every forward fixture today is
runtime-to-client): no ``session.error INVALID_REQUEST`` answers the frame (a
``JOB_NOT_FOUND`` for a fixture's made-up job id is an answer to a decoded request).
Reject: one ``session.error`` with the manifest's code answers it, ``details.field`` is
present exactly when the manifest says so, and a ping afterwards (or, before the
handshake, a hello) still gets its answer when the session is to stay open.

The fixtures' session ids are replaced with the live session's, a hello's bearer token with
one the runtime knows, and clock-dependent values (``expires_at``, which §9.5 requires to be
in the future at submission) are moved ahead; nothing else about a frame changes. The
runtime enables ``model.use``; a fixture whose feature the runtime does not advertise
(``provisioned_credentials`` needs a credential provisioner) is skipped, by name.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from arcp.ids import new_ulid
from arcp.runtime import Runtime
from arcp.transport.base import TransportClosed
from tests.runtime.conftest import Gates, build_runtime
from tests.runtime.wire import Frame, Peer, connect
from tests.spec._fixtures import manifest_entries
from tests.spec.test_fixture_manifest import wire_frame

ENTRIES = {fid: e for fid, e in manifest_entries().items() if e["direction"] == "client-to-runtime"}
_PRE_SESSION = ("session.hello", "session.resume")
_CLOSING = ("session.close", "session.bye")


def _prepare(frame: Any, session_id: str | None) -> Any:
    if not isinstance(frame, dict):
        return frame
    out: dict[str, Any] = dict(frame)
    if session_id is not None and "session_id" in out:
        out["session_id"] = session_id
    payload = out.get("payload")
    if (
        isinstance(payload, dict)
        and isinstance(payload.get("auth"), dict)
        and (isinstance(payload["auth"].get("token"), str))
    ):
        out["payload"] = payload = {**payload, "auth": {**payload["auth"], "token": "t"}}
    if isinstance(payload, dict) and isinstance(payload.get("lease_constraints"), dict):
        constraints = dict(payload["lease_constraints"])
        if isinstance(constraints.get("expires_at"), str) and constraints["expires_at"][:4] == (
            "2026"
        ):
            constraints["expires_at"] = "2099" + constraints["expires_at"][4:]
        out["payload"] = {**payload, "lease_constraints": constraints}
    return out


async def _until_pong(peer: Peer, nonce: str) -> list[Frame]:
    return await peer.until(
        lambda f: f["type"] == "session.pong" and f["payload"].get("ping_nonce") == nonce
    )


async def _replay(peer: Peer, entry: dict[str, Any]) -> tuple[list[Frame], bool]:
    """Send the fixture; the frames that answered it, and whether the session is usable."""
    data, frame = wire_frame(entry)
    kind = frame.get("type") if isinstance(frame, dict) else None
    pre_session = kind in _PRE_SESSION
    if not pre_session:
        welcome = await peer.hello()
        feature = entry["feature"]
        if feature is not None and feature not in welcome["payload"]["capabilities"]["features"]:
            pytest.skip(f"this runtime does not offer {feature}")
    if isinstance(frame, dict):
        session_id = None if pre_session else peer.session_id
        data = orjson.dumps(_prepare(frame, session_id))
    await peer.send_raw(data)
    if pre_session:
        first = await peer.recv()
        if first["type"] == "session.welcome":
            return [first], True
        try:
            await peer.hello()  # the connection is still usable: a fresh hello is welcomed
        except TransportClosed:
            return [first], False
        return [first], True
    if kind in _CLOSING and entry["outcome"]["verdict"] != "reject":
        return await peer.until(lambda f: f["type"] == "session.closed"), True
    nonce = f"probe-{new_ulid()}"
    await peer.send("session.ping", {"nonce": nonce, "sent_at": "2026-05-13T19:42:13.000Z"})
    return await _until_pong(peer, nonce), True


@pytest.fixture
async def rt(gates: Gates) -> Any:
    runtime: Runtime = build_runtime(gates, model_policy="allow")
    yield runtime
    await runtime.aclose()


@pytest.mark.parametrize("fid", sorted(ENTRIES))
async def test_runtime_answers_as_the_manifest_says(rt: Runtime, fid: str) -> None:
    """§5, §12, wire-decisions: the live runtime's verdict on each client-to-runtime fixture."""
    entry = ENTRIES[fid]
    outcome = entry["outcome"]
    _, frame = wire_frame(entry)
    frame_id = frame.get("id") if isinstance(frame, dict) else None
    peer = connect(rt)
    answers, usable = await _replay(peer, entry)
    errors = [
        f
        for f in answers
        if f["type"] == "session.error"
        and f["payload"].get("code") in ("INVALID_REQUEST", outcome.get("code"))
        and f["payload"].get("request_id")
        in (frame_id if isinstance(frame_id, str) else None, None)
    ]
    if outcome["verdict"] != "reject":
        assert errors == [], [e["payload"] for e in errors]
        return
    assert len(errors) == 1, answers
    payload = errors[0]["payload"]
    assert payload["code"] == outcome["code"]
    details = payload.get("details") or {}
    assert bool(details.get("field")) is outcome["details_names_field"], payload
    assert usable is outcome["session_stays_open"]
