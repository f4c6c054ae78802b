"""The state machines as data (arcp.protocol.states): the tables walked with hypothesis, and
a guard that no module but ``states.py`` assigns a state (§6, §7.3)."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcp.protocol.client_session import ClientSession
from arcp.protocol.job_table import TERMINAL_STATUSES
from arcp.protocol.runtime_session import RuntimeSession
from arcp.protocol.states import (
    CLIENT_SESSION,
    JOB,
    JOB_STATUSES,
    RUNTIME_SESSION,
    ClientEvent,
    ClientState,
    IllegalTransition,
    Machine,
    RuntimeSessionEvent,
    RuntimeSessionState,
    StateCell,
    advance_job,
    fire,
    job_status,
)
from arcp_gen.models import JobStatus
from tests.protocol.stamps import stamps

SRC = Path(__file__).resolve().parents[2] / "src" / "arcp"

MACHINES: list[tuple[Machine[Any, Any], Sequence[Any], Sequence[Any]]] = [
    (CLIENT_SESSION, list(ClientState), list(ClientEvent)),
    (RUNTIME_SESSION, list(RuntimeSessionState), list(RuntimeSessionEvent)),
    (JOB, JOB_STATUSES, JOB_STATUSES),
]


@pytest.mark.parametrize(("machine", "states", "events"), MACHINES, ids=lambda m: str(m)[:20])
def test_tables_are_closed_over_their_states(
    machine: Machine[Any, Any], states: Sequence[Any], events: Sequence[Any]
) -> None:
    """Every move starts and ends in a named state on a named event; every terminal state
    is a state; every state but the terminal ones can be left (no dead ends)."""
    assert machine.initial in states
    assert machine.terminal <= set(states)
    for (state, event), target in machine.table.items():
        assert state in states and event in events and target in states
    leavable = {s for (s, _e), t in machine.table.items() if t != s}
    assert leavable == set(states) - machine.terminal


@pytest.mark.parametrize(("machine", "states", "events"), MACHINES, ids=lambda m: str(m)[:20])
def test_every_state_is_reachable(
    machine: Machine[Any, Any], states: Sequence[Any], events: Sequence[Any]
) -> None:
    seen, todo = {machine.initial}, [machine.initial]
    while todo:
        state = todo.pop()
        for event in events:
            if machine.allows(state, event):
                target = machine.next(state, event)
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
    assert seen == set(states)


def _walk(machine: Machine[Any, Any], events: list[Any]) -> None:
    """Fire ``events`` one by one: a legal move lands where the table says, an illegal one
    raises and leaves the state as it was, and a terminal state is never left."""
    cell: StateCell[Any, Any] = StateCell(machine)
    for event in events:
        before = cell.state
        if machine.allows(before, event):
            assert fire(cell, event) == machine.table[(before, event)] == cell.state
            if before in machine.terminal:
                assert cell.state == before
        else:
            with pytest.raises(IllegalTransition) as info:
                fire(cell, event)
            assert cell.state == before
            assert info.value.machine == machine.name
            assert info.value.state == before and info.value.event == event


@given(st.lists(st.sampled_from(list(ClientEvent)), max_size=40))
def test_client_session_walk(events: list[ClientEvent]) -> None:
    _walk(CLIENT_SESSION, events)


@given(st.lists(st.sampled_from(list(RuntimeSessionEvent)), max_size=40))
def test_runtime_session_walk(events: list[RuntimeSessionEvent]) -> None:
    _walk(RUNTIME_SESSION, events)


@given(st.lists(st.sampled_from(JOB_STATUSES), max_size=12))
def test_job_walk(events: list[JobStatus]) -> None:
    _walk(JOB, events)


class _Job:
    def __init__(self, status: JobStatus = "pending") -> None:
        self.status: JobStatus = status


@given(st.lists(st.sampled_from(JOB_STATUSES), max_size=8))
def test_advance_job_follows_the_lifecycle(moves: list[JobStatus]) -> None:
    """§7.3: pending → running → one terminal status, never left; ``pending`` may end
    without running; anything else raises."""
    job = _Job()
    for to in moves:
        before = job.status
        legal = (before, to) == ("pending", "running") or (
            before in ("pending", "running") and to in TERMINAL_STATUSES
        )
        if legal:
            assert advance_job(job, to) == to == job.status
        else:
            with pytest.raises(IllegalTransition):
                advance_job(job, to)
            assert job.status == before


def test_advance_job_refuses_an_unknown_status() -> None:
    job = _Job("running")
    with pytest.raises(IllegalTransition):
        advance_job(job, "finished")
    assert job.status == "running"


def test_job_status_reads_stored_values() -> None:
    assert [job_status(s) for s in JOB_STATUSES] == list(JOB_STATUSES)
    with pytest.raises(ValueError, match="not a job status"):
        job_status("done")


def test_terminal_statuses_are_the_spec_ones() -> None:
    """§7.3: "Terminal states are success, error, cancelled, and timed_out"."""
    assert JOB.terminal == TERMINAL_STATUSES == {"success", "error", "cancelled", "timed_out"}
    assert JOB_STATUSES == ("pending", "running", "success", "error", "cancelled", "timed_out")


def test_the_client_session_moves_through_the_table() -> None:
    """The real session starts idle, refuses a second start from the table's guard, and a
    close from idle is not a move the table holds (it is ignored, not made)."""
    session = ClientSession()
    assert session.state is ClientState.IDLE
    session.start(0.0)
    assert session.state is ClientState.HANDSHAKING
    with pytest.raises(RuntimeError):
        session.start(0.0)
    session.fail(RuntimeError("gone"))
    assert session.state is ClientState.FAILED
    assert session.connection_lost() is False
    assert session.state is ClientState.FAILED


def test_the_runtime_session_moves_through_the_table() -> None:
    session = RuntimeSession(
        session_id="s_1", principal="p", features=(), welcome_base={}, now=0.0, stamps=stamps()
    )
    assert session.state is RuntimeSessionState.ATTACHED and session.attached
    session.disconnect()
    assert session.state is RuntimeSessionState.CLOSING and session.closing and session.attached
    session.detach(1.0)
    assert session.state is RuntimeSessionState.DETACHED and not session.attached
    assert not session.closing and session.detached_since == 1.0
    session.release()
    assert session.state is RuntimeSessionState.EXPIRED
    with pytest.raises(IllegalTransition):
        session.disconnect()


# -- the guard: nobody else assigns a state ------------------------------------------------

_STATE_ATTRIBUTES = frozenset({"state", "_state", "status", "attached", "closing", "overflowed"})
"""Attribute names that hold a machine's state (or did, before the tables)."""

