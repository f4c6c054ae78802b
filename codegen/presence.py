"""Presence rules: JSON Schema constraints on which fields are present, which type hints
cannot carry, read from the schema and rendered as model validators.

The schema writes them in forms generators and strict validators read (spec/README.md):
``dependentSchemas: {a: {properties: {b: false}}}`` (never both), ``if: {properties: {a:
false}}, then: {required: [b]}, else: {properties: {b: false}}`` (exactly one), and ``if`` a
property equals a ``const`` ``then`` a field is required or matches a pattern.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

__all__ = ["PresenceRule", "absent_when", "conditional_rule", "rules_of", "strip_presence_rules"]

JSON = dict[str, Any]


@dataclass(frozen=True)
class PresenceRule:
    """A JSON Schema constraint type hints cannot carry, rendered as a model validator.

    ``exclusive``: never all of ``fields``; ``exactly_one``: one of ``fields``;
    ``required_when`` / ``pattern_when``: when property ``when[0]`` equals ``when[1]``
    (``if``/``then``), ``fields[0]`` is required / matches ``pattern``.
    """

    kind: str
    fields: tuple[str, ...]
    when: tuple[str, str] | None = None
    pattern: str | None = None

    @property
    def message(self) -> str:
        names = " and ".join(f"`{f}`" for f in self.fields)
        if self.kind == "exclusive":
            return f"{names} must not both be present"
        if self.kind == "exactly_one":
            return f"exactly one of {names.replace(' and ', ', ')} must be present"
        assert self.when is not None
        cond = f"when `{self.when[0]}` is {json.dumps(self.when[1])}"
        if self.kind == "required_when":
            return f"{names} is required {cond}"
        return f"{names} does not match the required format {cond}"

    def template_data(self) -> JSON:
        literal = "{" + ", ".join(json.dumps(f) for f in self.fields) + "}"
        data: JSON = {"kind": self.kind, "fields_literal": literal, "message": self.message}
        data["field"] = self.fields[0]
        data["when_field"], data["when_value"] = self.when or ("", "")
        data["pattern"] = self.pattern or ""
        return data


def absent_when(cond: Any) -> str | None:
    """``f`` for ``{properties: {f: false}}``: true exactly when ``f`` is absent."""
    if not isinstance(cond, dict) or set(cast(JSON, cond)) != {"properties"}:
        return None
    props = cast(JSON, cast(JSON, cond)["properties"])
    if len(props) == 1 and next(iter(props.values())) is False:
        return next(iter(props))
    return None


def conditional_rule(d: JSON) -> PresenceRule | None:
    """``if: {properties: {f: {const: v}}, required: [f]}`` with ``then`` requiring one field
    or constraining one field's ``pattern``."""
    cond, then = d.get("if"), d.get("then")
    if not (isinstance(cond, dict) and isinstance(then, dict)) or absent_when(cond):
        return None
    props = cast(JSON, cast(JSON, cond).get("properties", {}))
    if len(props) != 1 or cast(JSON, cond).get("required") != list(props):
        raise ValueError("an `if` must test one required property against a const")
    ((field, test),) = props.items()
    when = (field, str(cast(JSON, test)["const"]))
    then = cast(JSON, then)
    required = cast(list[str], then.get("required", []))
    declared = set(cast(JSON, then.get("properties", {})))
    # `properties` beside `required` only declares the required field (ajv's strictRequired).
    if set(then) <= {"required", "properties"} and len(required) == 1 and declared <= {*required}:
        return PresenceRule("required_when", (required[0],), when)
    then_props = cast(JSON, then.get("properties", {}))
    if set(then) == {"properties"} and len(then_props) == 1:
        ((target, rule),) = then_props.items()
        pattern = str(cast(JSON, rule).get("pattern", ""))
        shape = set(cast(JSON, rule)) - {"type"}
        if shape == {"pattern"} and pattern[:1] == "^" and pattern[-1:] == "$":
            # Anchored, so `re.fullmatch` on the inner part means what JSON Schema means
            # (and, unlike `re.search` with `$`, refuses a trailing newline).
            return PresenceRule("pattern_when", (target,), when, pattern[1:-1])
    raise ValueError("a `then` must require one field or give one field a pattern")


def _exclusive(d: JSON) -> tuple[str, ...] | None:
    """``(a, b)`` for ``dependentSchemas: {a: {properties: {b: false}}}``: never both."""
    deps = d.get("dependentSchemas")
    if not isinstance(deps, dict) or len(cast(JSON, deps)) != 1:
        return None
    ((first, rule),) = cast(JSON, deps).items()
    second = absent_when(rule)
    if second is None:
        raise ValueError("a dependentSchemas rule must forbid one other field")
    return (first, second)


def _exactly_one(d: JSON) -> tuple[str, ...] | None:
    """``(a, b)`` for ``if: {properties: {a: false}}, then: {required: [b]}, else:
    {properties: {b: false}}``: one of ``a`` and ``b``, never both."""
    first = absent_when(d.get("if"))
    if first is None:
        return None
    then = cast(JSON, d.get("then", {}))
    second = absent_when(d.get("else"))
    if second is None or then.get("required") != [second]:
        raise ValueError("an absent-field `if` must require one field and forbid it in `else`")
    return (first, second)


def rules_of(d: JSON) -> Iterator[PresenceRule]:
    exclusive = _exclusive(d)
    if exclusive is not None:
        yield PresenceRule("exclusive", exclusive)
    exactly_one = _exactly_one(d)
    if exactly_one is not None:
        yield PresenceRule("exactly_one", exactly_one)
    conditional = conditional_rule(d)
    if conditional is not None:
        yield conditional


def strip_presence_rules(d: JSON) -> None:
    for keyword in ("dependentSchemas", "if", "then", "else"):
        d.pop(keyword, None)
