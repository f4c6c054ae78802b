"""The layering of ``src/arcp`` as the design (``design.md``) draws it: arrows point down only.

Read from the source (AST), never by importing it, so a lazy or function-level import counts
as much as one at the top of a module. The sans-IO core (``protocol/``) also stays pure: it
owns the record types the stores persist (never imports ``arcp.store``), reads no clock (the
caller passes ``now``) and keeps no module-level mutable state (no ``global``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "arcp"

LAYERS: tuple[frozenset[str], ...] = (
    # leaves: the version, ids and timestamps, the codec, the SDK's own failures, and the
    # contract package's files (``arcp.contract``, where it exists)
    frozenset({"_version", "ids", "codec", "lenient", "sdk_errors", "contract"}),
    frozenset({"protocol"}),  # the sans-IO core
    frozenset({"transport", "store"}),  # I/O beside each other, never into each other
    frozenset({"cluster"}),  # several nodes on one store
    frozenset({"client", "runtime"}),  # asyncio on top of the core
    # applications of the layers below, and the public facades over them
    frozenset({"", "__main__", "errors", "types", "sync", "otel", "conformance", "demo", "cli"}),
)
"""Lowest first. A module may import from its own package and from any lower layer; the top
layer's packages may also import each other (the CLI runs the conformance kit and the demo)."""


def _unit(module: str) -> str:
    """The layer unit of ``arcp.x.y``: ``x`` (``""`` for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _rank(unit: str) -> int:
    for rank, units in enumerate(LAYERS):
        if unit in units:
            return rank
    raise AssertionError(f"arcp.{unit} is in no layer of tests/test_layering.py: place it")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("arcp", *parts))


def _sources() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        yield _module_name(path), path, ast.parse(path.read_text(encoding="utf-8"))


def _imports(
    module: str, path: Path, tree: ast.Module, *, submodules: bool = False
) -> Iterator[tuple[str, int]]:
    """Every ``arcp`` module ``tree`` imports (relative imports resolved), with its line.

    With ``submodules``, ``from arcp.pkg import mod`` names ``arcp.pkg.mod`` (not the package)
    when ``mod`` is a module: what a cycle check must follow."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if submodules and base.startswith("arcp"):
                folder = SRC.joinpath(*base.split(".")[1:])
                for alias in node.names:
                    sub = folder / alias.name
                    is_module = sub.is_dir() or sub.with_suffix(".py").exists()
                    yield (f"{base}.{alias.name}" if is_module else base), node.lineno
            elif base == "arcp":  # ``from arcp import x``: x may be a module or a name
                for alias in node.names:
                    yield (
                        (
                            f"arcp.{alias.name}"
                            if (SRC / alias.name).exists() or (SRC / f"{alias.name}.py").exists()
                            else "arcp"
                        ),
                        node.lineno,
                    )
            else:
                yield base, node.lineno


def _upward(module: str, target: str) -> bool:
    if target != "arcp" and not target.startswith("arcp."):
        return False
    source, dest = _unit(module), _unit(target)
    if source == dest:
        return False
    top = len(LAYERS) - 1
    if _rank(source) == top and _rank(dest) == top:
        return False
    return _rank(dest) >= _rank(source)


def upward_imports() -> list[str]:
    """``module:line -> target`` for every import that does not point down."""
    found: list[str] = []
    for module, path, tree in _sources():
        for target, line in _imports(module, path, tree):
            if _upward(module, target):
                found.append(f"{module}:{line} -> {target}")
    return found


def test_every_import_points_down() -> None:
    assert upward_imports() == []


def test_the_guard_sees_an_upward_import() -> None:
    """The check itself can fail: these arrows (all once present) are refused."""
    assert _upward("arcp.store.postgres_cluster", "arcp.cluster.database")
    assert _upward("arcp.cluster.node", "arcp.runtime.persistence")
    assert _upward("arcp.runtime.runtime", "arcp")
    assert _upward("arcp.client.client", "arcp")
    assert _upward("arcp.protocol.journal", "arcp.store.base")
    assert _upward("arcp.protocol.client_core", "arcp.errors")
    assert _upward("arcp.store.base", "arcp.transport.base")  # siblings
    assert not _upward("arcp.runtime.runtime", "arcp.cluster.node")
    assert not _upward("arcp.cli.main", "arcp.conformance")


def test_every_package_has_a_layer() -> None:
    for module, _, _ in _sources():
        _rank(_unit(module))


# -- no back-references ----------------------------------------------------------------------

