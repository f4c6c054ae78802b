"""Feed the fixtures manifest to another SDK's decoder over NDJSON (docs/fixture-runner.md).

The decoder is a child process: one JSON object per line on its stdin and stdout, UTF-8.

1. The runner says hello: ``{"arcp_fixtures": 1, "protocol_version": "1.1",
   "roles": ["client", "runtime"]}``; the child answers with its own hello
   ``{"arcp_fixtures": 1, "name": ..., "version": ..., "roles": [...]}`` naming the roles
   it decodes as (``client``: frames a runtime sends; ``runtime``: frames a client sends).
2. For every fixture whose receiver is one of those roles the runner writes
   ``{"id", "role", "frame"}`` (``frame`` is the text exactly as on the wire) and waits for
   one answer ``{"id", "outcome": "accept" | "reject", "type", "kind", "unknown", "code",
   "field", "detail"}``. Only ``id`` and ``outcome`` are required; every other member that
   is present (``null`` included) is checked against the manifest.
3. The runner closes the child's stdin; the child exits.

A child that cannot be started, exits, stays silent longer than the timeout or answers
out of protocol ends the run with :class:`FixtureRunError` (its message says what happened
and quotes the end of the child's stderr); the child is killed, never left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Sequence
from typing import Any, cast

from arcp.conformance.fixture_report import FixtureReport, FixtureResult
from arcp.conformance.manifest import Fixture, Manifest

__all__ = ["FIXTURE_PROTOCOL", "ROLES", "FixtureRunError", "compare", "run_decoder"]

FIXTURE_PROTOCOL = 1
"""Version of the NDJSON protocol (the ``arcp_fixtures`` member of both hellos)."""

ROLES = ("client", "runtime")
_LINE_LIMIT = 64 * 1024 * 1024
_STDERR_LINES = 20


class FixtureRunError(Exception):
    """The decoder could not be run to the end; the message says why."""


def _get(answer: dict[str, Any], key: str) -> tuple[bool, Any]:
    return key in answer, answer.get(key)


def compare(fixture: Fixture, answer: dict[str, Any]) -> str | None:
    """None when ``answer`` agrees with the manifest's outcome for ``fixture``, else why not."""
    o = fixture.outcome
    outcome = answer["outcome"]
    if not fixture.accepted:
        if outcome != "reject":
            return f"accepted it as {answer.get('type')!r}; the manifest says reject {o['code']}"
        has_code, code = _get(answer, "code")
        if has_code and code is not None and code != o.get("code"):
            return f"refused with {code}; the manifest says {o.get('code')}"
        has_field, where = _get(answer, "field")
        if has_field and bool(where) is not bool(o.get("details_names_field")):
            if where:
                return f"named field {where!r}; the manifest says no field can be named"
            return "named no field; the manifest says details.field names the offending field"
        return None
    if outcome != "accept":
        detail = answer.get("detail") or answer.get("code") or "no detail"
        return f"refused it ({detail}); the manifest says {fixture.verdict} {o.get('type')}"
    if answer.get("type") != o.get("type"):
        return f"read it as type {answer.get('type')!r}; the manifest says {o.get('type')!r}"
    if "kind" in o and answer.get("kind") != o["kind"]:
        return f"read it as kind {answer.get('kind')!r}; the manifest says {o['kind']!r}"
    has_unknown, unknown = _get(answer, "unknown")
    if has_unknown and unknown != o.get("unknown"):
        want = o.get("unknown")
        return f"reported unknown {unknown!r}; the manifest says {want!r}" + (
            "" if want else " (every part of it is defined in this version)"
        )
    return None


def _observed(answer: dict[str, Any]) -> str:
    if answer["outcome"] == "reject":
        parts = ["reject", str(answer.get("code") or "")]
        if answer.get("field"):
            parts.append(f"field={answer['field']}")
    else:
        kind = f"/{answer['kind']}" if answer.get("kind") else ""
        parts = ["accept", f"{answer.get('type')}{kind}"]
        if answer.get("unknown"):
            parts.append(f"unknown {answer['unknown']}")
    if answer.get("detail"):
        parts.append(f"({answer['detail']})")
    return " ".join(p for p in parts if p)


_STRINGS = ("type", "kind", "unknown", "code", "field", "detail")


def _check_answer(line: dict[str, Any], fixture_id: str) -> dict[str, Any]:
    if line.get("id") != fixture_id:
        raise FixtureRunError(
            f"the decoder answered id {line.get('id')!r} while fixture {fixture_id!r} was pending"
        )
    if line.get("outcome") not in ("accept", "reject"):
        raise FixtureRunError(
            f"fixture {fixture_id!r}: `outcome` must be accept or reject, got "
            f"{line.get('outcome')!r}"
        )
    for key in _STRINGS:
        if line.get(key) is not None and not isinstance(line.get(key), str):
            raise FixtureRunError(f"fixture {fixture_id!r}: `{key}` must be a string or null")
    return line


