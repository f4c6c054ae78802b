"""Wire-format checks: hostile frames and correlation (active), and passive checks over every
frame the run received (envelope fields §5, terminal states §7.3, error payloads §12)."""

from __future__ import annotations

from arcp.codec import DecodeError, decode
from arcp.conformance.model import CheckSpec, Level
from arcp.conformance.probe import Probe, Skip, describe, scenario
from arcp.conformance.wire import Frame, is_error, obj
from arcp_gen.errors import ErrorCode

__all__ = [
    "BAD_JSON",
    "BAD_VERSION",
    "COMPLETED_AT",
    "CORRELATION",
    "ENVELOPE",
    "ERROR_SHAPE",
    "FINAL_STATUS",
    "JOB_ID_ENVELOPE",
    "KNOWN_CODES",
    "NEVER_RETRYABLE",
    "NO_SEQ_ON_CONTROL",
    "SCHEMA",
    "UNKNOWN_TYPE",
]

M, S, W = Level.MUST, Level.SHOULD, Level.WIRE
WD = "wire"

BAD_JSON = CheckSpec("wd-bad-json", WD, W, "bad JSON -> INVALID_REQUEST; the session continues")
UNKNOWN_TYPE = CheckSpec(
    "wd-unknown-type", WD, W, "unknown type -> INVALID_REQUEST with details.type; session continues"
)
BAD_VERSION = CheckSpec("wd-arcp-major", WD, W, "an envelope with arcp 2.0 -> INVALID_REQUEST")
CORRELATION = CheckSpec(
    "wd-request-id", WD, W, "responses carry payload.request_id = the request's id"
)
ENVELOPE = CheckSpec("5-envelope-fields", "§5", M, "every frame has arcp 1.x, id and type")
SCHEMA = CheckSpec("5-schema", "§5", W, "every frame validates against the ARCP 1.1 schema")
NO_SEQ_ON_CONTROL = CheckSpec(
    "wd-no-seq-on-control", WD, W, "event_seq only on job.event / job.result / job.error"
)
JOB_ID_ENVELOPE = CheckSpec(
    "wd-job-id-envelope", WD, W, "job-scoped messages carry job_id on the envelope"
)
COMPLETED_AT = CheckSpec("wd-completed-at", WD, W, "job.result / job.error carry completed_at")
FINAL_STATUS = CheckSpec(
    "7.3-final-status", "§7.3", M, "terminal final_status is success/error/cancelled/timed_out"
)
ERROR_SHAPE = CheckSpec(
    "12-error-shape", "§12", M, "error payloads carry code, message and a retryable boolean"
)
NEVER_RETRYABLE = CheckSpec(
    "12-never-retryable", "§12", M, "LEASE_EXPIRED / BUDGET_EXHAUSTED are never retryable"
)
KNOWN_CODES = CheckSpec("12-known-codes", "§12", W, "every error code is one §12 defines")

_CODES = frozenset(code.value for code in ErrorCode)
_SEQUENCED = ("job.event", "job.result", "job.error")
_JOB_SCOPED = (
    "job.accepted",
    "job.event",
    "job.result",
    "job.error",
    "job.cancelled",
    "job.subscribed",
)


def _code(frame: Frame | None) -> object:
    return obj(obj(frame).get("payload")).get("code") if frame and is_error(frame) else None


@scenario(BAD_JSON)
async def bad_json(p: Probe) -> None:
    peer = await p.session()
    await peer.send_raw(b'{"arcp": "1.1", "type": "session.ping", oops')
    err = await peer.until(is_error)
    alive = await p.alive(peer)
    p.judge(
        BAD_JSON,
        _code(err) == "INVALID_REQUEST" and alive is None,
        f"-> {describe(err)}; then {alive or 'session continues'}",
    )


@scenario(UNKNOWN_TYPE)
async def unknown_type(p: Probe) -> None:
    peer = await p.session()
    rid = await peer.send("conformance.bogus", {"x": 1})
    err = await peer.until(
        lambda f: is_error(f) and obj(f["payload"]).get("request_id") in (None, rid)
    )
    details = obj(obj(obj(err).get("payload")).get("details"))
    alive = await p.alive(peer)
    ok = _code(err) == "INVALID_REQUEST" and details.get("type") == "conformance.bogus"
    p.judge(
        UNKNOWN_TYPE,
        ok and alive is None,
        f"-> {describe(err)} details.type={details.get('type')!r}; "
        f"then {alive or 'session continues'}",
    )


@scenario(BAD_VERSION)
async def bad_version(p: Probe) -> None:
    peer = await p.session()
    rid = await peer.send("session.list_jobs", {"limit": 1}, arcp="2.0")
    err = await peer.until(lambda f: obj(f.get("payload")).get("request_id") == rid or is_error(f))
    p.judge(BAD_VERSION, _code(err) == "INVALID_REQUEST", f"arcp 2.0 -> {describe(err)}")


