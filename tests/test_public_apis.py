"""``src/`` uses third-party libraries through their public APIs only (issue #17, item 1).

A read of the source tree (``ast``), not of a running program, so it can tell only by name:

* no attribute whose name marks a library's or the interpreter's internals: pydantic's
  ``__pydantic_*__``, a generator's or coroutine's frame state (``gi_*``, ``cr_*``, ``ag_*``),
  a function's ``__code__``/``__closure__``/``__globals__``;
* no ``._name`` read on anything but ``self``/``cls``/``super()`` unless ``_name`` is one our
  own code defines (a method, an attribute it assigns, a module-level name): a private name
  ``src/`` never defines can only be a library's;
* the same names through ``getattr``/``setattr``/``hasattr`` with a literal name;
* no import of a private module or name from outside ``arcp``/``arcp_gen``.

:data:`ALLOWED` lists the exceptions, each with its reason; it is empty.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
OURS = ("arcp", "arcp_gen")

INTERNAL = re.compile(r"^(__pydantic_\w+__|gi_\w+|cr_\w+|ag_\w+|__code__|__closure__|__globals__)$")
"""Attribute names that are some library's or the interpreter's internals."""

ALLOWED: dict[tuple[str, str], str] = {}
"""(path relative to src/, attribute) -> why it is fine. Keep it empty or justified."""

_REFLECTION = {"getattr", "setattr", "hasattr", "delattr"}


def _files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _own_names(trees: dict[Path, ast.Module]) -> set[str]:
    """Every ``_name`` our code defines: functions, classes, assigned attributes and names."""
    names: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
            ):
                names.update(
                    c.value
                    for c in ast.walk(node.value)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                )
    return {name for name in names if name.startswith("_")}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own_base(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in {"self", "cls"}
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def _accesses(tree: ast.Module) -> Iterator[tuple[int, ast.expr | None, str]]:
    """(line, object, attribute name) for every attribute read, write and reflection call."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            yield node.lineno, node.value, node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _REFLECTION
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            yield node.lineno, node.args[0], node.args[1].value


def _private_imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in OURS:
                continue
            parts = node.module.split(".")
            if any(_is_private(part) for part in parts):
                yield node.lineno, node.module
            for alias in node.names:
                if _is_private(alias.name):
                    yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] not in OURS and any(_is_private(part) for part in parts):
                    yield node.lineno, alias.name


def _violations() -> list[str]:
    trees = {path: ast.parse(path.read_text(), str(path)) for path in _files()}
    own = _own_names(trees)
    found: list[str] = []
    for path, tree in trees.items():
        where = str(path.relative_to(SRC))
        for line, base, name in _accesses(tree):
            if (where, name) in ALLOWED:
                continue
            if INTERNAL.match(name):
                found.append(f"{where}:{line}: .{name} (library internals)")
            elif _is_private(name) and name not in own and not (base and _own_base(base)):
                found.append(f"{where}:{line}: .{name} (a private name src/ never defines)")
        for line, module in _private_imports(tree):
            found.append(f"{where}:{line}: import of private {module}")
    return found


def test_src_uses_no_private_attribute_of_a_third_party_object() -> None:
    assert _violations() == []


def test_the_check_catches_what_it_is_for(tmp_path: Path) -> None:
    """The rules flag the patterns this issue removed (the check can fail)."""
    bad = ast.parse(
        "from pydantic._internal import _core_utils\n"
        "import websockets.legacy._x\n"
        "M.__pydantic_complete__ = False\n"
        "parser.gi_yieldfrom\n"
        "queue = conn.recv_messages._frames_private\n"
        "getattr(conn, '_send_in_progress_x')\n"
        "self._mine = 1\n"
        "other._mine\n"
    )
    own = _own_names({tmp_path: bad})
    flagged = [
        name
        for _, base, name in _accesses(bad)
        if INTERNAL.match(name)
        or (_is_private(name) and name not in own and not (base and _own_base(base)))
    ]
    assert flagged == [
        "__pydantic_complete__",
        "gi_yieldfrom",
        "_frames_private",
        "_send_in_progress_x",
    ]
    assert [module for _, module in _private_imports(bad)] == [
        "pydantic._internal",
        "pydantic._internal._core_utils",
        "websockets.legacy._x",
    ]


def test_the_allow_list_is_justified() -> None:
    for key, reason in ALLOWED.items():
        assert reason.strip(), f"{key} is allowed without a reason"
