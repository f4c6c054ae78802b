"""Replay the manifest's client-to-runtime fixtures against a live runtime (§5, §12).

Each fixture is sent on a fresh connection: after a welcomed ``session.hello`` (or as the
first frame, for a ``session.hello`` / ``session.resume`` fixture), then a
``session.ping`` probes whether the session still answers (before the handshake: whether a
fresh hello is still welcomed). The runtime agrees with the manifest when

- ``accept`` / ``receive-only`` / ``accept-forward``: no ``session.error`` with
  ``INVALID_REQUEST`` answers the frame (an answer such as ``JOB_NOT_FOUND`` for a
  fixture's made-up job id is an answer to a decoded request);
- ``reject``: exactly one ``session.error`` with the manifest's ``code`` answers it, with
  ``details.field`` present exactly when ``details_names_field`` says so, and the session
  (before the handshake, the connection) stays usable exactly when ``session_stays_open``.

Only what a live session needs is changed in a frame: the fixture's ``session_id`` becomes
the live one, a hello's bearer token the one under test, and a lease's ``expires_at`` year
2099 (§9.5 wants it in the future). A fixture whose feature the runtime does not advertise
in its welcome is skipped.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson

from arcp.conformance.fixture_report import FixtureReport, FixtureResult
from arcp.conformance.manifest import Fixture, Manifest
from arcp.conformance.wire import Frame, Peer, Recorder, now_iso, obj
from arcp.ids import new_ulid
from arcp.transport import TransportClosed

__all__ = ["replay_manifest"]

_PRE_SESSION = ("session.hello", "session.resume")
_CLOSING = ("session.close", "session.bye")


def _prepare(frame: dict[str, Any], session_id: str | None, token: str) -> dict[str, Any]:
    out = dict(frame)
    if session_id is not None and "session_id" in out:
        out["session_id"] = session_id
    payload = obj(out.get("payload"))
    auth = obj(payload.get("auth"))
    if isinstance(auth.get("token"), str):
        payload = {**payload, "auth": {**auth, "token": token}}
    constraints = obj(payload.get("lease_constraints"))
    expires = constraints.get("expires_at")
    if isinstance(expires, str) and expires[:4].isdigit():
        payload = {
            **payload,
            "lease_constraints": {**constraints, "expires_at": "2099" + expires[4:]},
        }
    if "payload" in out and isinstance(out["payload"], dict):
        out["payload"] = payload
    return out


class _Replay:
    """One fixture on one connection."""

    def __init__(self, peer: Peer, fixture: Fixture, token: str) -> None:
        self.peer = peer
        self.fixture = fixture
        self.token = token
        parsed = fixture.parsed()
        self.frame: dict[str, Any] | None = (
            cast(dict[str, Any], parsed) if isinstance(parsed, dict) else None
        )
        self.kind = self.frame.get("type") if self.frame is not None else None

    async def run(self) -> tuple[list[Frame], bool]:
        """Send the fixture; the frames that answered it, and whether the session is usable."""
        pre_session = self.kind in _PRE_SESSION
        data = self.fixture.frame.encode()
        if self.frame is not None:
            session_id = None if pre_session else self.peer.session_id
            data = orjson.dumps(_prepare(self.frame, session_id, self.token))
        start = len(self.peer.frames)
        await self.peer.send_raw(data)
        if pre_session:
            first = await self.peer.until(lambda _f: True)
            if first is None:
                return [], not self.peer.closed
            if first.get("type") == "session.welcome":
                return [first], True
            try:
                again = await self.peer.hello(self.token)
            except TransportClosed:
                return [first], False
            return [first], again is not None and again.get("type") == "session.welcome"
        if self.kind in _CLOSING and self.fixture.accepted:
            closed = await self.peer.until(lambda f: f.get("type") == "session.closed")
            return self.peer.frames[start:], closed is not None
        try:
            rid = await self.peer.send(
                "session.ping", {"nonce": f"fx-{new_ulid()}", "sent_at": now_iso()}
            )
        except TransportClosed:
            return self.peer.frames[start:], False
        answer = await self.peer.until(
            lambda f: (
                f.get("type") == "session.pong" or obj(f.get("payload")).get("request_id") == rid
            )
        )
        answers = [f for f in self.peer.frames[start:] if f is not answer]
        return answers, answer is not None


def _describe(errors: list[Frame], usable: bool) -> str:
    parts: list[str] = []
    for e in errors:
        p = obj(e.get("payload"))
        field = obj(p.get("details")).get("field")
        parts.append(f"session.error {p.get('code')}" + (f" field={field}" if field else ""))
    parts.append("session open" if usable else "session closed")
    return "; ".join(parts) if errors else "no error; " + parts[-1]


def _judge(fixture: Fixture, answers: list[Frame], usable: bool) -> FixtureResult:
    outcome = fixture.outcome
    frame_id = obj(fixture.parsed()).get("id")
    ids = (frame_id, None) if isinstance(frame_id, str) else (None,)
    errors = [
        f
        for f in answers
        if f.get("type") == "session.error"
        and obj(f.get("payload")).get("code") in ("INVALID_REQUEST", outcome.get("code"))
        and obj(f.get("payload")).get("request_id") in ids
    ]
    seen = _describe(errors, usable)
    if fixture.accepted:
        why = None if not errors else f"refused it; the manifest says {fixture.verdict}"
        return FixtureResult(fixture, seen, why)
    if len(errors) != 1:
        why = "no session.error answered it" if not errors else f"{len(errors)} errors answered it"
        return FixtureResult(fixture, seen, why + f"; the manifest says reject {outcome['code']}")
    payload = obj(errors[0].get("payload"))
    named = bool(obj(payload.get("details")).get("field"))
    if payload.get("code") != outcome["code"]:
        why = f"refused with {payload.get('code')}; the manifest says {outcome['code']}"
    elif named is not outcome["details_names_field"]:
        why = (
            "details.field "
            + ("present" if named else "absent")
            + "; the manifest says "
            + ("it names the field" if outcome["details_names_field"] else "no field can be named")
        )
    elif usable is not outcome["session_stays_open"]:
        want = "stays open" if outcome["session_stays_open"] else "closes"
        why = f"the session {'stayed open' if usable else 'closed'}; the manifest says it {want}"
    else:
        why = None
    return FixtureResult(fixture, seen, why)


async def _one(url: str, token: str, fixture: Fixture, wait: float) -> FixtureResult:
    try:
        peer = await Peer.open(url, f"fixture {fixture.id}", Recorder(), wait)
    except Exception as exc:
        return FixtureResult(fixture, "no connection", f"cannot connect: {exc}")
    try:
        replay = _Replay(peer, fixture, token)
        if replay.kind not in _PRE_SESSION:
            welcome = await peer.hello(token)
            if welcome is None or welcome.get("type") != "session.welcome":
                return FixtureResult(fixture, "no welcome", "session.hello was not welcomed")
            if fixture.feature is not None and fixture.feature not in peer.features:
                return FixtureResult(
                    fixture, "", skipped=f"the runtime does not offer {fixture.feature}"
                )
        try:
            answers, usable = await replay.run()
        except TransportClosed:
            answers, usable = list(peer.frames), False
        return _judge(fixture, answers, usable)
    except Exception as exc:  # a runtime fault never ends the whole replay
        return FixtureResult(
            fixture, "no verdict", f"the replay failed: {str(exc) or type(exc).__name__}"
        )
    finally:
        await peer.close()


async def replay_manifest(
    url: str,
    token: str,
    manifest: Manifest,
    *,
    frame_timeout: float = 5.0,
    concurrency: int = 4,
) -> FixtureReport:
    """Replay every client-to-runtime fixture of ``manifest`` against the runtime at ``url``,
    ``concurrency`` connections at a time; the results come in manifest order."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def bounded(fixture: Fixture) -> FixtureResult:
        async with gate:
            return await _one(url, token, fixture, frame_timeout)

    fixtures = manifest.for_receiver("runtime")
    results = await asyncio.gather(*(bounded(f) for f in fixtures))
    return FixtureReport({"url": url}, str(manifest.path), list(results), frozenset(manifest.ids()))
