"""The TypeScript target: ``spec/typescript/arcp.ts`` from the type graph and the metamodel.

This module is the language mapping (graph node -> TypeScript type expression, names, doc
comments); ``codegen/templates/typescript/`` holds the file layout and the tables. A new
language is the same pair: a mapping module and a template folder (docs/codegen-targets.md).

Mapping: objects are type aliases (so they are assignable to :code:`JsonValue`), with a
``[extension: string]`` index signature where the schema allows other properties; integers
are ``number`` (with ``@integer`` in the doc comment); an anchored ``pattern`` with a literal
start becomes a template-literal type (``x-vendor.${string}``), other patterns stay
``string``; ``x-secret`` properties are ``Secret<string>`` with ``@secret``; presence rules
become intersections with unions of re-declared properties (``?: never`` for "absent").
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import jinja2

from codegen.typegraph import (
    Decl,
    Graph,
    Node,
    Prop,
    TArray,
    TIntersect,
    TLiteral,
    TObject,
    TPrefixed,
    TPrim,
    TRef,
    TUnion,
)

__all__ = ["OUTPUT_NAME", "TEMPLATES", "render_typescript", "type_expr"]

TEMPLATES = Path(__file__).resolve().parent / "templates" / "typescript"
OUTPUT_NAME = "arcp.ts"
_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_PRIMS = {
    "string": "string",
    "integer": "number",
    "number": "number",
    "boolean": "boolean",
    "null": "null",
    "json": "JsonValue",
}
_INDENT = "  "
_WIDTH = 100


def _key(name: str) -> str:
    return name if _IDENT.match(name) else json.dumps(name)


def _json_literal(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _template_literal(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")
    return f"`{escaped}${{string}}`"


def _doc(lines: list[str], indent: str) -> str:
    width = max(40, _WIDTH - len(indent) - 3)
    text: list[str] = []
    for line in lines:
        safe = line.replace("*/", "*\\/")
        text.extend(textwrap.wrap(safe, width, break_long_words=False) if safe else [])
    if not text:
        return ""
    if len(text) == 1:
        return f"{indent}/** {text[0]} */\n"
    body = "".join(f"{indent} * {line}\n" for line in text)
    return f"{indent}/**\n{body}{indent} */\n"


def _tags(constraints: tuple[tuple[str, Any], ...], node: Node | None = None) -> list[str]:
    tags = ["@integer"] if node == TPrim("integer") else []
    for key, value in constraints:
        shown = value if isinstance(value, str) else json.dumps(value)
        tags.append(f"@{key} {shown}")
    return tags


def _wrap(expr: str, node: Node) -> str:
    """Parenthesise a union or intersection used as an array item."""
    return f"({expr})" if isinstance(node, TUnion | TIntersect) else expr


def type_expr(node: Node, indent: str = "") -> str:
    """The TypeScript type of one graph node (objects span lines, indented from ``indent``)."""
    if isinstance(node, TPrim):
        return _PRIMS[node.name]
    if isinstance(node, TLiteral):
        return json.dumps(node.value)
    if isinstance(node, TPrefixed):
        return _template_literal(node.prefix)
    if isinstance(node, TRef):
        return node.name
    if isinstance(node, TArray):
        return f"{_wrap(type_expr(node.item, indent), node.item)}[]"
    if isinstance(node, TUnion):
        return " | ".join(type_expr(b, indent) for b in node.branches)
    if isinstance(node, TIntersect):
        return " & ".join(_wrap(type_expr(p, indent), p) for p in node.parts)
    return _object(node, indent)


def _prop(prop: Prop, indent: str) -> str:
    if prop.forbidden:
        return f"{indent}{_key(prop.name)}?: never;\n"
    expr = type_expr(prop.type, indent)
    if prop.secret:
        expr = f"Secret<{expr}>"
    opt = "" if prop.required else "?"
    doc = [prop.description, *_tags(prop.constraints, prop.type)]
    if prop.secret:
        doc.append("@secret never log or display (x-secret)")
    return f"{_doc(doc, indent)}{indent}{_key(prop.name)}{opt}: {expr};\n"


def _index_lines(obj: TObject, indent: str) -> str:
    if obj.extra is None:
        return ""
    declared = {p.name for p in obj.props}
    if obj.keys is not None:
        extra = type_expr(obj.extra, indent)
        lines: list[str] = []
        for key in obj.keys:
            if isinstance(key, TLiteral) and str(key.value) not in declared:
                lines.append(f"{indent}{_key(str(key.value))}?: {extra};\n")
            elif isinstance(key, TPrefixed):
                lines.append(f"{indent}[key: {_template_literal(key.prefix)}]: {extra};\n")
        return "".join(lines)
    if obj.extra == TPrim("json"):
        return f"{indent}[extension: string]: JsonValue | undefined;\n"
    kinds = [type_expr(obj.extra, indent)]
    for prop in obj.props:
        expr = "never" if prop.forbidden else type_expr(prop.type, indent)
        if expr not in kinds:
            kinds.append(expr)
    if any(not p.required for p in obj.props):
        kinds.append("undefined")
    return f"{indent}[key: string]: {' | '.join(kinds)};\n"


def _body(props: tuple[Prop, ...], obj: TObject | None, indent: str) -> str:
    inner = indent + _INDENT
    lines = "".join(_prop(p, inner) for p in props)
    if obj is not None:
        lines += _index_lines(obj, inner)
    return "{}" if not lines else f"{{\n{lines}{indent}}}"


def _object(obj: TObject, indent: str) -> str:
    base = _body(obj.props, obj, indent)
    if not obj.alternatives:
        return base
    inner = indent + _INDENT
    alts = "".join(f"{inner}| {_body(alt.props, None, inner)}\n" for alt in obj.alternatives)
    return f"{base} & (\n{alts}{indent})"


def _declaration(decl: Decl) -> str:
    doc = [decl.description, *_tags(decl.constraints, decl.type)]
    doc.extend(f"Not expressed in this type: {note} (the schema says so)." for note in decl.notes)
    if decl.deprecated:
        doc.append("@deprecated a legacy form, read on receive; senders do not send it.")
    expr = type_expr(decl.type)
    head = f"export type {decl.name} = "
    if isinstance(decl.type, TUnion) and len(head) + len(expr) + 1 > _WIDTH:
        expr = "".join(f"\n{_INDENT}| {type_expr(b, _INDENT)}" for b in decl.type.branches)
        head = head.rstrip()
    return f"{_doc(doc, '')}{head}{expr};\n"


def render_typescript(
    graph: Graph,
    metamodel: dict[str, Any],
    header: str,
    code_meanings: dict[str, str] | None = None,
) -> dict[str, str]:
    """File name -> text of the TypeScript bindings (``code_meanings``: error code -> the
    schema's ``x-error-codes`` meaning, for the doc comments)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    context = {
        "header": header,
        "json": _json_literal,
        "key": _key,
        "metamodel": metamodel,
        "declarations": [_declaration(d) for d in graph.decls],
        "secret_paths": list(graph.secret_paths),
        "never_retryable": [c["code"] for c in metamodel["error_codes"] if c["never_retryable"]],
        "code_docs": {
            c["code"]: _doc([f"{c['section']}: {(code_meanings or {}).get(c['code'], '')}"], "  ")
            for c in metamodel["error_codes"]
        },
    }
    text = env.get_template(f"{OUTPUT_NAME}.j2").render(**context)
    return {OUTPUT_NAME: text}
