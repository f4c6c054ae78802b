"""Scenarios and the context they run in.

A *scenario* is one async function that drives the runtime and judges one or more checks
(:class:`~arcp.conformance.model.CheckSpec`). It reports with :meth:`Probe.judge`, gives up
with :class:`Skip` (the runtime lacks an agent or feature) or by raising anything else
(every check it had not judged yet fails with that reason).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from arcp.conformance.model import CheckResult, CheckSpec, Outcome
from arcp.conformance.wire import ALL_FEATURES, Frame, Peer, Recorder, arr, now_iso, obj
from arcp.transport import TransportClosed

__all__ = [
    "SCENARIOS",
    "Probe",
    "Scenario",
    "Skip",
    "Unanswered",
    "agents_of",
    "codes",
    "describe",
    "is_terminal",
    "scenario",
]


class Skip(Exception):
    """The runtime does not offer what this scenario needs."""


class Unanswered(Exception):
    """The runtime did not answer in time (or closed the connection)."""


@dataclass
class Probe:
    """What a scenario gets: the target, the tokens, and where verdicts go."""

    url: str
    token: str
    other_token: str | None
    timeout: float
    recorder: Recorder
    specs: tuple[CheckSpec, ...]
    results: dict[str, CheckResult] = field(default_factory=dict[str, CheckResult])
    peers: list[Peer] = field(default_factory=list[Peer])
    inventory: dict[str, Any] = field(default_factory=dict[str, Any])
    no_welcome: str | None = None

    # -- verdicts --------------------------------------------------------------------------

    def judge(self, spec: CheckSpec, ok: bool, observed: str) -> None:
        """Record pass (``ok``) or fail for ``spec``; the first verdict for a check wins."""
        if spec.id not in self.results:
            outcome = Outcome.PASS if ok else Outcome.FAIL
            self.results[spec.id] = CheckResult(spec, outcome, observed)

    def skip(self, spec: CheckSpec, reason: str) -> None:
        """Record that ``spec`` could not be checked against this runtime."""
        if spec.id not in self.results:
            self.results[spec.id] = CheckResult(spec, Outcome.SKIP, reason)

    # -- sessions --------------------------------------------------------------------------

    async def connect(self, label: str = "main") -> Peer:
        """A new raw connection (no hello yet)."""
        peer = await Peer.open(self.url, label, self.recorder, self.timeout)
        self.peers.append(peer)
        return peer

    async def session(
        self,
        label: str = "main",
        *,
        token: str | None = None,
        features: tuple[str, ...] | list[str] = ALL_FEATURES,
    ) -> Peer:
        """A connected, welcomed session; raises :class:`Unanswered` without a welcome."""
        peer = await self.connect(label)
        answer = await peer.hello(self.token if token is None else token, features)
        if answer is None:
            raise Unanswered("no session.welcome after session.hello")
        if answer.get("type") != "session.welcome":
            raise Unanswered(f"session.hello refused: {describe(answer)}")
        return peer

    async def other_session(self, label: str = "other") -> Peer:
        """A session as the second principal; :class:`Skip` without ``--other-token``."""
        if self.other_token is None:
            raise Skip("needs a second principal (--other-token)")
        return await self.session(label, token=self.other_token)

    def need_agent(self, name: str) -> dict[str, Any]:
        """The inventory entry of demo agent ``name``; :class:`Skip` when not offered."""
        if self.no_welcome is not None:
            raise Unanswered(self.no_welcome)
        entry = self.inventory.get(name)
        if entry is None:
            raise Skip(f"agent {name!r} not in the welcome inventory")
        return obj(entry)

    # -- jobs ------------------------------------------------------------------------------

    async def submit(self, peer: Peer, agent: str, input: Any = None, **extra: Any) -> Frame:
        """Submit a job and return its ``job.accepted``; :class:`Unanswered` otherwise."""
        rid = await peer.send("job.submit", {"agent": agent, "input": input, **extra})
        answer = await peer.answer(rid, "job.accepted")
        if answer is None:
            raise Unanswered(f"no job.accepted for {agent} within {peer.timeout:g} s")
        if answer.get("type") != "job.accepted":
            raise Unanswered(f"submit of {agent} refused: {describe(answer)}")
        return answer

    async def request_error(self, peer: Peer, type_: str, payload: Mapping[str, Any]) -> Frame:
        """Send a request expected to fail; return the answer (:class:`Unanswered` if none)."""
        rid = await peer.send(type_, payload)
        answer = await peer.until(lambda f: _answers(f, rid))
        if answer is None:
            raise Unanswered(f"no answer to {type_} within {peer.timeout:g} s")
        return answer

    async def terminal(self, peer: Peer, job_id: str) -> Frame:
        """The job's ``job.result`` / ``job.error`` (already received, or waited for)."""
        found = next(
            (f for f in peer.frames if is_terminal(f) and f.get("job_id") == job_id), None
        ) or await peer.until(lambda f: is_terminal(f) and f.get("job_id") == job_id)
        if found is None:
            raise Unanswered(f"job {job_id} did not finish within {peer.timeout:g} s")
        return found

    async def alive(self, peer: Peer) -> str | None:
        """None when the session still answers a request (ping, else list_jobs, else submit)."""
        try:
            return await self._alive(peer)
        except TransportClosed:
            return "the runtime closed the connection"

    async def _alive(self, peer: Peer) -> str | None:
        if "heartbeat" in peer.features:
            rid = await peer.send("session.ping", {"nonce": "alive-check", "sent_at": now_iso()})
            found = await peer.until(lambda f: f.get("type") == "session.pong" or _answers(f, rid))
            ok = found is not None and found.get("type") == "session.pong"
        else:
            rid = await peer.send("job.submit", {"agent": "echo", "input": {"alive": True}})
            found = await peer.until(lambda f: _answers(f, rid))
            ok = found is not None
        if ok:
            return None
        if peer.closed:
            return "the runtime closed the connection"
        return "the session stopped answering" if found is None else describe(found)


