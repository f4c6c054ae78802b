"""Tidy datamodel-codegen's ``models.py`` into a module a user is glad to import.

datamodel-codegen names the two branches of an ``integer | number`` property ``X`` and ``X1``
and adds a ``Model`` alias for the root ``$ref``; neither name means anything to a reader.
:func:`polish_models` merges each pair into one ``X`` alias, drops ``Model``, refuses any
other public name ending in a digit (a new artefact fails the render instead of shipping),
and adds an explicit ``__all__``.
"""

from __future__ import annotations

import ast
import re

__all__ = ["polish_models"]

_ALIAS_FN = "TypeAliasType"
_ROOT_ALIAS = "Model"
_ARTEFACT = re.compile(r"^[A-Za-z_]+[0-9]+$")


def _aliases(tree: ast.Module) -> dict[str, tuple[int, ast.expr]]:
    """Top-level ``Name = TypeAliasType("Name", value)``: name -> (statement index, value)."""
    out: dict[str, tuple[int, ast.expr]] = {}
    for i, stmt in enumerate(tree.body):
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name)
            and stmt.value.func.id == _ALIAS_FN
            and len(stmt.value.args) == 2
        ):
            out[stmt.targets[0].id] = (i, stmt.value.args[1])
    return out


def _span(tree: ast.Module, index: int) -> tuple[int, int]:
    """Line span (1-based, inclusive) of statement ``index`` and its docstring, if any."""
    stmt = tree.body[index]
    end = stmt.end_lineno or stmt.lineno
    if index + 1 < len(tree.body):
        after = tree.body[index + 1]
        if (
            isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            end = after.end_lineno or after.lineno
    return stmt.lineno, end


def polish_models(source: str) -> str:
    """The polished text of a generated ``models.py``."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    lines = source.splitlines(keepends=True)
    replace: dict[int, str] = {}  # first line -> new text
    drop: set[int] = set()
    renames: dict[str, str] = {}
    for name, (index, value) in aliases.items():
        base = name.rstrip("0123456789")
        if name == base or base not in aliases:
            continue
        base_index, base_value = aliases[base]
        left = ast.get_source_segment(source, base_value)
        right = ast.get_source_segment(source, value)
        base_stmt = tree.body[base_index]
        start, stop = base_stmt.lineno, base_stmt.end_lineno or base_stmt.lineno
        replace[start] = f'{base} = {_ALIAS_FN}("{base}", {left} | {right})\n'
        drop.update(range(start + 1, stop + 1))
        first, last = _span(tree, index)
        drop.update(range(first, last + 1))
        renames[f"{base} | {name}"] = base
    if _ROOT_ALIAS in aliases:
        first, last = _span(tree, aliases[_ROOT_ALIAS][0])
        drop.update(range(first, last + 1))
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        if number in replace:
            out.append(replace[number])
        elif number not in drop:
            out.append(line)
    text = "".join(out)
    for old, new in renames.items():
        text = re.sub(rf"\b{re.escape(old)}\b", new, text)
    return _with_all(text)


def _with_all(source: str) -> str:
    tree = ast.parse(source)
    names: list[str] = []
    last_import = 0
    for stmt in tree.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            last_import = stmt.end_lineno or stmt.lineno
        elif isinstance(stmt, ast.ClassDef):
            names.append(stmt.name)
        elif isinstance(stmt, ast.Assign):
            names.extend(t.id for t in stmt.targets if isinstance(t, ast.Name))
    public = sorted(n for n in names if not n.startswith("_"))
    odd = [n for n in public if _ARTEFACT.match(n)]
    if odd:
        raise ValueError(f"generated names that look like codegen artefacts: {odd}")
    lines = source.splitlines(keepends=True)
    block = "\n__all__ = [\n" + "".join(f'    "{n}",\n' for n in public) + "]\n"
    return "".join(lines[:last_import]) + block + "".join(lines[last_import:])
