"""The schema as a language-neutral type graph, for the binding targets (TypeScript today).

Every target of ``make generate`` other than the Python models reads two things: the
metamodel (``spec/arcp-<version>.metamodel.json``: version, messages, event kinds, error
codes, feature flags) for its tables, and this graph for its shapes. The graph is built from
the schema's ``$defs`` by :func:`build`; a target only maps each node kind to its language
(see ``codegen/typescript.py`` and ``docs/codegen-targets.md``); ``codegen/patterns.py``
reads the literal start of a ``pattern`` for targets whose string types can hold one.

Presence rules are not structure: they come from the facts :mod:`codegen.schema` already
derives for the Python models (a field a definition forbids, exactly-one and never-both
pairs, a message's field on the envelope or in the payload, a condition on a value), so a
change in how the schema spells them is followed by every target at once. A rule a target cannot express in types is
kept as a note (:attr:`Decl.notes`) so it still reaches the documentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from codegen.patterns import literal_starts
from codegen.schema import JSON, PresenceRule, Schema

__all__ = [
    "Alternative",
    "Decl",
    "Graph",
    "Node",
    "Prop",
    "TArray",
    "TIntersect",
    "TLiteral",
    "TObject",
    "TPrefixed",
    "TPrim",
    "TRef",
    "TUnion",
    "build",
    "convert",
    "pattern_prefixes",
]

# Definitions that only state what a sender may not send (the root's `not`): no type.
_SENDER_RULES = {"ReceiveOnly", "LegacyErrorPayload"}
_REF = "#/$defs/"


@dataclass(frozen=True)
class TPrim:
    """``string``, ``integer``, ``number``, ``boolean``, ``null``, or ``json`` (any JSON value)."""

    name: str


@dataclass(frozen=True)
class TLiteral:
    value: str | int | float | bool | None


@dataclass(frozen=True)
class TPrefixed:
    """A string that starts with ``prefix`` (from an anchored ``pattern``; see
    :func:`pattern_prefixes`). Wider than the pattern, never narrower."""

    prefix: str


@dataclass(frozen=True)
class TRef:
    name: str


@dataclass(frozen=True)
class TArray:
    item: Node


@dataclass(frozen=True)
class TUnion:
    branches: tuple[Node, ...]


@dataclass(frozen=True)
class TIntersect:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Prop:
    name: str
    type: Node
    required: bool
    description: str = ""
    secret: bool = False
    forbidden: bool = False
    """The property must be absent (``not: {required: [name]}``)."""
    constraints: tuple[tuple[str, Any], ...] = ()
    """Validation keywords the type cannot carry (``minLength``, ``pattern``, ...), for docs."""


@dataclass(frozen=True)
class Alternative:
    """One branch of a presence rule: properties re-declared (required or forbidden)."""

    props: tuple[Prop, ...]


@dataclass(frozen=True)
class TObject:
    props: tuple[Prop, ...]
    extra: Node | None
    """Type of properties not declared (``additionalProperties``); ``None`` when closed."""
    keys: tuple[Node, ...] | None = None
    """``propertyNames`` as literal / prefixed keys; ``None`` when any name is allowed."""
    alternatives: tuple[Alternative, ...] = ()
    """Exactly one must hold besides ``props`` (an empty tuple: no rule)."""


Node = TPrim | TLiteral | TPrefixed | TRef | TArray | TUnion | TIntersect | TObject


@dataclass(frozen=True)
class Decl:
    name: str
    type: Node
    description: str = ""
    deprecated: bool = False
    constraints: tuple[tuple[str, Any], ...] = ()
    notes: tuple[str, ...] = ()
    """Rules the schema states that are not in ``type`` (presence rules a target may drop)."""


@dataclass(frozen=True)
class Graph:
    decls: tuple[Decl, ...]
    secret_paths: tuple[str, ...] = field(default=())
    """``Definition.property`` of every ``x-secret`` property, in schema order."""


_CONSTRAINT_KEYS = (
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
)


def pattern_prefixes(pattern: str) -> tuple[Node, ...] | None:
    """An anchored pattern as literal strings or prefixed strings, or ``None`` (any string).

    ``^1\\.[0-9]+$`` -> ``1.…``; ``^(a|b\\..+)$`` -> ``"a"`` and ``b.…``. Each result admits
    every string the pattern admits (a prefix is necessary, never sufficient), so a type
    built from it never refuses a valid value.
    """
    starts = literal_starts(pattern)
    if starts is None:
        return None
    return tuple(TLiteral(text) if whole else TPrefixed(text) for text, whole in starts)


def _ref_name(ref: str) -> str:
    if not ref.startswith(_REF):
        raise ValueError(f"unsupported $ref {ref!r}")
    return ref[len(_REF) :]


def _constraints(node: JSON) -> tuple[tuple[str, Any], ...]:
    return tuple((k, node[k]) for k in _CONSTRAINT_KEYS if k in node)


def _union(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else TUnion(tuple(nodes))


def _string(node: JSON) -> Node:
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        keys = pattern_prefixes(pattern)
        if keys is not None:
            return _union(list(keys))
    return TPrim("string")


def _property(name: str, sub: Any, required: bool) -> Prop:
    """One property; the boolean schema ``false`` forbids it (``true``: any JSON value)."""
    if sub is False:
        return Prop(name, TPrim("json"), False, forbidden=True)
    if sub is True:
        return Prop(name, TPrim("json"), required)
    sub = cast(JSON, sub)
    return Prop(
        name,
        convert(sub),
        required,
        str(sub.get("description", "")),
        bool(sub.get("x-secret", False)),
        constraints=_constraints(sub),
    )


def _object(node: JSON) -> TObject:
    required = set(cast(list[str], node.get("required", [])))
    props = tuple(
        _property(name, sub, name in required)
        for name, sub in cast(JSON, node.get("properties", {})).items()
    )
    extra_schema = node.get("additionalProperties", True)
    if extra_schema is False:
        extra: Node | None = None
    elif extra_schema is True:
        extra = TPrim("json")
    else:
        extra = convert(cast(JSON, extra_schema))
    keys: tuple[Node, ...] | None = None
    names = cast(JSON, node.get("propertyNames", {}))
    if isinstance(names.get("pattern"), str):
        keys = pattern_prefixes(str(names["pattern"]))
    return TObject(props, extra, keys)


def _typed(node: JSON, kind: str) -> Node:
    if kind == "string":
        return _string(node)
    if kind == "array":
        items = node.get("items")
        return TArray(convert(cast(JSON, items)) if isinstance(items, dict) else TPrim("json"))
    if kind == "object":
        return _object(node)
    return TPrim(kind)


def convert(node: JSON) -> Node:
    """One schema node as a type (presence keywords are left to :func:`build`)."""
    if "$ref" in node:
        return TRef(_ref_name(str(node["$ref"])))
    if "const" in node:
        return TLiteral(node["const"])
    if "enum" in node:
        return _union([TLiteral(v) for v in cast(list[Any], node["enum"])])
    for key in ("oneOf", "anyOf"):
        branches = node.get(key)
        if isinstance(branches, list) and "properties" not in node:
            return _union([convert(cast(JSON, b)) for b in cast(list[Any], branches)])
    kind = node.get("type")
    if isinstance(kind, list):
        return _union([_typed(node, str(k)) for k in cast(list[Any], kind)])
    if isinstance(kind, str):
        return _typed(node, kind)
    return TPrim("json")


def _rule_alternatives(obj: TObject, rule: PresenceRule) -> tuple[Alternative, ...] | None:
    """A presence rule as alternatives of re-declared properties; ``None`` if types cannot
    say it (a condition on a value: ``required_when``, ``pattern_when``)."""
    by_name = {p.name: p for p in obj.props}

    def req(name: str) -> Prop:
        base = by_name.get(name)
        return Prop(name, base.type if base else TPrim("json"), True)

    def absent(name: str) -> Prop:
        return Prop(name, TPrim("json"), False, forbidden=True)

    if rule.kind == "exclusive" and len(rule.fields) == 1:
        return (Alternative((absent(rule.fields[0]),)),)
    if rule.kind == "exclusive":
        return tuple(Alternative((absent(f),)) for f in rule.fields)
    if rule.kind == "exactly_one":
        return tuple(
            Alternative(tuple(req(g) if g == f else absent(g) for g in rule.fields))
            for f in rule.fields
        )
    return None


def _with_rules(obj: TObject, rules: list[PresenceRule]) -> tuple[TObject, tuple[str, ...]]:
    alternatives: tuple[Alternative, ...] = ()
    notes: list[str] = []
    for rule in rules:
        alts = _rule_alternatives(obj, rule)
        if alts is None:
            notes.append(rule.message)
            continue
        if len(alts) == 1:  # a property to leave out: fold it into the object itself
            (forbidden,) = alts[0].props
            props = tuple(forbidden if p.name == forbidden.name else p for p in obj.props)
            if forbidden.name not in {p.name for p in obj.props}:
                props = (*props, forbidden)
            obj = TObject(props, obj.extra, obj.keys, obj.alternatives)
            continue
        if alternatives:
            raise ValueError("one presence rule with alternatives per definition")
        alternatives = alts
    return TObject(obj.props, obj.extra, obj.keys, alternatives), tuple(notes)


def _message_rules(schema: Schema, obj: TObject, name: str) -> TObject:
    """§5 envelope rules of one message: fields it must not carry, fields it needs on the
    envelope or in the payload."""
    spec = next(m for m in schema.messages() if m.class_name == name)
    rules = [PresenceRule("exclusive", (f,)) for f in spec.absent_envelope_fields]
    obj, _ = _with_rules(obj, rules)
    either: list[str] = ["session_id"] if spec.session_id_on_envelope_or_payload else []
    either.extend(spec.on_envelope_or_payload)
    if not either:
        return obj
    if len(either) > 1 or obj.alternatives:
        raise ValueError(f"{name}: one envelope-or-payload field supported")
    f = either[0]
    payload_def = cast(JSON, schema.defs[spec.payload_model].get("properties", {}))
    on_envelope = next(p for p in obj.props if p.name == f)
    in_payload = convert(cast(JSON, payload_def[f])) if f in payload_def else on_envelope.type
    alternatives = (
        Alternative((Prop(f, on_envelope.type, True),)),
        Alternative((Prop("payload", TObject((Prop(f, in_payload, True),), None), True),)),
    )
    return TObject(obj.props, obj.extra, obj.keys, alternatives)


def build(schema: Schema) -> Graph:
    """Every definition of the schema (sender-only rules aside), in schema order."""
    presence = schema.presence_rules()
    message_names = {m.class_name for m in schema.messages()}
    decls: list[Decl] = []
    secrets: list[str] = []
    for name, d in schema.defs.items():
        if name in _SENDER_RULES:
            continue
        node = convert(d)
        notes: tuple[str, ...] = ()
        if isinstance(node, TObject):
            if name in message_names:
                node = _message_rules(schema, node, name)
            else:
                node, notes = _with_rules(node, presence.get(name, []))
            secrets.extend(f"{name}.{p.name}" for p in node.props if p.secret)
        decls.append(
            Decl(
                name,
                node,
                str(d.get("description", "")),
                bool(d.get("deprecated", False)),
                _constraints(d),
                notes,
            )
        )
    return Graph(tuple(decls), tuple(secrets))