class _Child:
    """The decoder process and its two pipes."""

    def __init__(self, proc: asyncio.subprocess.Process, timeout: float) -> None:
        self.proc = proc
        self.timeout = timeout
        self.stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        self._drain = asyncio.create_task(self._read_stderr())

    @classmethod
    async def start(cls, command: Sequence[str], answer_wait: float) -> _Child:
        if not command:
            raise FixtureRunError("no decoder command given (put it after --)")
        try:
            proc = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=_LINE_LIMIT,
            )
        except OSError as exc:
            raise FixtureRunError(f"cannot start the decoder {command[0]!r}: {exc}") from None
        return cls(proc, answer_wait)

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        with contextlib.suppress(Exception):
            while line := await self.proc.stderr.readline():
                self.stderr.append(line.decode("utf-8", "replace").rstrip())

    async def failure(self, what: str) -> FixtureRunError:
        """An error naming ``what`` went wrong, the exit status and the stderr tail."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await self.proc.wait()
        code = self.proc.returncode
        status = f"exit status {code}" if code is not None else "still running"
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await asyncio.shield(self._drain)
        tail = "\n".join(f"    {line}" for line in self.stderr)
        return FixtureRunError(
            f"{what} ({status})" + (f"; its stderr ends with:\n{tail}" if tail else "")
        )

    async def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        data = json.dumps(message, ensure_ascii=False).encode() + b"\n"
        try:
            self.proc.stdin.write(data)
            async with asyncio.timeout(self.timeout):
                await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise await self.failure("the decoder stopped reading its stdin") from None
        except TimeoutError:
            raise await self.failure("the decoder did not read its stdin in time") from None

    async def receive(self, waiting_for: str, wait: float | None = None) -> dict[str, Any]:
        assert self.proc.stdout is not None
        wait = self.timeout if wait is None else wait
        try:
            async with asyncio.timeout(wait):
                raw = await self.proc.stdout.readline()
        except TimeoutError:
            raise await self.failure(f"no answer for {waiting_for} within {wait:g} s") from None
        except (ValueError, asyncio.LimitOverrunError):
            raise await self.failure(f"the answer for {waiting_for} is too long") from None
        if not raw:
            raise await self.failure(f"the decoder exited before answering {waiting_for}")
        try:
            line = json.loads(raw)
        except ValueError:
            text = raw[:120].decode("utf-8", "replace").rstrip()
            raise FixtureRunError(
                f"the answer for {waiting_for} is not a JSON line: {text!r}"
            ) from None
        if not isinstance(line, dict):
            raise FixtureRunError(f"the answer for {waiting_for} is not a JSON object")
        return cast(dict[str, Any], line)

    async def close(self, grace: float) -> None:
        """Close stdin, give the child ``grace`` seconds to exit, then make sure it is gone."""
        if self.proc.stdin is not None:
            with contextlib.suppress(Exception):
                self.proc.stdin.close()
        try:
            async with asyncio.timeout(grace):
                await self.proc.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        self._drain.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._drain


async def _handshake(
    child: _Child, manifest: Manifest, start_wait: float
) -> tuple[dict[str, Any], list[str]]:
    await child.send(
        {
            "arcp_fixtures": FIXTURE_PROTOCOL,
            "protocol_version": manifest.protocol_version,
            "roles": list(ROLES),
        }
    )
    hello = await child.receive("the hello", start_wait)
    if hello.get("arcp_fixtures") != FIXTURE_PROTOCOL:
        raise FixtureRunError(
            f"the decoder's hello speaks arcp_fixtures {hello.get('arcp_fixtures')!r}, "
            f"the runner {FIXTURE_PROTOCOL}"
        )
    raw_roles = hello.get("roles")
    roles = cast(list[Any], raw_roles) if isinstance(raw_roles, list) else []
    if not roles or any(r not in ROLES for r in roles):
        raise FixtureRunError(f"the decoder's hello must list roles among {list(ROLES)}")
    names = [str(r) for r in roles]
    subject: dict[str, Any] = {
        "name": str(hello.get("name", "?")),
        "version": str(hello.get("version", "")),
        "roles": names,
    }
    return subject, names


async def run_decoder(
    command: Sequence[str],
    manifest: Manifest,
    *,
    roles: Sequence[str] | None = None,
    answer_wait: float = 10.0,
    start_wait: float = 60.0,
) -> FixtureReport:
    """Run ``command`` as the decoder and feed it every fixture of its roles (limited to
    ``roles`` when given). ``answer_wait`` bounds each answer, ``start_wait`` the hello;
    :class:`FixtureRunError` when the child fails the protocol."""
    child = await _Child.start(command, answer_wait)
    grace = 0.0  # a child that broke the protocol is killed at once
    try:
        subject, offered = await _handshake(child, manifest, start_wait)
        chosen = [r for r in offered if roles is None or r in roles]
        if not chosen:
            raise FixtureRunError(
                f"the decoder decodes as {offered}, none of the roles asked for ({list(roles or [])})"
            )
        report = FixtureReport({**subject, "command": list(command)}, str(manifest.path))
        report.known = frozenset(manifest.ids())
        for fixture in manifest.for_receiver(*chosen):
            msg = {"id": fixture.id, "role": fixture.receiver, "frame": fixture.frame}
            await child.send(msg)
            answer = _check_answer(await child.receive(f"fixture {fixture.id!r}"), fixture.id)
            report.results.append(
                FixtureResult(fixture, _observed(answer), compare(fixture, answer))
            )
        grace = 5.0
        return report
    finally:
        await child.close(grace)
