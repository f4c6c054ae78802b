"""Reading the ARCP schema and deriving what the generators need from it.

The schema file is the source of truth and is never modified. What datamodel-codegen gets is
a derived copy (see :func:`model_input`): primitive definitions are inlined so fields stay
plain ``str``/``int`` instead of ``RootModel`` wrappers, the envelope unions are left to our own
templates, and presence rules (which type hints cannot express) are lifted out and handed to
our model template as data.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

__all__ = [
    "EnvelopeField",
    "ErrorCodeSpec",
    "EventKindSpec",
    "FeatureSpec",
    "MessageSpec",
    "PresenceRule",
    "Schema",
]

JSON = dict[str, Any]

# Definitions rendered by our templates instead of datamodel-codegen: the unions, and the
# two enums whose Python form is a StrEnum (errors.ErrorCode, features.Feature).
_TEMPLATE_OWNED = {"Message", "KnownEvent", "JobEventPayload", "ErrorCode", "FeatureFlag"}

# Receivers read an error ``code`` as any non-empty string: one this build does not know (a
# later 1.x minor's) becomes a generic typed error (wire-decisions: Forward compatibility).
# The schema itself keeps the enum, which is what a conformant sender produces.
_RECEIVED_AS_STRING = {
    "ErrorCode": {"type": "string", "minLength": 1},
    "FeatureFlag": {"type": "string"},
}
_REF = "#/$defs/"


@dataclass(frozen=True)
class ErrorCodeSpec:
    code: str
    retryable: bool
    section: str
    meaning: str
    final_status: str


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    section: str


@dataclass(frozen=True)
class MessageSpec:
    type: str
    class_name: str
    payload_model: str
    required_envelope_fields: tuple[str, ...]
    description: str
    deprecated: bool
    session_id_on_envelope_or_payload: bool
    direction: str
    answers: tuple[str, ...]
    feature: str | None


@dataclass(frozen=True)
class EventKindSpec:
    kind: str
    event_model: str
    body_model: str
    feature: str | None


@dataclass(frozen=True)
class EnvelopeField:
    name: str
    hint: str  # the annotation when present (required); empty for type and payload
    required: bool
    description: str

    @property
    def optional_hint(self) -> str:
        """The annotation of the property when a message may omit it."""
        if self.hint.startswith("Annotated["):
            base, _, rest = self.hint.removeprefix("Annotated[").partition(", ")
            return f"Annotated[{base} | None, {rest} = None"
        return f"{self.hint} | None = None"


@dataclass(frozen=True)
class PresenceRule:
    kind: str  # "exclusive" (never all present) or "exactly_one"
    fields: tuple[str, ...]

    @property
    def message(self) -> str:
        names = " and ".join(f"`{f}`" for f in self.fields)
        if self.kind == "exclusive":
            return f"{names} must not both be present"
        return f"exactly one of {names.replace(' and ', ', ')} must be present"

    def template_data(self) -> JSON:
        literal = "{" + ", ".join(json.dumps(f) for f in self.fields) + "}"
        return {"kind": self.kind, "fields_literal": literal, "message": self.message}


class Schema:
    """The parsed schema plus the facts the generators read from it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw_bytes = path.read_bytes()
        self.doc: JSON = json.loads(self.raw_bytes)
        self.defs: dict[str, JSON] = self.doc["$defs"]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw_bytes).hexdigest()

    @property
    def protocol_version(self) -> str:
        return str(self.doc["x-protocol-version"])

    def error_codes(self) -> list[ErrorCodeSpec]:
        table: dict[str, JSON] = self.defs["ErrorCode"]["x-error-codes"]
        return [
            ErrorCodeSpec(
                code,
                bool(v["retryable"]),
                str(v["section"]),
                str(v["meaning"]),
                str(v["final_status"]),
            )
            for code, v in table.items()
        ]

    def never_retryable(self) -> list[str]:
        return list(self.defs["ErrorCode"]["x-never-retryable"])

    def features(self) -> list[FeatureSpec]:
        sections: dict[str, str] = self.defs["FeatureFlag"]["x-feature-sections"]
        return [FeatureSpec(name, sections[name]) for name in self.defs["FeatureFlag"]["enum"]]

    def messages(self) -> list[MessageSpec]:
        base_required = set(self.defs["Envelope"]["required"])
        out: list[MessageSpec] = []
        for ref in self.defs["Message"]["discriminator"]["mapping"].values():
            name = _ref_name(ref)
            d = self.defs[name]
            props = d["properties"]
            extra_required = tuple(f for f in d["required"] if f not in base_required)
            out.append(
                MessageSpec(
                    type=props["type"]["const"],
                    class_name=name,
                    payload_model=_ref_name(props["payload"]["$ref"]),
                    required_envelope_fields=extra_required,
                    description=str(d["description"]),
                    deprecated=bool(d.get("deprecated", False)),
                    session_id_on_envelope_or_payload=_session_id_anywhere(d),
                    direction=_direction(d),
                    answers=tuple(d.get("x-answers", ())),
                    feature=d.get("x-feature"),
                )
            )
        return out

    def event_kinds(self) -> list[EventKindSpec]:
        """Each spec event kind with its models and gating feature, in schema order."""
        out: list[EventKindSpec] = []
        for kind, ref in self.defs["KnownEvent"]["discriminator"]["mapping"].items():
            event = _ref_name(ref)
            d = self.defs[event]
            body = _ref_name(d["properties"]["body"]["$ref"])
            out.append(EventKindSpec(kind, event, body, d.get("x-feature")))
        return out

    def vendor_kind_pattern(self) -> str:
        return str(self.defs["VendorEvent"]["properties"]["kind"]["pattern"])

    def envelope_fields(self) -> list[EnvelopeField]:
        """The envelope properties in schema order (``type`` and ``payload`` included; the
        message template types those per message)."""
        env = self.defs["Envelope"]
        required = set(env["required"])
        out: list[EnvelopeField] = []
        for name, prop in env["properties"].items():
            ref = prop.get("$ref")
            if name in ("type", "payload"):
                hint = ""
            elif isinstance(ref, str):
                hint = _ref_name(ref)
            else:
                hint = self.envelope_field_annotation(name)
            out.append(
                EnvelopeField(name, hint, name in required, str(prop.get("description", "")))
            )
        return out

    def envelope_field_annotation(self, field: str) -> str:
        """A required-field annotation for an envelope property (strings and integers only)."""
        prop = self.defs["Envelope"]["properties"][field]
        if prop.get("type") == "string":
            return f"Annotated[str, Field(min_length={prop.get('minLength', 0)})]"
        if prop.get("type") == "integer":
            return f"Annotated[int, Field(ge={prop.get('minimum', 0)})]"
        raise ValueError(f"cannot render envelope field {field!r}")

    # -- datamodel-codegen input ------------------------------------------------------------

    def presence_rules(self) -> dict[str, list[PresenceRule]]:
        rules: dict[str, list[PresenceRule]] = {}
        for name, d in self.defs.items():
            found = list(_presence_rules(d))
            if found:
                rules[name] = found
        return rules

    def secret_fields(self) -> dict[str, list[str]]:
        """Model name -> properties marked ``x-secret`` (hidden from ``repr``)."""
        out: dict[str, list[str]] = {}
        for name, d in self.defs.items():
            props: JSON = d.get("properties", {})
            secrets = [k for k, v in props.items() if cast(JSON, v).get("x-secret")]
            if secrets:
                out[name] = secrets
        return out

    def model_input(self) -> JSON:
        """The derived schema handed to datamodel-codegen."""
        defs = {k: copy.deepcopy(v) for k, v in self.defs.items() if not _is_owned(k)}
        for d in defs.values():
            _strip_presence_rules(d)
        defs = {k: _split_numbers(_inline_received(v)) for k, v in defs.items()}
        return {"$schema": self.doc["$schema"], "$ref": "#/$defs/Envelope", "$defs": defs}


