"""The TypeScript target (``spec/typescript/arcp.ts``) is derived, not transcribed: every fact
of the metamodel and every definition of the schema is in it, and the pattern-to-type mapping
never refuses a string the schema accepts. ``tests/spec/test_typescript.py`` compiles it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from codegen.generate import SCHEMA_PATH, TYPESCRIPT_DIR
from codegen.schema import Schema
from codegen.typegraph import TLiteral, TObject, TPrefixed, TPrim, build, convert, pattern_prefixes
from codegen.typescript import type_expr

BINDINGS = (SCHEMA_PATH.parent / TYPESCRIPT_DIR / "arcp.ts").read_text(encoding="utf-8")
METAMODEL: dict[str, Any] = json.loads(
    next(SCHEMA_PATH.parent.glob("arcp-*.metamodel.json")).read_text(encoding="utf-8")
)


@pytest.mark.parametrize(
    ("pattern", "accepted", "expected"),
    [
        (r"^1\.[0-9]+$", ["1.1", "1.22"], (TPrefixed("1."),)),
        (r"^x-vendor\..+$", ["x-vendor.acme"], (TPrefixed("x-vendor."),)),
        (r"^(a\.b|c)$", ["a.b", "c"], (TLiteral("a.b"), TLiteral("c"))),
        (r"^ab?c$", ["ac", "abc"], (TPrefixed("a"),)),
        (r"^x\d+$", ["x1"], (TPrefixed("x"),)),
        (r"^[a-z]+$", ["abc"], None),
        (r"^a|b$", ["a", "b"], None),
        (r"^(a)(b)$", ["ab"], None),
        (r"^([0-9]{2}|00-x)$", ["12", "00-x"], None),
        (r"abc", ["abc"], None),
    ],
)
def test_pattern_types_are_never_narrower_than_the_pattern(
    pattern: str, accepted: list[str], expected: tuple[object, ...] | None
) -> None:
    """A literal start becomes a template-literal type; anything else stays `string`."""
    assert pattern_prefixes(pattern) == expected
    for value in accepted:
        assert re.search(pattern, value)
        if expected is not None:
            assert any(
                (isinstance(k, TLiteral) and k.value == value)
                or (isinstance(k, TPrefixed) and value.startswith(k.prefix))
                for k in expected
            )


def test_every_definition_is_an_exported_type() -> None:
    """§5: one type per schema definition (the sender-only rules aside)."""
    schema = Schema(SCHEMA_PATH)
    names = [d.name for d in build(schema).decls]
    assert set(schema.defs) - set(names) == {"ReceiveOnly", "LegacyErrorPayload"}
    for name in names:
        assert re.search(rf"^export type {name}\b", BINDINGS, re.M), name


def test_the_tables_carry_every_fact_of_the_metamodel() -> None:
    """Version, messages, event kinds, error codes (retryability) and flags come from the
    metamodel, one entry each."""
    assert f"export const PROTOCOL_VERSION = {json.dumps(METAMODEL['protocol_version'])}" in (
        BINDINGS
    )
    for m in METAMODEL["messages"]:
        assert f'  type: "{m["type"]}";\n' in BINDINGS
        assert f'  "{m["type"]}": {{\n    direction: "{m["direction"]}",' in BINDINGS
    for e in METAMODEL["event_kinds"]:
        assert f'  kind: "{e["kind"]}";\n' in BINDINGS
    for c in METAMODEL["error_codes"]:
        entry = (
            f"  {c['code']}: {{\n    retryable: {json.dumps(c['retryable'])},\n"
            f"    neverRetryable: {json.dumps(c['never_retryable'])},\n"
        )
        assert entry in BINDINGS
    for f in METAMODEL["features"]:
        key = f["name"] if re.match(r"^\w+$", f["name"]) else json.dumps(f["name"])
        assert (
            f"  {key}: {{ section: {json.dumps(f['section'], ensure_ascii=False)} }}," in BINDINGS
        )


def test_secrets_are_marked_where_the_schema_marks_them() -> None:
    """`x-secret` properties are `Secret<...>` with `@secret`, and listed in SECRET_PATHS."""
    graph = build(Schema(SCHEMA_PATH))
    assert "Auth.token" in graph.secret_paths
    assert "Credential.value" in graph.secret_paths
    for path in graph.secret_paths:
        assert f'  "{path}",\n' in BINDINGS
    marked = re.findall(r"^  (\w+)\??: Secret<string>;$", BINDINGS, re.M)
    assert sorted(set(marked)) == sorted({p.split(".")[1] for p in graph.secret_paths})


def test_presence_rules_become_types_or_notes() -> None:
    """§8.2 `tool_result` is exactly one of `result`/`error` (a union of re-declared
    properties); a rule no type can say (§9.8.2 `if`/`then` on a value) stays a note."""
    decls = {d.name: d for d in build(Schema(SCHEMA_PATH)).decls}
    tool_result = decls["ToolResultBody"].type
    assert isinstance(tool_result, TObject)
    assert len(tool_result.alternatives) == 2
    hello = decls["SessionHelloMessage"].type
    assert isinstance(hello, TObject)
    assert [p.name for p in hello.props if p.forbidden] == ["session_id"]
    assert any("credential_rotated" in n for n in decls["StatusBody"].notes)
    assert "Not expressed in this type: `credential_id` is required" in BINDINGS


def test_boolean_property_schemas() -> None:
    """`{"f": false}` forbids a property (the 2020-12 spelling of "absent") and `true` admits
    any JSON value: a schema that says "absent" so still types `f?: never`."""
    node = convert({"type": "object", "properties": {"gone": False, "any": True}})
    assert isinstance(node, TObject)
    gone, anything = node.props
    assert gone.forbidden and not gone.required
    assert anything.type == TPrim("json") and not anything.forbidden
    assert "  gone?: never;\n" in type_expr(node)
