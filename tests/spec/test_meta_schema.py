"""The schema's own keywords, published as a vocabulary with its meta-schema (issue 16, item 2).

``spec/arcp-<version>.meta-schema.json`` is JSON Schema 2020-12 plus the annotation
vocabulary: every ``x-*`` keyword the schema uses (and ``discriminator``) is declared there
with the shape of its value. These checks run under Python ``jsonschema``; ``test_ajv.py``
runs the same meta-schema under ajv in strict mode.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.spec._fixtures import META_SCHEMA_PATH, load_schema

META: dict[str, Any] = json.loads(META_SCHEMA_PATH.read_text(encoding="utf-8"))
VOCABULARY = "urn:arcp:vocab:annotations:"


def _keywords_used(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():  # pyright: ignore[reportUnknownVariableType]
            if isinstance(key, str) and (key.startswith("x-") or key == "discriminator"):
                found.add(key)
            _keywords_used(value, found)
    elif isinstance(node, list):
        for value in node:  # pyright: ignore[reportUnknownVariableType]
            _keywords_used(value, found)
    return found


def test_meta_schema_is_a_2020_12_dialect_with_an_optional_vocabulary() -> None:
    Draft202012Validator.check_schema(META)
    vocabularies: dict[str, bool] = META["$vocabulary"]
    (ours,) = [v for v in vocabularies if v.startswith(VOCABULARY)]
    # Annotations only: a validator that does not know the vocabulary may ignore it.
    assert vocabularies[ours] is False
    assert all(vocabularies[v] for v in vocabularies if v != ours)
    assert META["$dynamicAnchor"] == "meta"
    assert META["allOf"] == [{"$ref": "https://json-schema.org/draft/2020-12/schema"}]


def test_every_keyword_the_schema_uses_is_declared() -> None:
    """A keyword used in the schema and missing from the vocabulary would make ajv's strict
    mode refuse the schema; one declared and never used is dead weight."""
    assert _keywords_used(load_schema(), set()) == set(META["properties"])


def test_the_schema_conforms_to_its_meta_schema() -> None:
    errors = list(Draft202012Validator(META).iter_errors(load_schema()))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize(
    ("path", "keyword", "value"),
    [
        (("$defs", "SessionPingMessage"), "x-direction", "sideways"),
        (("$defs", "Auth", "properties", "token"), "x-secret", "yes"),
        (("$defs", "KnownEvent"), "discriminator", {"propertyName": "kind", "mapping": {}}),
        ((), "x-protocol-version", "1"),
    ],
)
def test_an_annotation_of_the_wrong_shape_is_refused(
    path: tuple[str, ...], keyword: str, value: Any
) -> None:
    """The meta-schema reaches every depth (``$dynamicAnchor``), and ``discriminator`` keeps
    the form ajv's ``discriminator`` option accepts (no ``mapping``)."""
    schema = copy.deepcopy(load_schema())
    node = schema
    for key in path:
        node = node[key]
    node[keyword] = value
    errors = list(Draft202012Validator(META).iter_errors(schema))
    assert errors
    assert all(list(e.absolute_path) == [*path, keyword] for e in errors), [
        e.message for e in errors
    ]