def _ref_name(ref: str) -> str:
    if not ref.startswith(_REF):
        raise ValueError(f"unsupported $ref {ref!r}")
    return ref[len(_REF) :]


def _session_id_anywhere(d: JSON) -> bool:
    """True for ``anyOf: [{required: [session_id]}, {payload requires session_id}]``."""
    branches = cast(list[JSON], d.get("anyOf", []))
    if len(branches) != 2:
        return False
    on_envelope = branches[0].get("required") == ["session_id"]
    payload_rule = cast(JSON, branches[1].get("properties", {})).get("payload", {})
    return on_envelope and cast(JSON, payload_rule).get("required") == ["session_id"]


_DIRECTIONS = ("client-to-runtime", "runtime-to-client", "both")


def _direction(d: JSON) -> str:
    direction = d.get("x-direction")
    if direction not in _DIRECTIONS:
        raise ValueError(f"{d.get('title')}: x-direction must be one of {_DIRECTIONS}")
    return str(direction)


def _is_owned(name: str) -> bool:
    return name in _TEMPLATE_OWNED or name.endswith("Message")


def _inline_received(node: Any) -> Any:
    """Replace ``$ref``s to the enums in :data:`_RECEIVED_AS_STRING` by their receive form."""
    if isinstance(node, dict):
        node = cast(JSON, node)
        ref = node.get("$ref")
        if isinstance(ref, str) and _ref_name(ref) in _RECEIVED_AS_STRING:
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**_RECEIVED_AS_STRING[_ref_name(ref)], **rest}
        return {k: _inline_received(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_received(v) for v in cast(list[Any], node)]
    return node


def _split_numbers(node: Any) -> Any:
    """JSON ``number`` -> ``integer | number`` so ``5`` stays ``5`` and not ``5.0`` on re-encode."""
    if isinstance(node, dict):
        node = {k: _split_numbers(v) for k, v in cast(JSON, node).items()}
        if node.get("type") == "number":
            outer = {k: v for k, v in node.items() if k != "type"}
            return {**outer, "anyOf": [{"type": "integer"}, {"type": "number"}]}
        return node
    if isinstance(node, list):
        return [_split_numbers(v) for v in cast(list[Any], node)]
    return node


def _presence_rules(d: JSON) -> Iterator[PresenceRule]:
    neg = d.get("not")
    if isinstance(neg, dict) and set(cast(JSON, neg)) == {"required"}:
        yield PresenceRule("exclusive", tuple(cast(JSON, neg)["required"]))
    one_of = d.get("oneOf")
    if isinstance(one_of, list) and "properties" in d:
        fields: list[str] = []
        for branch in cast(list[JSON], one_of):
            req = branch.get("required", [])
            if len(req) != 1:
                raise ValueError("presence oneOf branches must each require one field")
            fields.append(req[0])
        yield PresenceRule("exactly_one", tuple(fields))


def _strip_presence_rules(d: JSON) -> None:
    if isinstance(d.get("not"), dict) and set(d["not"]) == {"required"}:
        del d["not"]
    if isinstance(d.get("oneOf"), list) and "properties" in d:
        del d["oneOf"]


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def python_identifier(name: str) -> str:
    """``cost.budget`` -> ``COST_BUDGET``; used for enum member names."""
    ident = re.sub(r"[^A-Za-z0-9]+", "_", name).upper()
    if not _IDENT.match(ident):
        raise ValueError(f"cannot make an identifier of {name!r}")
    return ident
