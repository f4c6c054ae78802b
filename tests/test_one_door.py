"""One door out of the sans-IO core: ``protocol/`` holds no callback into its adapter.

The runtime core used to call its asyncio adapter (``RuntimeSession.notify``,
``RuntimeConnection.notify``, ``Journal.wake``, ``Valve.when_open``). Now it records what
became ready (:class:`arcp.protocol.ready.Ready`, ``Journal.due``) and the adapter takes it
after each thing it feeds the core. These checks read the source (AST) so the callbacks
cannot come back: no attribute of a ``protocol/`` class is annotated as a callable, and
none is set from a callable parameter, except the few pure functions listed here.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

from arcp.codec import encode
from arcp.ids import new_ulid
from arcp.protocol.agent_catalog import AgentCatalog
from arcp.protocol.flow import Valve
from arcp.protocol.journal import Journal
from arcp.protocol.ready import Ready
from arcp.protocol.runtime_actions import Authenticate
from arcp.protocol.runtime_core import RuntimeConfig, RuntimeCore

PROTOCOL = Path(__file__).resolve().parents[1] / "src" / "arcp" / "protocol"

ALLOWED = {
    # The wall clock envelope ids and timestamps are read from: a clock source, not a call
    # into the adapter's control flow (it returns a number and does nothing else).
    ("frame_stamps", "clock"),
    # The deployment's observer policy: a pure predicate over (principal, job), §14.
    ("job_table", "observer_policy"),
}
"""(module, attribute) pairs that may hold a function: pure functions, not callbacks."""


def _callable_aliases(trees: dict[str, ast.Module]) -> set[str]:
    """Module-level names bound to a ``Callable[...]`` type (e.g. ``WallClock``)."""
    names = {"Callable"}
    for tree in trees.values():
        for node in tree.body:
            if isinstance(node, ast.Assign) and "Callable" in ast.unparse(node.value):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _mentions(annotation: ast.expr | None, names: set[str]) -> bool:
    if annotation is None:
        return False
    text = ast.unparse(annotation)
    return any(
        isinstance(n, ast.Name) and n.id in names
        for n in ast.walk(ast.parse(text.strip("'\""), mode="eval"))
    )


def callback_attributes(trees: dict[str, ast.Module] | None = None) -> list[str]:
    """``module.Class.attr`` for every attribute of a ``protocol/`` class that holds a
    callable: annotated as one, or assigned from a parameter annotated as one."""
    if trees is None:
        trees = {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in PROTOCOL.glob("*.py")}
    names = _callable_aliases(trees)
    found: set[str] = set()
    for module, tree in sorted(trees.items()):
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for attr in _callable_attributes(cls, names):
                if (module, attr) not in ALLOWED:
                    found.add(f"{module}.{cls.name}.{attr}")
    return sorted(found)


def _callable_attributes(cls: ast.ClassDef, names: set[str]) -> set[str]:
    attrs: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.AnnAssign) and _mentions(node.annotation, names):
            target = node.target
            if isinstance(target, ast.Attribute):
                attrs.add(target.attr)
            elif isinstance(target, ast.Name):
                attrs.add(target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)
            params = {a.arg for a in args if _mentions(a.annotation, names)}
            for assign in (n for n in ast.walk(node) if isinstance(n, ast.Assign)):
                if isinstance(assign.value, ast.Name) and assign.value.id in params:
                    attrs.update(t.attr for t in assign.targets if isinstance(t, ast.Attribute))
    return attrs


def test_no_protocol_class_holds_a_callback() -> None:
    assert callback_attributes() == []


def test_the_guard_sees_a_callback() -> None:
    """The check itself can fail: the shapes the callbacks had are found."""
    tree = ast.parse(
        "from collections.abc import Callable\n"
        "Hook = Callable[[], None]\n"
        "class Session:\n"
        "    def __init__(self, notify: Hook | None) -> None:\n"
        "        self.notify = notify\n"
        "        self.wake: Callable[[], None] | None = None\n"
        "        self._waiters: list[Callable[[], None]] = []\n"
    )
    assert callback_attributes({"m": tree}) == [
        "m.Session._waiters",
        "m.Session.notify",
        "m.Session.wake",
    ]


def test_the_core_reports_ready_writers_instead_of_calling_them() -> None:
    """A hello fed to the core leaves the connection in ``ready.writers``; taking them
    empties the set; nothing was called."""
    core: RuntimeCore[str] = RuntimeCore(
        RuntimeConfig(name="t", version="1"), AgentCatalog(), clock=lambda: 0
    )
    conn = core.connect()
    hello = {"client": {"name": "c"}, "capabilities": {"features": []}}
    frame = encode({"arcp": "1.1", "id": new_ulid(), "type": "session.hello", "payload": hello})
    for action in core.on_frame(conn, frame, 0.0, time.time()):
        assert isinstance(action, Authenticate)
        core.on_authenticated(action.connection, action.hello, "alice", 0.0)
    assert core.ready.take_writers() == {conn.key}
    assert not core.ready
    welcome = conn.take(0.0)
    assert len(welcome) == 1 and b"session.welcome" in welcome[0]
    assert conn.session is not None and conn.session.journal is core.journal


def test_a_valve_releases_its_waiters_into_ready() -> None:
    """§13.2: agents wait on a shut valve; opening it hands their tokens to the adapter
    through ``Ready.released`` (nothing is called)."""
    ready = Ready()
    valve = Valve(ready)
    assert not valve.park("open: not parked")
    valve.close()
    assert valve.park("a") and valve.park("b")
    assert not ready
    valve.open()
    assert ready.take_released() == ["a", "b"] and not ready


def test_the_journal_says_a_commit_is_due_once() -> None:
    """The first change after a take raises ``due``; the adapter clears it when it pokes."""
    journal = Journal()
    journal.forget_job("job_1")
    assert journal.due
    journal.due = False
    journal.forget_job("job_2")  # not empty yet: the commit already scheduled takes it
    assert not journal.due
    journal.take(0.0, 0.0)
    journal.forget_job("job_3")
    assert journal.due
