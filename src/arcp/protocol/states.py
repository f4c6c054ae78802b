"""The protocol's state machines as data: one transition table per machine (§6, §7.3).

Three machines, each a table ``(state, event) -> next state`` and nothing else:

* :data:`CLIENT_SESSION` — a client session across its connections (§6.2 hello/welcome,
  §6.3 resume, §6.4 heartbeats, §6.7 close, §8.3 gaps);
* :data:`RUNTIME_SESSION` — the runtime's view of one session: attached to a connection,
  letting it go, detached but resumable for the resume window (§6.3), expired;
* :data:`JOB` — a job's lifecycle (§7.3), over the generated ``JobStatus``: ``pending`` and
  ``running`` are live, ``success``, ``error``, ``cancelled`` and ``timed_out`` are terminal.
  Its events are the status the job moves to.

Every state change in the package goes through :func:`fire` (client and runtime sessions,
which keep their state in a :class:`StateCell`) or :func:`advance_job` (a job's ``status``);
both raise :class:`IllegalTransition` — a local programming error, never a wire error code —
on a move the table does not hold. No other module assigns a state (a test reads the AST).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Generic, Protocol, TypeVar, cast, get_args

from arcp_gen.models import JobStatus

__all__ = [
    "CLIENT_SESSION",
    "JOB",
    "JOB_STATUSES",
    "RUNTIME_SESSION",
    "TERMINAL_JOB_STATUSES",
    "ClientEvent",
    "ClientState",
    "IllegalTransition",
    "Machine",
    "RuntimeSessionEvent",
    "RuntimeSessionState",
    "StateCell",
    "advance_job",
    "fire",
    "job_status",
]

S = TypeVar("S")
E = TypeVar("E")


class IllegalTransition(RuntimeError):
    """A state machine was asked for a move its table does not hold (a bug in the caller,
    not a peer's fault: peers' messages are checked before any move is made)."""

    def __init__(self, machine: str, state: object, event: object) -> None:
        super().__init__(f"{machine}: no transition from {state!s} on {event!s}")
        self.machine = machine
        self.state = state
        self.event = event


@dataclass(frozen=True, slots=True)
class Machine(Generic[S, E]):
    """One transition table: the states, where it starts, the moves, the terminal states."""

    name: str
    initial: S
    table: Mapping[tuple[S, E], S]
    terminal: frozenset[S]

    def next(self, state: S, event: E) -> S:
        """The state ``event`` leads to from ``state``; :class:`IllegalTransition` if none."""
        try:
            return self.table[(state, event)]
        except KeyError:
            raise IllegalTransition(self.name, state, event) from None

    def allows(self, state: S, event: E) -> bool:
        """True when the table holds a move for ``event`` from ``state``."""
        return (state, event) in self.table


class StateCell(Generic[S, E]):
    """The current state of one machine instance. Read :attr:`state`; change it only with
    :func:`fire`."""

    __slots__ = ("machine", "state")

    def __init__(self, machine: Machine[S, E], state: S | None = None) -> None:
        self.machine: Final = machine
        self.state: S = machine.initial if state is None else state

    def __repr__(self) -> str:
        return f"StateCell({self.machine.name}: {self.state!s})"


def fire(cell: StateCell[S, E], event: E) -> S:
    """Move ``cell`` along ``event`` per its table; returns the new state."""
    state = cell.machine.next(cell.state, event)
    cell.state = state
    return state


# -- the client session (§6) -------------------------------------------------------------


class ClientState(StrEnum):
    """Where a client session is in its life (§6)."""

    IDLE = "idle"
    HANDSHAKING = "handshaking"  # session.hello sent, no welcome yet (§6.2)
    OPEN = "open"
    BROKEN = "broken"  # the connection must be dropped (gap §8.3, heartbeat loss §6.4)
    DETACHED = "detached"  # no transport; resumable (§6.3)
    RESUMING = "resuming"  # session.resume sent, no welcome yet (§6.3)
    CLOSING = "closing"  # session.close sent, no session.closed yet (§6.7)
    CLOSED = "closed"
    FAILED = "failed"


class ClientEvent(StrEnum):
    """What moves a client session."""

    START = "start"  # queue session.hello
    RESTORE = "restore"  # take over another client's detached session (§6.3)
    WELCOME = "welcome"  # session.welcome arrived
    RESUME = "resume"  # queue session.resume on a fresh connection
    CLOSE = "close"  # queue session.close
    BREAK = "break"  # the connection is unusable: gap, heartbeat loss, unanswered resume
    CONNECTION_LOST = "connection_lost"  # the transport is gone
    CLOSED = "closed"  # the session is over: session.closed/bye, or a close that timed out
    FAIL = "fail"  # the session cannot continue


def _client_table() -> dict[tuple[ClientState, ClientEvent], ClientState]:
    st, ev = ClientState, ClientEvent
    live = (st.IDLE, st.HANDSHAKING, st.OPEN, st.BROKEN, st.DETACHED, st.RESUMING, st.CLOSING)
    table: dict[tuple[ClientState, ClientEvent], ClientState] = {
        (st.IDLE, ev.START): st.HANDSHAKING,
        (st.IDLE, ev.RESTORE): st.DETACHED,
        (st.HANDSHAKING, ev.WELCOME): st.OPEN,
        (st.RESUMING, ev.WELCOME): st.OPEN,
        (st.DETACHED, ev.RESUME): st.RESUMING,
        (st.OPEN, ev.CLOSE): st.CLOSING,
        # A dropped connection leaves a resumable session detached (§6.3) ...
        (st.OPEN, ev.CONNECTION_LOST): st.DETACHED,
        (st.BROKEN, ev.CONNECTION_LOST): st.DETACHED,
        (st.RESUMING, ev.CONNECTION_LOST): st.DETACHED,
        (st.DETACHED, ev.CONNECTION_LOST): st.DETACHED,
        # ... and ends one that was closing (§6.7); an ended one stays ended.
        (st.CLOSING, ev.CONNECTION_LOST): st.CLOSED,
        (st.CLOSED, ev.CONNECTION_LOST): st.CLOSED,
        (st.FAILED, ev.CONNECTION_LOST): st.FAILED,
        (st.FAILED, ev.FAIL): st.FAILED,
        (st.CLOSED, ev.CLOSED): st.CLOSED,
        (st.FAILED, ev.CLOSED): st.FAILED,
    }
    for state in (st.OPEN, st.BROKEN, st.RESUMING, st.CLOSING):
        table[(state, ev.BREAK)] = st.BROKEN
    for state in live:
        table[(state, ev.FAIL)] = st.FAILED
        table[(state, ev.CLOSED)] = st.CLOSED
    return table


CLIENT_SESSION: Final[Machine[ClientState, ClientEvent]] = Machine(
    "client session",
    ClientState.IDLE,
    _client_table(),
    frozenset({ClientState.CLOSED, ClientState.FAILED}),
)
"""The client session's transition table (§6)."""


