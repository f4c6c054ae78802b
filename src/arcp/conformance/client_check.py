"""Client-side conformance: run a client program against a scripted runtime in scenarios and
judge which client obligations of the spec it meets (``arcp conformance client -- COMMAND``).

The program under test is any executable (any language, any SDK). Per scenario it is started
with these environment variables and must:

- ``ARCP_URL`` (``ws://127.0.0.1:PORT/arcp``), ``ARCP_TOKEN``: connect and complete the
  handshake (§6.2);
- ``ARCP_AGENT``, ``ARCP_INPUT`` (JSON): submit that job (§7.1) and wait for its outcome,
  resuming the session (§6.3) whenever the connection drops, a gap appears (§8.3) or the
  runtime falls silent (§6.4);
- print, as its last line of stdout, ``{"result": <the job's result>}`` or
  ``{"error": "<the error code>"}``, close the session and exit.

The runtime records every frame the program sends; each scenario checks the outcome and the
wire (e.g. the ``last_event_seq`` a resume presents). Our own client is the first subject:
``python -m arcp.conformance.subject``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from arcp.conformance.model import Level, Outcome
from arcp.conformance.scripted import STRICT, TYPESCRIPT, Dialect, ScriptedRuntime
from arcp.transport.websocket import serve_websocket

__all__ = ["SCENARIOS", "ClientScenario", "ScenarioResult", "run_client_conformance"]

Judge = Callable[[list[dict[str, Any]]], str | None]
"""Looks at the frames the client sent; returns why it fails, or None."""


@dataclass(frozen=True)
class ClientScenario:
    """One situation the client is put in, and the obligation it checks."""

    id: str
    section: str
    level: Level
    title: str
    dialect: Dialect
    agent: str
    input: Any
    expect: dict[str, Any]
    judge: Judge | None = None


@dataclass(frozen=True)
class ScenarioResult:
    """The verdict of one scenario."""

    scenario: ClientScenario
    outcome: Outcome
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        s = self.scenario
        return {"id": s.id, "section": s.section, "level": s.level.value, "title": s.title,
                "outcome": self.outcome.value, "detail": self.detail}  # fmt: skip


def _resumes(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resume requests the client sent: ``session.resume`` or the legacy hello form."""
    out: list[dict[str, Any]] = []
    for f in frames:
        payload: Any = f.get("payload") or {}
        if f.get("type") == "session.resume":
            out.append(payload)
        elif f.get("type") == "session.hello" and isinstance(payload.get("resume"), dict):
            out.append(payload["resume"])
    return out


def _hello_first(frames: list[dict[str, Any]]) -> str | None:
    if not frames or frames[0].get("type") != "session.hello":
        return "the first frame was not session.hello"
    bad = [f.get("type") for f in frames if f.get("arcp") != "1.1" or not f.get("id")]
    return f"frames without arcp 1.1 or an id: {bad}" if bad else None


def _resumed_at(seq: int) -> Judge:
    def judge(frames: list[dict[str, Any]]) -> str | None:
        resumes = _resumes(frames)
        if not resumes:
            return "the client never resumed"
        got = resumes[0].get("last_event_seq")
        return None if got == seq else f"the resume presented last_event_seq {got}, not {seq}"

    return judge


def _declared_lost(frames: list[dict[str, Any]]) -> str | None:
    if not _resumes(frames):
        return "the client did not notice the silent runtime (no resume)"
    return None


CHATTY = {"n": 5, "every": 0.1}
LINES = {"result": {"lines": 5}}
SCENARIOS: tuple[ClientScenario, ...] = (
    ClientScenario("6.2-handshake-and-result", "§6.2, §7.3", Level.MUST,
                   "handshake, submit, result", STRICT, "chatty", CHATTY, LINES, _hello_first),
    ClientScenario("6.3-drop-and-resume", "§6.3", Level.MUST,
                   "resume after a dropped connection, from the last event received",
                   replace(STRICT, drop_after=2), "chatty", CHATTY, LINES, _resumed_at(2)),
    ClientScenario("8.3-gap", "§8.3", Level.MUST,
                   "a gap in event_seq is repaired by a resume from before the gap",
                   replace(STRICT, gap_at=2), "chatty", CHATTY, LINES, _resumed_at(1)),
    ClientScenario("6.4-heartbeat-loss", "§6.4", Level.MUST,
                   "a silent runtime is declared lost within two intervals and resumed",
                   replace(STRICT, heartbeat_sec=1, mute_after=1), "chatty",
                   {"n": 5, "every": 0.8}, LINES, _declared_lost),
    ClientScenario("7.5-refused-submit", "§7.5, §12", Level.MUST,
                   "a refused submit surfaces its error code", STRICT, "nosuch", None,
                   {"error": "AGENT_NOT_AVAILABLE"}),
    ClientScenario("12-refused-submit-uncorrelated", "§12", Level.WIRE,
                   "a refusal with no request_id (a job.error for a job never accepted) "
                   "still fails the submit", TYPESCRIPT, "nosuch", None,
                   {"error": "AGENT_NOT_AVAILABLE"}),
    ClientScenario("6-slow-answers", "§6, §7.1", Level.SHOULD,
                   "answers that take a second are waited for",
                   replace(STRICT, delay=1.0), "echo", {"slow": True},
                   {"result": {"slow": True}}),
)  # fmt: skip


async def run_client_conformance(
    command: Sequence[str], *, token: str = "conformance", limit: float = 30.0
) -> list[ScenarioResult]:
    """Run ``command`` once per scenario; a run longer than ``limit`` seconds fails (a hang)."""
    return [await _run(command, scenario, token, limit) for scenario in SCENARIOS]


async def _run(
    command: Sequence[str], scenario: ClientScenario, token: str, limit: float
) -> ScenarioResult:
    runtime = ScriptedRuntime(scenario.dialect)
    server = await serve_websocket(runtime.serve, port=0)
    env = dict(os.environ, ARCP_URL=server.url, ARCP_TOKEN=token, ARCP_AGENT=scenario.agent,
               ARCP_INPUT=json.dumps(scenario.input))  # fmt: skip
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            async with asyncio.timeout(limit):
                out, err = await proc.communicate()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            return ScenarioResult(scenario, Outcome.FAIL, f"no outcome within {limit:g} s")
    finally:
        await server.close(grace=1)
    return _judge(scenario, runtime.frames, out, err)


def _judge(
    scenario: ClientScenario, frames: list[dict[str, Any]], out: bytes, err: bytes
) -> ScenarioResult:
    lines = out.decode(errors="replace").strip().splitlines()
    try:
        got: Any = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        got = None
    if got != scenario.expect:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
        detail = f"printed {lines[-1] if lines else 'nothing'!s}; expected " + json.dumps(
            scenario.expect
        )
        return ScenarioResult(scenario, Outcome.FAIL, f"{detail} {tail[0]}".strip())
    problem = scenario.judge(frames) if scenario.judge is not None else None
    if problem is not None:
        return ScenarioResult(scenario, Outcome.FAIL, problem)
    return ScenarioResult(scenario, Outcome.PASS)


def subject_command() -> list[str]:
    """The command that runs our own client as the subject."""
    return [sys.executable, "-m", "arcp.conformance.subject"]