def _answers(frame: Frame, request_id: str) -> bool:
    rid = obj(frame.get("payload")).get("request_id")
    if rid is not None:
        return rid == request_id
    return frame.get("type") in ("session.error", "job.accepted", "job.cancelled", "job.subscribed")


def is_terminal(frame: Frame) -> bool:
    """True for ``job.result`` / ``job.error`` frames."""
    return frame.get("type") in ("job.result", "job.error")


def describe(frame: Frame | None) -> str:
    """A one-line account of a frame for the report."""
    if frame is None:
        return "no answer"
    payload = obj(frame.get("payload"))
    if frame.get("type") in ("session.error", "job.error"):
        return f"{frame.get('type')} {payload.get('code')}: {payload.get('message')}"
    return str(frame.get("type"))


def codes(frames: list[Frame]) -> list[str]:
    """The error codes among ``frames``."""
    return [str(obj(f.get("payload")).get("code")) for f in frames if f.get("type") in _ERR]


_ERR = ("session.error", "job.error")


@dataclass(frozen=True)
class Scenario:
    """A function that judges ``specs``."""

    name: str
    specs: tuple[CheckSpec, ...]
    run: Callable[[Probe], Awaitable[None]]
    passive: bool = False


SCENARIOS: list[Scenario] = []
"""Every registered scenario, in registration (report) order."""


def scenario(
    *specs: CheckSpec, passive: bool = False
) -> Callable[[Callable[[Probe], Awaitable[None]]], Callable[[Probe], Awaitable[None]]]:
    """Register a scenario judging ``specs``; ``passive`` ones run last over all traffic."""

    def register(fn: Callable[[Probe], Awaitable[None]]) -> Callable[[Probe], Awaitable[None]]:
        SCENARIOS.append(Scenario(fn.__name__, specs, fn, passive))
        return fn

    return register


def agents_of(welcome: Frame | None) -> dict[str, Any]:
    """The welcome's agent inventory by name."""
    caps = obj(obj(obj(welcome).get("payload")).get("capabilities"))
    return {str(obj(a).get("name")): obj(a) for a in arr(caps.get("agents"))}