# -- the runtime session (§6.3, §6.4, §6.7, §13.2) --------------------------------------


class RuntimeSessionState(StrEnum):
    """The runtime's view of one session (§6.3)."""

    ATTACHED = "attached"  # a connection carries the session
    CLOSING = "closing"  # let the connection go once what is queued is written (§6.4, §6.7)
    OVERFLOWED = "overflowed"  # the peer stopped reading: close, stop reading (§13.2)
    DETACHED = "detached"  # no connection; resumable for the resume window (§6.3)
    EXPIRED = "expired"  # the resume window passed: the session is gone


class RuntimeSessionEvent(StrEnum):
    """What moves a runtime session."""

    RESUME = "resume"  # a connection presented the resume token (§6.3)
    DISCONNECT = "disconnect"  # session.close, heartbeat loss, idle (§6.4, §6.7, §14)
    OVERFLOW = "overflow"  # queued control frames passed max_control_bytes (§13.2)
    DETACH = "detach"  # the connection is gone
    RESTORE = "restore"  # read back from a store: detached, resumable
    EXPIRE = "expire"  # detached past the resume window


def _runtime_table() -> dict[tuple[RuntimeSessionState, RuntimeSessionEvent], RuntimeSessionState]:
    st, ev = RuntimeSessionState, RuntimeSessionEvent
    connected = (st.ATTACHED, st.CLOSING, st.OVERFLOWED)
    table = {(s, ev.RESUME): st.ATTACHED for s in (*connected, st.DETACHED)}
    table.update({(s, ev.DETACH): st.DETACHED for s in connected})
    table.update(
        {
            (st.ATTACHED, ev.DISCONNECT): st.CLOSING,
            (st.CLOSING, ev.DISCONNECT): st.CLOSING,
            (st.OVERFLOWED, ev.DISCONNECT): st.OVERFLOWED,
            (st.DETACHED, ev.DISCONNECT): st.DETACHED,  # nothing left to let go
            (st.ATTACHED, ev.OVERFLOW): st.OVERFLOWED,
            (st.CLOSING, ev.OVERFLOW): st.OVERFLOWED,
            (st.ATTACHED, ev.RESTORE): st.DETACHED,  # a fresh session read from a store
            (st.DETACHED, ev.EXPIRE): st.EXPIRED,
        }
    )
    return table


RUNTIME_SESSION: Final[Machine[RuntimeSessionState, RuntimeSessionEvent]] = Machine(
    "runtime session",
    RuntimeSessionState.ATTACHED,
    _runtime_table(),
    frozenset({RuntimeSessionState.EXPIRED}),
)
"""The runtime session's transition table (§6.3)."""


# -- the job lifecycle (§7.3) -----------------------------------------------------------

JOB_STATUSES: Final[tuple[JobStatus, ...]] = cast(
    "tuple[JobStatus, ...]", get_args(JobStatus.__value__)
)
"""Every status of the generated ``JobStatus``, in the contract's order."""

TERMINAL_JOB_STATUSES: Final[frozenset[JobStatus]] = frozenset(
    {"success", "error", "cancelled", "timed_out"}
)
"""Statuses a job never leaves (§7.3)."""


def _job_table() -> dict[tuple[JobStatus, JobStatus], JobStatus]:
    table: dict[tuple[JobStatus, JobStatus], JobStatus] = {("pending", "running"): "running"}
    for live in ("pending", "running"):
        for final in TERMINAL_JOB_STATUSES:
            table[(live, final)] = final
    return table


JOB: Final[Machine[JobStatus, JobStatus]] = Machine(
    "job", "pending", _job_table(), TERMINAL_JOB_STATUSES
)
"""The job lifecycle (§7.3): an event is the status the job moves to."""


class HasJobStatus(Protocol):
    """Anything carrying a job's status (the runtime's job record)."""

    status: JobStatus


def job_status(value: str) -> JobStatus:
    """``value`` as a ``JobStatus`` (e.g. read back from a store); ValueError if unknown."""
    for status in JOB_STATUSES:
        if status == value:
            return status
    raise ValueError(f"not a job status: {value!r}")


def advance_job(job: HasJobStatus, to: str) -> JobStatus:
    """Move ``job`` to status ``to`` per :data:`JOB`; returns the new status."""
    status = JOB.next(job.status, cast(JobStatus, to))
    job.status = status
    return status