_SCANNED = ("protocol", "client", "runtime", "cluster")
"""The packages that run the machines (transport's HTTP ``status`` is not a state)."""


def _assigned_attributes(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Attribute) and sub.attr in _STATE_ATTRIBUTES:
                    found.append((sub.lineno, sub.attr))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "setattr"
            and len(node.args) >= 2
        ):
            name = node.args[1]
            if isinstance(name, ast.Constant) and name.value in _STATE_ATTRIBUTES:
                found.append((node.lineno, str(name.value)))
    return found


def test_only_states_py_assigns_a_state() -> None:
    offenders: list[str] = []
    for package in _SCANNED:
        for path in sorted((SRC / package).rglob("*.py")):
            if path == SRC / "protocol" / "states.py":
                continue
            tree = ast.parse(path.read_text(), str(path))
            for line, attr in _assigned_attributes(tree):
                offenders.append(f"{path.relative_to(SRC)}:{line}: .{attr} = ...")
    assert offenders == []


def test_the_guard_can_fail() -> None:
    """The AST check sees the assignments it is meant to forbid."""
    tree = ast.parse(
        "self._state = 1\njob.status = 'x'\nself.closing = self.overflowed = True\n"
        "setattr(s, 'attached', False)\nx.state: int = 2\n"
    )
    assert sorted(_assigned_attributes(tree)) == [
        (1, "_state"),
        (2, "status"),
        (3, "closing"),
        (3, "overflowed"),
        (4, "attached"),
        (5, "state"),
    ]


# -- the tables in docs/states.md are the tables in the code ---------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "states.md"


def render_table(machine: Machine[Any, Any], states: Sequence[Any], events: Sequence[Any]) -> str:
    """One machine as a Markdown table: a row per state, a column per event, the cell the
    state the event leads to ("·" where the move is illegal and raises)."""
    head = "| state \\ event | " + " | ".join(f"`{e}`" for e in events) + " |"
    rule = "| --- " * (len(events) + 1) + "|"
    rows = []
    for state in states:
        cells = [
            f"`{machine.table[(state, e)]}`" if (state, e) in machine.table else "·" for e in events
        ]
        mark = " (terminal)" if state in machine.terminal else ""
        rows.append(f"| `{state}`{mark} | " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows])


def test_docs_show_the_tables() -> None:
    """docs/states.md carries every table as the code has it (regenerate the blocks with
    ``render_table`` when a table changes)."""
    text = DOC.read_text()
    for machine, states, events in MACHINES:
        assert render_table(machine, states, events) in text, machine.name