@scenario(CORRELATION)
async def correlation(p: Probe) -> None:
    p.need_agent("echo")
    peer = await p.session()
    seen: list[str] = []
    rid = await peer.send("job.submit", {"agent": "echo", "input": {"c": 1}})
    acc = await peer.until(lambda f: f.get("type") in ("job.accepted", "session.error"))
    seen.append(f"job.accepted={obj(obj(acc).get('payload')).get('request_id') == rid}")
    rid2 = await peer.send("job.submit", {"agent": "no-such-agent-cf", "input": {}})
    err = await peer.until(lambda f: f.get("type") == "session.error")
    seen.append(f"session.error={obj(obj(err).get('payload')).get('request_id') == rid2}")
    if "list_jobs" in peer.features:
        rid3 = await peer.send("session.list_jobs", {"limit": 1})
        jobs = await peer.until(lambda f: f.get("type") in ("session.jobs", "session.error"))
        seen.append(f"session.jobs={obj(obj(jobs).get('payload')).get('request_id') == rid3}")
    p.judge(CORRELATION, all(s.endswith("True") for s in seen), ", ".join(seen))


@scenario(
    ENVELOPE,
    SCHEMA,
    NO_SEQ_ON_CONTROL,
    JOB_ID_ENVELOPE,
    COMPLETED_AT,
    FINAL_STATUS,
    ERROR_SHAPE,
    NEVER_RETRYABLE,
    KNOWN_CODES,
    passive=True,
)
async def passive(p: Probe) -> None:
    """Judge every frame the run received."""
    received = p.recorder.received
    if not received:
        raise Skip("no frames were received")
    frames = p.recorder.frames()
    bad = [r.raw[:80].decode(errors="replace") for r in received if r.frame is None]
    bad += [
        f"{f.get('type')!r} arcp={f.get('arcp')!r}"
        for f in frames
        if not (
            str(f.get("arcp", "")).startswith("1.")
            and f.get("id")
            and isinstance(f.get("type"), str)
        )
    ]
    p.judge(
        ENVELOPE,
        not bad,
        f"{len(received)} frames; offenders: {bad[:3]}" if bad else f"{len(received)} frames",
    )
    invalid: list[str] = []
    for r in received:
        try:
            decode(r.raw)
        except DecodeError as exc:
            invalid.append(str(exc))
    p.judge(
        SCHEMA,
        not invalid,
        f"{len(invalid)} invalid, e.g. {invalid[0]}"
        if invalid
        else f"{len(received)} frames valid",
    )
    seq_on = sorted(
        {str(f.get("type")) for f in frames if "event_seq" in f and f.get("type") not in _SEQUENCED}
    )
    p.judge(
        NO_SEQ_ON_CONTROL,
        not seq_on,
        f"event_seq on {seq_on}" if seq_on else "none on control frames",
    )
    no_job = sorted(
        {str(f.get("type")) for f in frames if f.get("type") in _JOB_SCOPED and not f.get("job_id")}
    )
    p.judge(JOB_ID_ENVELOPE, not no_job, f"no envelope job_id on {no_job}" if no_job else "present")
    terminals = [f for f in frames if f.get("type") in ("job.result", "job.error")]
    if not terminals:
        p.skip(COMPLETED_AT, "no terminal frames observed")
        p.skip(FINAL_STATUS, "no terminal frames observed")
    else:
        lacking = sum(1 for f in terminals if "completed_at" not in obj(f.get("payload")))
        p.judge(
            COMPLETED_AT, not lacking, f"{lacking} of {len(terminals)} terminals lack completed_at"
        )
        odd = sorted(
            {
                str(obj(f.get("payload")).get("final_status"))
                for f in terminals
                if obj(f.get("payload")).get("final_status")
                not in ("success", "error", "cancelled", "timed_out")
            }
        )
        p.judge(
            FINAL_STATUS,
            not odd,
            f"unexpected final_status {odd}" if odd else f"{len(terminals)} terminals",
        )
    _errors(p, frames)


def _errors(p: Probe, frames: list[Frame]) -> None:
    errors = [obj(f.get("payload")) for f in frames if is_error(f)]
    errors += [
        obj(obj(obj(f.get("payload")).get("body")).get("error"))
        for f in frames
        if obj(f.get("payload")).get("kind") == "tool_result"
        and isinstance(obj(obj(f.get("payload")).get("body")).get("error"), dict)
    ]
    if not errors:
        for spec in (ERROR_SHAPE, NEVER_RETRYABLE, KNOWN_CODES):
            p.skip(spec, "no error payloads observed")
        return
    malformed = [
        e
        for e in errors
        if not (
            isinstance(e.get("code"), str)
            and isinstance(e.get("message"), str)
            and isinstance(e.get("retryable"), bool)
        )
    ]
    p.judge(
        ERROR_SHAPE,
        not malformed,
        f"{len(malformed)} of {len(errors)} malformed, e.g. {malformed[0]}"
        if malformed
        else f"{len(errors)} error payloads well-formed",
    )
    fatal = [e for e in errors if e.get("code") in ("LEASE_EXPIRED", "BUDGET_EXHAUSTED")]
    if not fatal:
        p.skip(NEVER_RETRYABLE, "no LEASE_EXPIRED / BUDGET_EXHAUSTED observed")
    else:
        retry = [e for e in fatal if e.get("retryable") is not False]
        p.judge(NEVER_RETRYABLE, not retry, f"{len(retry)} of {len(fatal)} marked retryable")
    unknown = sorted({str(e.get("code")) for e in errors if e.get("code") not in _CODES})
    seen = sorted({str(e.get("code")) for e in errors})
    p.judge(KNOWN_CODES, not unknown, f"unknown {unknown}" if unknown else f"seen {seen}")