KNOWN_CYCLES = frozenset(
    {
        # The journal maps live sessions and jobs to records (type-only imports of both);
        # they record into it. A type-level loop inside one concept, not a call back.
        frozenset(
            {"arcp.protocol.journal", "arcp.protocol.job_table", "arcp.protocol.runtime_session"}
        ),
        # The PostgreSQL store hands out its cluster side lazily; that side reuses the
        # store's row mapping. Untouched here: the store write paths change elsewhere.
        frozenset({"arcp.store.postgres", "arcp.store.postgres_cluster"}),
    }
)
"""Import cycles that exist and are explained; any other cycle fails the test."""


def import_cycles() -> list[frozenset[str]]:
    """Every set of ``arcp`` modules that import each other in a loop (type-only imports
    and imports inside functions included: a back-reference is one, however it is spelled)."""
    graph: dict[str, set[str]] = {}
    for module, path, tree in _sources():
        graph[module] = {
            target
            for target, _ in _imports(module, path, tree, submodules=True)
            if target != module and (target == "arcp" or target.startswith("arcp."))
        }
    return _strongly_connected(graph)


def _strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Tarjan's algorithm, iteratively: the components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in graph:
                    continue
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component: set[str] = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
    return found


def test_no_module_reaches_back_into_the_one_that_uses_it() -> None:
    """Issue #17: ``JobRequests`` called back into ``RuntimeCore`` and ``ClusterRequests``
    into ``ClusterNode`` (import cycles); each concept is now used one way."""
    assert set(import_cycles()) <= KNOWN_CYCLES


def test_the_cycle_guard_sees_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _strongly_connected(graph) == [frozenset({"a", "b", "c"})]


# -- the pure core ------------------------------------------------------------------------

PROTOCOL = SRC / "protocol"

_CLOCK_CALLS = frozenset(
    {
        ("time", "time"),
        ("time", "time_ns"),
        ("time", "monotonic"),
        ("time", "monotonic_ns"),
        ("time", "perf_counter"),
        ("time", "perf_counter_ns"),
        ("time", "localtime"),
        ("time", "gmtime"),
        ("time", "ctime"),
        ("time", "strftime"),
        ("datetime", "now"),
        ("datetime", "utcnow"),
        ("datetime", "today"),
        ("date", "today"),
        ("loop", "time"),
    }
)
_CLOCK_NAMES = frozenset({name for _, name in _CLOCK_CALLS} | {"utc_timestamp"})

CLIENT_SIDE_PENDING: frozenset[str] = frozenset()
"""The client half of the core, which still stamps ``ping.sent_at``/``pong.received_at`` with
``utc_timestamp()``: its wall clock is injected with the client's one-door rework (issue #17,
the client half of item 3); drop a name here once its file reads no clock."""


def _protocol_sources() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(PROTOCOL.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def clock_reads(tree: ast.Module) -> list[int]:
    """Lines of ``tree`` that read a clock: ``time.time()``, ``datetime.now(UTC)``, an imported
    ``monotonic()``, or ``utc_timestamp()`` without the time to format. (Minting a ULID id
    is not counted: an id is an identity, not a time the protocol acts on.)"""
    lines: list[int] = []
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in {"time", "datetime"}
        for alias in node.names
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if (func.value.id, func.attr) in _CLOCK_CALLS:
                lines.append(node.lineno)
        elif isinstance(func, ast.Name):
            clock = func.id in imported and func.id in _CLOCK_NAMES
            if clock or (func.id == "utc_timestamp" and not node.args):
                lines.append(node.lineno)
    return lines


def test_protocol_reads_no_clock() -> None:
    found = [
        f"{path.relative_to(SRC)}:{line}"
        for path, tree in _protocol_sources()
        if path.name not in CLIENT_SIDE_PENDING
        for line in clock_reads(tree)
    ]
    assert found == []


def test_the_clock_guard_sees_a_clock_read() -> None:
    for source in (
        "import time\nx = time.time()",
        "from time import monotonic\nx = monotonic()",
        "from datetime import UTC, datetime\nx = datetime.now(UTC)",
        "from arcp.ids import utc_timestamp\nx = utc_timestamp()",
    ):
        assert clock_reads(ast.parse(source)) == [2], source
    assert clock_reads(ast.parse("from arcp.ids import utc_timestamp\nx = utc_timestamp(at)")) == []


def test_protocol_keeps_no_global_state() -> None:
    found = [
        f"{path.relative_to(SRC)}:{node.lineno}"
        for path, tree in _protocol_sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.Global)
    ]
    assert found == []


@pytest.mark.parametrize("path", sorted(PROTOCOL.rglob("*.py")), ids=lambda p: p.name)
def test_protocol_never_imports_a_store(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = _module_name(path)
    targets = [target for target, _ in _imports(module, path, tree)]
    assert [t for t in targets if t == "arcp.store" or t.startswith("arcp.store.")] == []
