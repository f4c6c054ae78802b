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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from codegen.presence import PresenceRule, absent_when, rules_of, strip_presence_rules

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
# Definitions that only state what a sender may not send (the root's `not`); no model.
_SENDER_RULES = {"ReceiveOnly", "LegacyErrorPayload"}
_REF = "#/$defs/"
_CONTRACT_ID = re.compile(
    r"^urn:arcp:schema:(?P<version>[0-9]+\.[0-9]+):r(?P<revision>[1-9][0-9]*)$"
)


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
    on_envelope_or_payload: tuple[str, ...]
    """Fields the message needs on its envelope or in its payload (§7.4 `job_id` on cancel)."""
    absent_envelope_fields: tuple[str, ...]
    """Envelope fields the message must not carry (§6.4 `event_seq` on a heartbeat)."""
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

    @property
    def revision(self) -> int:
        """The contract revision the ``$id`` names: ``urn:arcp:schema:<version>:r<n>``."""
        found = _CONTRACT_ID.match(str(self.doc.get("$id", "")))
        if found is None or found["version"] != self.protocol_version:
            raise ValueError(
                f"$id must be urn:arcp:schema:{self.protocol_version}:r<revision>,"
                f" not {self.doc.get('$id')!r}"
            )
        return int(found["revision"])

    def contract_id(self, part: str) -> str:
        """The ``$id`` of one part of the contract (``schema``, ``metamodel``, ...)."""
        return f"urn:arcp:{part}:{self.protocol_version}:r{self.revision}"

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
        for name in _branches(self.defs["Message"]):
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
                    session_id_on_envelope_or_payload="session_id" in _anywhere(d),
                    on_envelope_or_payload=tuple(f for f in _anywhere(d) if f != "session_id"),
                    absent_envelope_fields=_absent(d),
                    direction=_direction(d),
                    answers=tuple(d.get("x-answers", ())),
                    feature=d.get("x-feature"),
                )
            )
        return out

    def event_kinds(self) -> list[EventKindSpec]:
        """Each spec event kind with its models and gating feature, in schema order."""
        out: list[EventKindSpec] = []
        for event in _branches(self.defs["KnownEvent"]):
            d = self.defs[event]
            kind = str(d["properties"]["kind"]["const"])
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
            if _is_owned(name):
                continue  # message-level rules are rendered by messages.py.j2
            found = list(rules_of(d))
            if found:
                rules[name] = found
        return rules

    def secret_fields(self) -> dict[str, list[str]]:
        """Model name -> properties marked ``x-secret`` (hidden from ``repr``)."""
        out: dict[str, list[str]] = {}
        for name, d in self.defs.items():
            props: JSON = d.get("properties", {})
            secrets = [
                k for k, v in props.items() if isinstance(v, dict) and cast(JSON, v).get("x-secret")
            ]
            if secrets:
                out[name] = secrets
        return out

    def model_input(self) -> JSON:
        """The derived schema handed to datamodel-codegen."""
        defs = {k: copy.deepcopy(v) for k, v in self.defs.items() if not _is_owned(k)}
        for d in defs.values():
            strip_presence_rules(d)
        defs = {k: _split_numbers(_drop_formats(_inline_received(v))) for k, v in defs.items()}
        return {"$schema": self.doc["$schema"], "$ref": "#/$defs/Envelope", "$defs": defs}


def _ref_name(ref: str) -> str:
    if not ref.startswith(_REF):
        raise ValueError(f"unsupported $ref {ref!r}")
    return ref[len(_REF) :]


def _branches(union: JSON) -> list[str]:
    """The definitions a discriminated ``oneOf`` union lists, in schema order. The value of
    each branch is the ``const`` of the union's ``discriminator.propertyName`` in the branch
    (no ``mapping``: ajv's ``discriminator`` derives it from those consts)."""
    return [_ref_name(b["$ref"]) for b in cast(list[JSON], union["oneOf"])]


def _anywhere(d: JSON) -> tuple[str, ...]:
    """``(f,)`` for ``if: {properties: {f: false}}, then: {properties: {payload: {required:
    [f]}}}``: ``f`` on the envelope, or else in the payload."""
    field = absent_when(d.get("if"))
    then = d.get("then")
    if field is None or not isinstance(then, dict):
        return ()
    payload = cast(JSON, cast(JSON, then).get("properties", {})).get("payload", {})
    return (field,) if cast(JSON, payload).get("required") == [field] else ()


def _absent(d: JSON) -> tuple[str, ...]:
    """Envelope fields a message forbids: ``properties: {f: false}``."""
    return tuple(k for k, v in cast(JSON, d.get("properties", {})).items() if v is False)


_DIRECTIONS = ("client-to-runtime", "runtime-to-client", "both")


def _direction(d: JSON) -> str:
    direction = d.get("x-direction")
    if direction not in _DIRECTIONS:
        raise ValueError(f"{d.get('title')}: x-direction must be one of {_DIRECTIONS}")
    return str(direction)


def _is_owned(name: str) -> bool:
    return name in _TEMPLATE_OWNED or name in _SENDER_RULES or name.endswith("Message")


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


def _drop_formats(node: Any) -> Any:
    """Drop ``format: date-time``: timestamps stay ``str`` (re-encoded byte for byte) and the
    pattern beside the format already refuses impossible dates for the models."""
    if isinstance(node, dict):
        items = cast(JSON, node).items()
        return {k: _drop_formats(v) for k, v in items if (k, v) != ("format", "date-time")}
    if isinstance(node, list):
        return [_drop_formats(v) for v in cast(list[Any], node)]
    return node


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def python_identifier(name: str) -> str:
    """``cost.budget`` -> ``COST_BUDGET``; used for enum member names."""
    ident = re.sub(r"[^A-Za-z0-9]+", "_", name).upper()
    if not _IDENT.match(ident):
        raise ValueError(f"cannot make an identifier of {name!r}")
    return ident
